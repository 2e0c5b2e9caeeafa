#pragma once
// Helpers for tests that run the whole runtime: a host on a fresh store directory, and
// waiting for a condition with a deadline.

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "tests/support/temp_dir.h"

namespace duractor::testing {

// Options for a test host on `path`: no fsync (the crash tests use their own), short
// timeouts.
inline HostOptions test_host_options(const std::string& path, const Clock* clock = nullptr) {
  HostOptions o;
  o.lmdb.path = path;
  o.lmdb.sync = false;
  o.scheduler_threads = 2;
  o.activity_workers = 4;
  o.clock = clock;
  o.turn_retry_backoff = std::chrono::milliseconds(10);
  return o;
}

inline std::unique_ptr<Host> start_host(const Registry& registry, HostOptions options) {
  auto host = Host::start(registry, std::move(options));
  REQUIRE_MESSAGE(host, (host ? "" : host.error().to_string()));
  return std::move(*host);
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace duractor::testing
