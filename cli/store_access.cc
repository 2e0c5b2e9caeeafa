#include "duractor/cli/store_access.h"

#include <sys/stat.h>

#include <atomic>
#include <vector>

#include "duractor/cli/format.h"

namespace duractor::cli {

std::unexpected<Failure> failure(const Error& error) {
  int code = kExitFailed;
  switch (error.code) {
    case ErrorCode::kNotFound:
      code = kExitNotFound;
      break;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kLimitExceeded:
      code = kExitUsage;
      break;
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAlreadyExists:
      code = kExitRefused;
      break;
    default:
      break;
  }
  return std::unexpected(Failure{code, error.message});
}

namespace {

// The usual reasons a path is not a store, named before LMDB gets to give a vaguer one.
Status check_store_path(const std::string& path, bool create) {
  if (path.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "no store given: pass --store PATH or set DURACTOR_STORE");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (create) return {};
    return fail(ErrorCode::kNotFound, "store " + path + " does not exist");
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kNotFound, "store " + path + " is not a directory");
  }
  if (!create && ::stat((path + "/data.mdb").c_str(), &st) != 0) {
    return fail(ErrorCode::kNotFound,
                "store " + path + " is not a duractor store (it has no data.mdb)");
  }
  return {};
}

Checked<std::unique_ptr<LmdbStore>> open_store(LmdbOptions options, bool create) {
  if (auto ok = check_store_path(options.path, create); !ok) {
    int code = ok.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitNoStore;
    return failure(code, ok.error().message);
  }
  options.create_if_missing = create;
  options.watch_interval = Milliseconds(0);  // a short-lived process needs no watching
  auto store = LmdbStore::open(std::move(options));
  if (!store) return failure(kExitNoStore, store.error().message);
  return std::move(*store);
}

}  // namespace

Checked<std::unique_ptr<LmdbStore>> open_for_reading(const std::string& path) {
  LmdbOptions options;
  options.path = path;
  options.read_only = true;
  return open_store(std::move(options), false);
}

// The writer thread asks the gate each time it has begun a write transaction (and so holds
// the writer lock): kWaiting becomes kStarted and the write goes on; kAbandoned refuses.
struct StoreWriter::Gate {
  enum State { kIdle, kWaiting, kStarted, kAbandoned };
  std::atomic<int> state{kIdle};
};

Checked<std::unique_ptr<StoreWriter>> StoreWriter::open(const std::string& path,
                                                        Milliseconds lock_timeout, bool create) {
  auto gate = std::make_shared<Gate>();
  LmdbOptions options;
  options.path = path;
  options.compact_journal = false;  // the runtime's job
  options.write_gate = [gate]() -> Status {
    int expected = Gate::kWaiting;
    if (gate->state.compare_exchange_strong(expected, Gate::kStarted) ||
        expected != Gate::kAbandoned) {
      return {};
    }
    return fail(ErrorCode::kBusy, "the write was abandoned: the writer lock came too late");
  };
  auto store = open_store(std::move(options), create);
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<StoreWriter>(
      new StoreWriter(path, lock_timeout, std::move(gate), std::move(*store)));
}

namespace {
// Stores abandoned with a writer still waiting for another process's lock: open until the
// process exits (see the header), and reachable from here, so that leak checkers know they
// are kept on purpose.
std::vector<LmdbStore*>* abandoned_stores = nullptr;
}  // namespace

StoreWriter::~StoreWriter() {
  if (!abandoned_) return;
  if (abandoned_stores == nullptr) abandoned_stores = new std::vector<LmdbStore*>();
  abandoned_stores->push_back(store_.release());
}

void StoreWriter::arm() {
  gate_->state = Gate::kWaiting;
}

bool StoreWriter::abandon() {
  int expected = Gate::kWaiting;
  abandoned_ = gate_->state.compare_exchange_strong(expected, Gate::kAbandoned);
  return abandoned_;
}

Failure StoreWriter::locked() const {
  return Failure{kExitLocked, "store " + path_ +
                                  " is locked for writing by another process (waited " +
                                  format_duration(lock_timeout_) +
                                  " for its writer lock; see --lock-timeout); nothing was written"};
}

}  // namespace duractor::cli
