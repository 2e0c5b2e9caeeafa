#pragma once
// The writes the LMDB store's writer thread queues and commits in batches (group commit):
// PendingWrite, TypedWrite (a caller's write and its answer) and CompactionWrite (the
// writer's own journal compaction). Internal.

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "duractor/store/detail/lmdb_tx.h"
#include "duractor/store/store.h"

namespace duractor::detail {

// A queued write: `apply` runs inside a (nested) write transaction and may run more than
// once if the batch is retried; `committed` runs once after a successful sync (in-memory
// side effects); `finish` answers the caller.
class PendingWrite {
 public:
  virtual ~PendingWrite() = default;
  virtual Status apply(Tx& tx) = 0;
  virtual void committed() {}
  virtual void finish(Status outcome) = 0;
};

template <class T>
class TypedWrite final : public PendingWrite {
 public:
  using Body = std::function<Result<T>(Tx&)>;
  using AfterCommit = std::function<void(const T&)>;
  TypedWrite(Body body, Callback<T> done, AfterCommit after = {})
      : body_(std::move(body)), done_(std::move(done)), after_(std::move(after)) {}

  Status apply(Tx& tx) override {
    value_.reset();
    auto r = body_(tx);
    if (!r) return fail(r.error());
    value_ = std::move(*r);
    return {};
  }
  void committed() override {
    if (after_ && value_) after_(*value_);
  }
  void finish(Status outcome) override {
    if (outcome && value_) {
      done_(std::move(*value_));
    } else if (!outcome) {
      done_(std::unexpected(outcome.error()));
    } else {
      done_(std::unexpected(Error::make(ErrorCode::kInternal, "write produced no result")));
    }
  }

 private:
  Body body_;
  Callback<T> done_;
  AfterCommit after_;
  std::optional<T> value_;
};

// Moves the oldest journal records into the history table. Queued by the writer itself,
// in the same transaction as a batch of callers' writes, when the journal is over its limit;
// nobody waits for it. `on_committed` gets the records moved and the journal's new size.
class CompactionWrite final : public PendingWrite {
 public:
  using OnCommitted = std::function<void(const JournalUndo& moved, std::uint64_t remaining)>;
  CompactionWrite(std::size_t step, OnCommitted on_committed)
      : step_(step), on_committed_(std::move(on_committed)) {}
  Status apply(Tx& tx) override;
  void committed() override { on_committed_(moved_, remaining_); }
  void finish(Status) override {}  // a failed step is simply tried again with a later batch

 private:
  std::size_t step_;
  OnCommitted on_committed_;
  JournalUndo moved_;
  std::uint64_t remaining_ = 0;
};

}  // namespace duractor::detail
