#pragma once
// What the host and both plugin versions agree on: the orchestration's name, input and
// output, and the event it waits for. Each version is its own handle (same name, another
// version number); the host names none of them.

#include <string>

#include "duractor/runtime/handles.h"

namespace greeting {

inline const duractor::Orchestration<std::string, std::string> V1{"Greeting", 1};
inline const duractor::Orchestration<std::string, std::string> V2{"Greeting", 2};

// The event that lets an instance go on; its payload is who sent it.
inline constexpr const char* kGo = "go";

}  // namespace greeting
