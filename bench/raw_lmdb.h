#pragma once
// Baseline: raw LMDB, one write transaction and one sync per commit, no duractor code.

#include <string>

namespace duractor::bench {

// Commits per second of `puts` records of `value_bytes` each, one synced transaction per
// commit, for about `seconds`, in a fresh environment under `dir`.
double raw_lmdb_commits_per_second(const std::string& dir, int puts, int value_bytes,
                                   double seconds);

}  // namespace duractor::bench
