#pragma once
// The LMDB store: duractor's embedded Store, one directory holding an LMDB environment
// (data.mdb, lock.mdb). Readers run concurrently on any thread; all writes go through ONE
// writer thread that batches the writes of concurrent callers into one transaction (group
// commit) and answers each caller after the sync. A batched write that fails is left out
// and the others commit: writes run directly in the batch's one transaction (no nested
// transactions); one that fails before writing anything just reports its error, and one
// that fails after writing part of itself makes the writer abandon the transaction and
// apply the batch again without it.
//
// Other processes may open the same directory at the same time (the duractor CLI does):
// LMDB serializes their write transactions with ours. Locks and work leases are kept in
// memory: they belong to this process and end with it, so after a crash every unfinished
// work item is available again. The store notices writes committed by other processes
// (foreign_writes()) and brings what it keeps in memory in line with them: its journal
// index, and the locks and leases of instances and work items that were deleted.
//
// Durability: with `sync` on (the default) a write is on disk before its caller is
// answered. With `sync` off a crash (of the machine, not just the process) may lose the
// latest commits; the file is never corrupted. Use it for tests only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "duractor/runtime/time.h"
#include "duractor/store/store.h"

namespace duractor {

class MetricsSink;

// Where a fault may be injected: a named step, and the instance the step acts for (empty
// for steps that act for no single instance, such as "batch.commit"). It converts to the
// step's name, so an injector may take a plain std::string_view.
struct FaultStep {
  std::string_view name;
  std::string_view instance;
  operator std::string_view() const { return name; }  // NOLINT: implicit on purpose
};

// Test hook: called at named steps inside write operations ("commit_turn.history",
// "batch.commit", ...; the list is in docs/storage-format.md). An error it returns makes
// the write fail at that step, exactly as a real failure there would; an injector may also
// kill the process there (crash tests). Also called before one read,
// "read_latest_history:<id>", whose error that read then returns (a history that does not
// decode, say). The host calls it at one step of its own, "turn.committed" (see
// HostOptions), where an error is ignored.
using FaultInjector = std::function<Status(const FaultStep& step)>;

struct LmdbOptions {
  std::string path;               // the store directory
  bool create_if_missing = true;  // create the directory (one level) if it does not exist
  bool read_only = false;         // open for reading only; writes fail kFailedPrecondition
  bool sync = true;               // fsync every commit; off for tests only (see above)
  std::uint64_t initial_map_size = std::uint64_t{64} << 20;  // bytes
  // The store grows its map by doubling when full, up to this size; past it, writes fail
  // with kStoreFull.
  std::uint64_t max_map_size = std::uint64_t{1} << 40;
  std::uint32_t max_readers = 512;  // concurrent read transactions (threads) allowed
  std::size_t max_batch = 4096;     // writes per group commit
  // When fewer writes are waiting than the previous batch held, the writer waits up to this
  // long for more to join before it commits (callers it just answered are usually preparing
  // their next write). Bounds the latency added; a lone writer never waits. 0: never wait.
  std::chrono::microseconds group_commit_wait{200};
  // New history events go to an append-ordered journal first (one record per turn), so that
  // a group commit of many instances' turns writes a few shared pages rather than one page
  // per instance. When the journal holds more than this many turns, the writer moves the
  // oldest into the per-instance history table, piggybacked on regular batches. The journal
  // is indexed in memory (about 100 bytes a turn) and scanned when the store opens.
  std::size_t journal_limit = 32768;
  // Whether this process compacts the journal (above). A short-lived process that shares
  // the store with a runtime (the CLI) turns it off and leaves compaction to the runtime,
  // so that its writes stay small and quick.
  bool compact_journal = true;
  // How long the message ids of idempotent writes (Store::enqueue_once, publish_once) are
  // remembered after their first use; a repeat after that applies again. Ids past it are
  // removed a few at a time by later idempotent writes.
  std::chrono::milliseconds message_id_retention{7LL * 24 * 3600 * 1000};
  // Told of every group commit: its writes and how long it took, to the sync
  // (MetricsSink::store_committed, on the writer thread). Not owned; must outlive the store.
  MetricsSink* metrics = nullptr;
  // How often an idle writer checks whether another process committed writes
  // (foreign_writes()); a busy one notices at its next transaction. 0: only when writing.
  std::chrono::milliseconds watch_interval{200};
  // Called on the writer thread each time it has begun a write transaction — and so holds
  // LMDB's writer lock, shared by every process — before it applies any write. An error it
  // returns aborts that transaction: every write in it fails with that error and nothing
  // is written. Lets a caller give up waiting for a lock that another process holds
  // without the risk that its write still commits later (the CLI's --lock-timeout).
  std::function<Status()> write_gate;
  const Clock* clock = nullptr;  // for timestamps, locks and leases; default: system clock
  FaultInjector fault_injector;  // tests only
};

class LmdbStore final : public Store {
 public:
  // Opens (creating if allowed) the store in options.path. Errors name the path and the
  // cause: kNotFound (directory missing and create_if_missing unset), kIo (permission
  // denied, read-only file system, not a directory, no space), kCorrupt (data.mdb is not an
  // LMDB file or is damaged), kUnsupported (written by a newer duractor format).
  static Result<std::unique_ptr<LmdbStore>> open(LmdbOptions options);

  // Finishes queued writes, then closes the environment.
  ~LmdbStore() override;

  const std::string& path() const;
  // The map size currently in use, in bytes (grows on demand).
  std::uint64_t map_size() const;

  void create_instance_async(NewInstance request, Callback<CreateOutcome> done) override;
  void enqueue_async(InstanceId instance, InboxMessage message,
                     Callback<std::uint64_t> done) override;
  void commit_turn_async(TurnCommit turn, Callback<TurnCommitted> done) override;
  void complete_work_async(WorkLease lease, message::ActivityResult result,
                           Callback<InstanceId> done) override;
  void fire_timers_async(std::vector<TimerKey> keys,
                         Callback<std::vector<InstanceId>> done) override;
  void publish_async(std::string topic, Bytes payload, Callback<PublishReceipt> done) override;
  void enqueue_once_async(MessageId id, InstanceId instance, InboxMessage message,
                          Callback<std::uint64_t> done) override;
  void publish_once_async(MessageId id, std::string topic, Bytes payload,
                          Callback<PublishReceipt> done) override;
  void delete_instance_async(InstanceId id, DeleteOptions options,
                             Callback<DeleteSummary> done) override;
  void import_instance_async(InstanceImage image, Callback<std::uint64_t> done) override;
  void prune_executions_async(InstanceId id, std::uint32_t keep_last,
                              Callback<PruneSummary> done) override;
  void rewind_instance_async(InstanceId id, Callback<RewindSummary> done) override;
  void fork_instance_async(ForkRequest request, Callback<ForkSummary> done) override;
  void record_delivery_async(WorkLease lease, std::uint32_t deliveries,
                             StatusCallback done) override;
  void count_turn_delivery_async(InstanceLock lock, Callback<std::uint32_t> done) override;

  Result<InstanceLock> lock_instance(const InstanceId& instance, Milliseconds duration) override;
  void unlock_instance(const InstanceLock& lock) override;
  Result<std::vector<LeasedWork>> take_work(std::size_t max, Milliseconds duration) override;
  Result<WorkLease> lease_work(std::uint64_t item, Milliseconds duration) override;
  Result<WorkLease> renew_lease(const WorkLease& lease, Milliseconds duration) override;
  void abandon_work(const WorkLease& lease) override;

  Result<InstanceInfo> read_instance(const InstanceId& id) override;
  Result<std::vector<ExecutionInfo>> read_executions(const InstanceId& id) override;
  Result<std::vector<HistoryEvent>> read_history(const InstanceId& id,
                                                 ExecutionId execution) override;
  Result<ExecutionHistory> read_latest_history(const InstanceId& id) override;
  Result<std::vector<InboxEntry>> read_inbox(const InstanceId& id, std::size_t max = 0) override;
  Result<std::vector<InstanceId>> instances_with_messages(const std::string& after,
                                                          std::size_t max) override;
  Result<std::vector<InboxDepth>> inbox_depths(const std::string& after, std::size_t max) override;
  Result<std::vector<TimerEntry>> due_timers(TimePoint now, std::size_t max) override;
  Result<std::optional<TimerEntry>> next_timer() override;
  Result<std::vector<WorkItem>> list_work(std::uint64_t after, std::size_t max) override;
  Result<InstancePage> list_instances(const InstanceQuery& query) override;
  Result<std::vector<InstanceId>> subscribers(const std::string& topic) override;
  Result<std::vector<std::string>> subscriptions(const InstanceId& instance) override;
  Result<InstanceImage> export_instance(const InstanceId& id) override;
  Result<StoreStats> stats() override;
  Result<SequenceMarks> sequence_marks() override;
  Result<std::uint32_t> turn_deliveries(const InstanceId& id) override;
  Result<std::uint64_t> change_counter() override;
  std::uint64_t foreign_writes() const override;

  struct Impl;

 private:
  explicit LmdbStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace duractor
