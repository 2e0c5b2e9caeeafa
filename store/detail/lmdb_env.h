#pragma once
// What every file of the LMDB store builds on: the one translation of MDB_* and errno codes
// into Errors, MDB_val conversions, RAII guards for transactions and cursors, and the
// handles of the store's tables. Internal; only store/lmdb_* includes it.

#include <lmdb.h>

#include <string_view>

#include "duractor/runtime/error.h"

// Returns the error of a failed Status/Result expression from the enclosing function.
#define DURACTOR_TRY(expr)                                        \
  do {                                                            \
    auto duractor_status_ = (expr);                               \
    if (!duractor_status_) return fail(duractor_status_.error()); \
  } while (false)

namespace duractor::detail {

// The one place where MDB_* and errno codes become Errors. `what` says what was being done.
Error lmdb_error(int rc, std::string_view what, std::string_view path);

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Aborts the transaction unless it was committed or released.
class TxnGuard {
 public:
  TxnGuard() = default;
  explicit TxnGuard(MDB_txn* txn) : txn_(txn) {}
  TxnGuard(const TxnGuard&) = delete;
  TxnGuard& operator=(const TxnGuard&) = delete;
  ~TxnGuard();
  MDB_txn* get() const { return txn_; }
  // mdb_txn_commit frees the handle whatever its outcome.
  int commit();

 private:
  MDB_txn* txn_ = nullptr;
};

class CursorGuard {
 public:
  explicit CursorGuard(MDB_cursor* c) : cursor_(c) {}
  CursorGuard(const CursorGuard&) = delete;
  CursorGuard& operator=(const CursorGuard&) = delete;
  ~CursorGuard() { mdb_cursor_close(cursor_); }
  MDB_cursor* get() const { return cursor_; }

 private:
  MDB_cursor* cursor_;
};

// The store's tables (docs/storage-format.md), opened once by initialise.
struct Tables {
  MDB_dbi meta = 0;
  MDB_dbi instance_ids = 0;
  MDB_dbi instances = 0;
  MDB_dbi executions = 0;
  MDB_dbi history = 0;
  MDB_dbi journal = 0;
  MDB_dbi inbox = 0;
  MDB_dbi work = 0;
  MDB_dbi work_index = 0;
  MDB_dbi timers = 0;
  MDB_dbi timer_index = 0;
  MDB_dbi children = 0;
  MDB_dbi subscriptions = 0;    // topic \0 instance
  MDB_dbi instance_topics = 0;  // instance \0 topic
  // instance -> be32 turn-delivery count (count_turn_delivery); absent: 0. A store opened
  // read-only that predates it has no such table: `turn_deliveries_open` is then false.
  MDB_dbi turn_deliveries = 0;
  bool turn_deliveries_open = false;
  // Idempotent writes (lmdb_message_ids.cc): message id -> record; be64 first use (ms) +
  // message id -> "", in time order, for removing ids past their retention. Optional, like
  // turn_deliveries: a store that predates them, opened read-only, has neither.
  MDB_dbi message_ids = 0;
  MDB_dbi message_id_times = 0;
  bool message_ids_open = false;
};

}  // namespace duractor::detail
