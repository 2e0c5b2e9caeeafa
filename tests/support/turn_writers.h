#pragma once
// The workload of the store's crash and power-loss tests: writer threads that commit turns
// to their own instance, one after another, until the process dies. Each turn writes
// events, a work item, a timer, an inbox message to a shared "sink" instance and metadata,
// so that a half-applied turn shows. No test framework here: the power-loss test runs it
// in a program of its own (power_loss_writer), the crash test in a forked child.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "duractor/store/lmdb_store.h"

namespace duractor::testing {

constexpr int kTurnWriters = 4;

std::string turn_writer_id(int writer);

// Opens the store the writers use: a small initial map, so that it grows during the test
// (growth must be crash-safe too).
Result<std::unique_ptr<LmdbStore>> open_turn_store(const std::string& path, bool sync = true);

// Turn k of a writer (k >= 1) appends events 2k and 2k+1 to its history.
TurnCommit turn_for(const InstanceLock& lock, int writer, std::uint64_t k);

// Finds where each writer stopped and commits turns from kTurnWriters threads until the
// process dies, calling `ack("<writer> <k>")` after each acknowledged commit, or
// `ack("error <message>")` when a commit fails (that writer then stops). Returns only if
// every writer stopped: 2 if setting up failed, else 3.
int run_turn_writers(LmdbStore& store, const std::function<void(const std::string&)>& ack);

}  // namespace duractor::testing
