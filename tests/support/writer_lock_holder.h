#pragma once
// A child process that holds an LMDB store's writer lock, inside a write transaction, from
// when the constructor returns until the parent calls `let_go()`; then it commits an event
// named "Child" to instance "o" and exits (0; 1 if the store did not open, 2 if the write
// failed). For tests of what other processes do while a writer holds the lock.

#include <doctest/doctest.h>

#include "duractor/store/lmdb_store.h"
#include "tests/support/child_process.h"

namespace duractor::testing {

struct WriterLockHolder {
  explicit WriterLockHolder(LmdbOptions options)
      : child([this, options]() mutable {
          release.close_write_end();
          options.write_gate = [this]() -> Status {
            holding.write_line("holding");
            release.read_all_lines();
            return {};
          };
          auto s = LmdbStore::open(options);
          if (!s) return 1;
          return (*s)->enqueue("o", message::Event{"Child", encode(1)}) ? 0 : 2;
        }) {
    holding.close_write_end();
    REQUIRE(holding.read_line() == "holding");
  }

  void let_go() { release.close_write_end(); }

  LinePipe holding, release;
  ChildProcess child;
};

}  // namespace duractor::testing
