#pragma once
// What every sample needs besides duractor itself: stop with a message on an error, and
// host options for a sample (a store directory, quiet logging).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "duractor/duractor.h"

namespace samples {

// The value of `result`, or: print "<what>: <error>" and exit with status 1.
template <class T>
T or_exit(duractor::Result<T> result, std::string_view what) {
  if (!result) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()), what.data(),
                 result.error().to_string().c_str());
    std::exit(1);
  }
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// A host on `store` that logs warnings and errors only (the samples print what matters).
inline duractor::HostOptions options(std::string store) {
  duractor::HostOptions o;
  o.lmdb.path = std::move(store);
  auto logger = spdlog::get("duractor");
  if (!logger) logger = spdlog::stderr_color_mt("duractor");
  logger->set_level(spdlog::level::warn);
  o.logger = logger;
  return o;
}

}  // namespace samples
