#pragma once
// Knobs for the crash suites, so that scripts/torture can run them long: how many kills, the
// random seed (printed, so a failing run can be repeated exactly), and a report file that
// each suite appends one line of figures to. Without the variables a suite runs its short
// CI length with a fresh seed.
//
//   DURACTOR_TORTURE_KILLS_<SUITE>  kills for that suite (STORE, RUNTIME, BROKER)
//   DURACTOR_TORTURE_SEED           the seed for every suite
//   DURACTOR_TORTURE_REPORT         a file to append "suite=... kills=... ..." lines to

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

namespace duractor::testing {

// The kill count for `suite`, or `ci_default`.
inline int torture_kills(const std::string& suite, int ci_default) {
  const char* v = std::getenv(("DURACTOR_TORTURE_KILLS_" + suite).c_str());
  return v != nullptr ? std::atoi(v) : ci_default;
}

// The seed for this run: DURACTOR_TORTURE_SEED, or a fresh one.
inline std::uint32_t torture_seed() {
  const char* v = std::getenv("DURACTOR_TORTURE_SEED");
  if (v != nullptr) return static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
  return std::random_device{}();
}

// The figures of one suite's run; appended to the report file, if one is named.
struct TortureFigures {
  std::string suite;
  std::uint32_t seed = 0;
  std::uint64_t kills = 0;
  std::uint64_t fault_step_kills = 0;  // of which at a named fault-injection step
  std::uint64_t instances = 0;
  std::uint64_t acknowledged = 0;  // acknowledged writes checked
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;  // completions (or deliveries) seen twice
  std::uint64_t reruns = 0;      // activities that ran more than once

  std::string line() const {
    return "suite=" + suite + " seed=" + std::to_string(seed) + " kills=" + std::to_string(kills) +
           " fault_step_kills=" + std::to_string(fault_step_kills) +
           " instances=" + std::to_string(instances) +
           " acknowledged=" + std::to_string(acknowledged) + " lost=" + std::to_string(lost) +
           " duplicated=" + std::to_string(duplicated) + " reruns=" + std::to_string(reruns);
  }
  void report() const {
    const char* path = std::getenv("DURACTOR_TORTURE_REPORT");
    if (path == nullptr) return;
    std::ofstream(path, std::ios::app) << line() << "\n";
  }
};

}  // namespace duractor::testing
