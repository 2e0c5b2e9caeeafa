#pragma once
// How the duractor CLI reaches a store, and how failures become exit codes (docs/cli.md).
// Commands that only read open the store read-only: they never wait for a writer, whatever
// a running runtime is doing. Commands that write open it for writing, without compaction
// (the runtime's job), and give each write a time limit for LMDB's writer lock, which
// another process may hold: past it the write is abandoned — it can no longer commit — and
// the command fails with kExitLocked.

#include <condition_variable>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "duractor/store/lmdb_store.h"

namespace duractor::cli {

// The exit codes of the duractor CLI, documented in docs/cli.md and in `duractor --help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,    // the store or the system failed: I/O, a corrupt record
  kExitUsage = 2,     // bad flags, bad JSON, bad duration, a malformed export file
  kExitNotFound = 3,  // no such instance
  kExitNoStore = 4,   // the store is missing or cannot be opened
  kExitRefused = 5,   // refused by state: a finished instance, a running one without
                      // --force, an id that is taken
  kExitLocked = 6,    // another process held the writer lock longer than --lock-timeout
};

// Why a command failed: its exit code and what to tell the user.
struct Failure {
  int exit_code = kExitFailed;
  std::string message;
};
template <class T>
using Checked = std::expected<T, Failure>;

inline std::unexpected<Failure> failure(int exit_code, std::string message) {
  return std::unexpected(Failure{exit_code, std::move(message)});
}
// A store error, with the exit code its code stands for.
std::unexpected<Failure> failure(const Error& error);

// Opens the store in `path` read-only. Failures: kExitUsage (no path given), kExitNoStore
// (missing, not a directory, not a duractor store, not readable), naming the path.
Checked<std::unique_ptr<LmdbStore>> open_for_reading(const std::string& path);

// A store opened for writing by the CLI. Not thread-safe: one command uses it.
class StoreWriter {
 public:
  // Opens the store in `path` for writing (creating it if `create`). Failures as
  // open_for_reading.
  static Checked<std::unique_ptr<StoreWriter>> open(const std::string& path,
                                                    Milliseconds lock_timeout, bool create);
  // If a write was abandoned, the store is left open on purpose: its writer thread may still
  // be waiting for the other process's lock, and closing would wait with it. The process is
  // about to exit.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  LmdbStore& store() { return *store_; }

  // Starts the writes (each must call its callback exactly once) and waits for them; returns
  // their results in order. If their first transaction has not got the writer lock within
  // the lock timeout, they are abandoned — none of them commits, now or later — and the
  // result is kExitLocked. Once it has the lock, the rest of the writes are waited for.
  template <class T>
  Checked<std::vector<Result<T>>> run(std::vector<std::function<void(Callback<T>)>> writes);
  // One write.
  template <class T>
  Checked<T> run_one(std::function<void(Callback<T>)> write);

 private:
  struct Gate;
  StoreWriter(std::string path, Milliseconds lock_timeout, std::shared_ptr<Gate> gate,
              std::unique_ptr<LmdbStore> store)
      : path_(std::move(path)),
        lock_timeout_(lock_timeout),
        gate_(std::move(gate)),
        store_(std::move(store)) {}
  // Arms the gate before writes are started.
  void arm();
  // After the writes did not finish in time: true if they were abandoned (none had the
  // lock yet), false if one holds it (then they finish soon).
  bool abandon();
  Failure locked() const;

  std::string path_;
  Milliseconds lock_timeout_;
  std::shared_ptr<Gate> gate_;
  std::unique_ptr<LmdbStore> store_;
  bool abandoned_ = false;
};

// ---- implementation of the templates ----

template <class T>
Checked<std::vector<Result<T>>> StoreWriter::run(
    std::vector<std::function<void(Callback<T>)>> writes) {
  // Shared with the callbacks, which may run after an abandoned command has returned.
  struct Pending {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<std::optional<Result<T>>> results;
    std::size_t left = 0;
  };
  auto pending = std::make_shared<Pending>();
  pending->results.resize(writes.size());
  pending->left = writes.size();
  arm();
  for (std::size_t i = 0; i < writes.size(); ++i) {
    writes[i]([pending, i](Result<T> r) {
      std::lock_guard lock(pending->mutex);
      pending->results[i] = std::move(r);
      if (--pending->left == 0) pending->done.notify_all();
    });
  }
  std::unique_lock lock(pending->mutex);
  auto finished = [&] { return pending->left == 0; };
  if (!pending->done.wait_for(lock, lock_timeout_, finished)) {
    if (abandon()) return std::unexpected(locked());
    pending->done.wait(lock, finished);
  }
  std::vector<Result<T>> out;
  for (auto& r : pending->results) out.push_back(std::move(*r));
  return out;
}

template <class T>
Checked<T> StoreWriter::run_one(std::function<void(Callback<T>)> write) {
  std::vector<std::function<void(Callback<T>)>> writes;
  writes.push_back(std::move(write));
  auto results = run<T>(std::move(writes));
  if (!results) return std::unexpected(results.error());
  auto& r = results->front();
  if (!r) return failure(r.error());
  return std::move(*r);
}

}  // namespace duractor::cli
