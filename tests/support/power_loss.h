#pragma once
// Simulated power loss for durability tests, in the spirit of LevelDB's
// fault_injection_test: what a process wrote to a file but did not sync is lost.
//
// A program runs with the shim (tests/support/power_loss_shim.cc) preloaded
// (LD_PRELOAD=libduractor_power_loss_shim.so) and two environment variables:
//   DURACTOR_POWER_LOSS_FILE  the file to watch (absolute path, e.g. <store>/data.mdb)
//   DURACTOR_POWER_LOSS_LOG   the undo log the shim keeps for it (absolute path)
// Writes still reach the file at once (the program reads back through its own mapping,
// as LMDB does), but before each write the shim appends to the log what the write is
// about to overwrite. A sync (fsync, fdatasync) of the file empties the log: everything
// written so far is durable. A write through a descriptor opened with O_SYNC or O_DSYNC
// is durable on its own; the log keeps its new bytes instead.
//
// After the program has died (SIGKILL), simulate_power_loss() puts the file back into the
// state a machine that lost power at that moment could show: the file as of its last sync,
// plus the durable writes since, in order. Unsynced writes are all dropped, the harshest
// outcome a real disk may produce (torn sectors are not simulated). Writes through a
// writable mapping (LMDB's MDB_WRITEMAP, which the store does not use) and msync are not
// seen: a store that used them would need another layer.

#include <cstdint>
#include <string>

namespace duractor::testing {

// One log record: this header, then `length` bytes.
struct PowerLossRecord {
  static constexpr std::uint32_t kMagic = 0x504c4f47;  // "PLOG"
  static constexpr std::uint32_t kUndo = 1;  // bytes: what offset..offset+length held before
  static constexpr std::uint32_t kRedo = 2;  // bytes: a durable write's new data
  std::uint32_t magic = kMagic;
  std::uint32_t kind = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t size_before = 0;  // the file's size before this write
};

// What simulate_power_loss did, for the test's report.
struct PowerLossSummary {
  std::uint64_t dropped_writes = 0;  // unsynced writes undone
  std::uint64_t durable_writes = 0;  // O_DSYNC writes kept
  std::uint64_t size_before = 0;     // the file's size before the loss
  std::uint64_t size_after = 0;      // and after
};

// Rolls `file` back as described above using the undo log at `log`, then removes the log.
// A missing or empty log means that nothing was written since the last sync. A record cut
// short (the program died while appending it) is ignored: its write had not begun. Throws
// std::runtime_error if a file cannot be read or written.
PowerLossSummary simulate_power_loss(const std::string& file, const std::string& log);

}  // namespace duractor::testing
