// A plugin as if built against other duractor headers: its fingerprint differs from the
// host's. The host must refuse it before it registers anything.

#include <stdexcept>

#include "duractor/runtime/plugin.h"

extern "C" std::uint64_t duractor_plugin_fingerprint() {
  constexpr std::uint64_t value = duractor::detail::plugin_fingerprint() + 1;
  return value;
}

extern "C" void duractor_plugin_register(duractor::Registry&) {
  throw std::logic_error("a plugin with another fingerprint was asked to register");
}
