#include "duractor/runtime/plugin.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <exception>
#include <utility>

namespace duractor {

namespace {

std::string last_dl_error() {
  const char* e = ::dlerror();
  return e != nullptr ? e : "unknown error";
}

}  // namespace

Result<Plugin> Plugin::load(const std::string& path, Registry& registry) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(ErrorCode::kNotFound, "plugin " + path + ": no such file");
  }
  // RTLD_NOW: a symbol the host does not export fails the load here, named, rather than
  // the first call into it later. RTLD_NODELETE: the code stays until the process exits,
  // since the registry (and coroutine frames, and anything they handed out) refer to it
  // whatever order the program destroys things in.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "plugin " + path + ": cannot be loaded: " + last_dl_error());
  }
  Plugin plugin(path, handle);
  using Fingerprint = std::uint64_t (*)();
  using Register = void (*)(Registry&);
  auto fingerprint = reinterpret_cast<Fingerprint>(::dlsym(handle, "duractor_plugin_fingerprint"));
  auto enter = reinterpret_cast<Register>(::dlsym(handle, "duractor_plugin_register"));
  if (fingerprint == nullptr || enter == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "plugin " + path + ": not a duractor plugin (no DURACTOR_PLUGIN entry points)");
  }
  if (fingerprint() != detail::plugin_fingerprint()) {
    return fail(ErrorCode::kUnsupported,
                "plugin " + path +
                    ": built against other duractor headers than this program (plugin ABI " +
                    std::to_string(kPluginAbi) + " expected); rebuild it");
  }
  try {
    enter(registry);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                "plugin " + path + ": its registration failed: " + e.what());
  }
  return plugin;
}

Plugin::Plugin(Plugin&& other) noexcept
    : path_(std::move(other.path_)), handle_(std::exchange(other.handle_, nullptr)) {}

Plugin& Plugin::operator=(Plugin&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) ::dlclose(handle_);
    path_ = std::move(other.path_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

Plugin::~Plugin() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

}  // namespace duractor
