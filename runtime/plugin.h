#pragma once
// Plugin: a shared library that registers orchestrations and activities, loaded into a
// Registry before the host starts (dlopen). A deploy then adds a version of a workflow by
// adding a file: instances started on v1 keep running on v1's code from v1's library,
// while new ones start on v2 from the library that a restart added.
//
//   // the library, built as a MODULE against the same duractor headers:
//   #include "duractor/runtime/plugin.h"
//   DURACTOR_PLUGIN(registry) {
//     registry.add(GreetingV2, greeting_v2);
//   }
//
//   // the host program, before Host::start:
//   std::vector<duractor::Plugin> plugins;
//   for (const auto& path : paths) {
//     auto plugin = duractor::Plugin::load(path, registry);
//     if (!plugin) return fail_with(plugin.error());
//     plugins.push_back(std::move(*plugin));
//   }
//
// A plugin does not link duractor's libraries; it calls the copy in the host program,
// which must export its symbols (CMake: ENABLE_EXPORTS) and keep all of duractor_runtime
// (a WHOLE_ARCHIVE link) so that every function a plugin may call is there. The
// samples/plugins build shows both; docs/orchestration-guide.md ("Versions as plug-ins")
// explains why.

#include <cstdint>
#include <string>
#include <typeinfo>

#include "duractor/runtime/activity_context.h"
#include "duractor/runtime/context.h"
#include "duractor/runtime/error.h"
#include "duractor/runtime/history.h"
#include "duractor/runtime/registry.h"

namespace duractor {

// Raised whenever a change to the headers that plugins compile against (the registry, the
// contexts, tasks, payloads) changes what crosses the boundary. 2: Bytes is a class of its
// own, no longer std::string (same size, other symbols).
inline constexpr std::uint32_t kPluginAbi = 2;

namespace detail {

// What the host and a plugin compile from the same headers: the ABI number and the sizes
// of the types that cross the boundary. Both sides compute it; a plugin built against other
// headers, or by a compiler with another layout, differs, and is refused. Constant, so that
// each side's value is folded into its own code (a call could bind to the host's copy).
constexpr std::uint64_t plugin_fingerprint() {
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint64_t part :
       {std::uint64_t{kPluginAbi}, std::uint64_t{sizeof(Registry)},
        std::uint64_t{sizeof(OrchestrationContext)}, std::uint64_t{sizeof(ActivityContext)},
        std::uint64_t{sizeof(Task<Bytes>)}, std::uint64_t{sizeof(Bytes)},
        std::uint64_t{sizeof(Error)}, std::uint64_t{sizeof(FailureDetails)},
        std::uint64_t{__cplusplus}}) {
    h = (h ^ part) * 1099511628211ull;
  }
  return h;
}

}  // namespace detail

class Plugin {
 public:
  // Loads the library at `path` and lets it register into `registry`. Errors, naming the
  // path: kNotFound (no such file), kInvalidArgument (not a loadable library, or one
  // without DURACTOR_PLUGIN, or its registration threw: a duplicate or invalid name),
  // kUnsupported (built against other duractor headers). After an error the registry may
  // hold part of the plugin's registrations: do not start a host on it.
  static Result<Plugin> load(const std::string& path, Registry& registry);

  Plugin(Plugin&& other) noexcept;
  Plugin& operator=(Plugin&& other) noexcept;
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;
  // Releases the handle. The library's code stays loaded until the process exits (the
  // registry and whatever its functions created refer to it), so the order in which a
  // program destroys its plugins, registry and host does not matter.
  ~Plugin();

  const std::string& path() const { return path_; }

 private:
  Plugin(std::string path, void* handle) : path_(std::move(path)), handle_(handle) {}
  std::string path_;
  void* handle_ = nullptr;
};

}  // namespace duractor

// Defines the plugin's entry points: `DURACTOR_PLUGIN(registry) { registry.add(...); }`.
#define DURACTOR_PLUGIN(registry)                                             \
  extern "C" std::uint64_t duractor_plugin_fingerprint() {                    \
    constexpr std::uint64_t value = ::duractor::detail::plugin_fingerprint(); \
    return value;                                                             \
  }                                                                           \
  static void duractor_plugin_register_impl(::duractor::Registry& registry);  \
  extern "C" void duractor_plugin_register(::duractor::Registry& registry) {  \
    duractor_plugin_register_impl(registry);                                  \
  }                                                                           \
  static void duractor_plugin_register_impl(::duractor::Registry& registry)
