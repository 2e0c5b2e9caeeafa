#pragma once
// Typed handles: one constant per activity and orchestration ties registration, call sites
// and client calls together at compile time.
//
//   const duractor::Activity<std::string, std::string> Greet{"Greet"};
//   const duractor::Orchestration<std::string, std::string> Hello{"Hello", 1};
//
// In and Out are the payload types: anything msgpack can pack and convert. Out may be
// void for operations that return nothing.

#include <cstdint>
#include <string_view>
#include <type_traits>

#include "duractor/runtime/ids.h"
#include "duractor/runtime/payload.h"
#include "duractor/runtime/time.h"

namespace duractor {

template <class In, class Out>
struct Activity {
  using Input = In;
  using Output = Out;
  std::string_view name;
};

template <class In, class Out>
struct Orchestration {
  using Input = In;
  using Output = Out;
  std::string_view name;
  std::uint32_t version = 1;

  // Typed client helpers (actors/client.h): Hello.start(client, id, input), Hello.wait(...).
  template <class Client>
  Result<InstanceId> start(Client& client, InstanceId id,
                           const std::type_identity_t<In>& input) const {
    return client.start(*this, std::move(id), input);
  }
  // Waits for the instance to finish and gives its output (see Client::wait_output).
  template <class Client>
  Result<std::conditional_t<std::is_void_v<Out>, Unit, Out>> wait(Client& client,
                                                                  const InstanceId& id,
                                                                  Milliseconds timeout) const {
    return client.template wait_output<Out>(id, timeout);
  }
  // Starts and waits.
  template <class Client>
  Result<std::conditional_t<std::is_void_v<Out>, Unit, Out>> run(
      Client& client, InstanceId id, const std::type_identity_t<In>& input,
      Milliseconds timeout) const {
    auto started = start(client, std::move(id), input);
    if (!started) return std::unexpected(started.error());
    return wait(client, *started, timeout);
  }
  template <class Client>
  auto status(Client& client, const InstanceId& id) const {
    return client.status(id);
  }
  template <class Client>
  Status cancel(Client& client, const InstanceId& id,
                std::string reason = "cancelled by a client") const {
    return client.cancel(id, std::move(reason));
  }
};

// The value a payload of type T carries: T itself, or Unit for void.
template <class T>
using ValueOf = std::conditional_t<std::is_void_v<T>, Unit, T>;

}  // namespace duractor
