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

#include "runtime/payload.h"

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
};

// The value a payload of type T carries: T itself, or Unit for void.
template <class T>
using ValueOf = std::conditional_t<std::is_void_v<T>, Unit, T>;

}  // namespace duractor
