#pragma once
// Registry: the activities and orchestrations a runtime can run, by name, with several
// versions of an orchestration side by side (new instances get the latest; running ones
// keep the version they started with).
//
//   duractor::Registry registry;
//   registry.add(Greet, [](duractor::ActivityContext&, std::string name) {
//     return "Hello, " + name;
//   });
//   registry.add(Hello, hello);                 // Task<Out>(OrchestrationContext&, In)
//   registry.add(HelloV2, hello_v2);            // same name, version 2
//
// Registration happens at start-up; a duplicate or invalid registration throws
// std::invalid_argument naming it. After start-up the registry is only read, from any
// thread.

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "duractor/runtime/activity_context.h"
#include "duractor/runtime/context.h"
#include "duractor/runtime/exceptions.h"
#include "duractor/runtime/handles.h"
#include "duractor/runtime/task.h"

namespace duractor {

// An activity as the runtime calls it: encoded input in, encoded output out; failures are
// exceptions.
using ActivityFunction = std::function<Bytes(ActivityContext&, const Bytes& input)>;
// An orchestration as the engine starts it: encoded input in, encoded output out.
using OrchestrationFunction = std::function<Task<Bytes>(OrchestrationContext&, Bytes input)>;

namespace detail {

template <class Out, class In, class F>
Task<Bytes> run_orchestration(F function, std::string name, OrchestrationContext& ctx,
                              Bytes input) {
  auto decoded = decode<In>(input);
  if (!decoded) {
    throw ConfigurationError(ErrorCode::kPayloadMismatch, "the input of orchestration '" + name +
                                                              "': " + decoded.error().message);
  }
  if constexpr (std::is_void_v<Out>) {
    co_await function(ctx, std::move(*decoded));
    co_return encode(Unit{});
  } else {
    Out output = co_await function(ctx, std::move(*decoded));
    co_return encode(output);
  }
}

}  // namespace detail

class Registry {
 public:
  struct OrchestrationEntry {
    std::string name;
    std::uint32_t version = 0;
    OrchestrationFunction function;
  };

  // Registers an activity: `function(ActivityContext&, In) -> Out`.
  template <class In, class Out, class F>
  Registry& add(const Activity<In, Out>& activity, F function) {
    std::string name(activity.name);
    return add_activity(
        name,
        [function = std::move(function), name](ActivityContext& ctx, const Bytes& input) -> Bytes {
          auto decoded = decode<In>(input);
          if (!decoded) {
            throw ConfigurationError(
                ErrorCode::kPayloadMismatch,
                "the input of activity '" + name + "': " + decoded.error().message);
          }
          if constexpr (std::is_void_v<Out>) {
            function(ctx, std::move(*decoded));
            return encode(Unit{});
          } else {
            return encode(static_cast<Out>(function(ctx, std::move(*decoded))));
          }
        });
  }

  // Registers an orchestration version: `function(OrchestrationContext&, In) -> Task<Out>`.
  template <class In, class Out, class F>
  Registry& add(const Orchestration<In, Out>& orchestration, F function) {
    std::string name(orchestration.name);
    return add_orchestration(
        name, orchestration.version,
        [function = std::move(function), name](OrchestrationContext& ctx, Bytes input) {
          return detail::run_orchestration<Out, In>(function, name, ctx, std::move(input));
        });
  }

  // Untyped registration, by name.
  Registry& add_activity(std::string name, ActivityFunction function);
  Registry& add_orchestration(std::string name, std::uint32_t version,
                              OrchestrationFunction function);

  // The activity registered under `name`, or nullptr.
  const ActivityFunction* activity(std::string_view name) const;
  // The orchestration `name` at `version` (0: the latest). Errors: kNotRegistered, naming
  // the name and version and listing what is registered under that name.
  Result<const OrchestrationEntry*> orchestration(std::string_view name,
                                                  std::uint32_t version) const;

  std::vector<std::string> activity_names() const;
  std::vector<std::pair<std::string, std::uint32_t>> orchestration_versions() const;

 private:
  std::map<std::string, ActivityFunction, std::less<>> activities_;
  std::map<std::string, std::map<std::uint32_t, OrchestrationEntry>, std::less<>> orchestrations_;
};

}  // namespace duractor
