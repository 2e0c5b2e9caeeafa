#pragma once
// MetricsSink: where the runtime reports what it does, at the moment it happens (a turn
// committed, an activity finished, a store commit synced). runtime/ defines it and knows
// nothing of where the figures go. RuntimeMetrics, below, is the sink duractor ships: it
// keeps every figure in lock-free counters and histograms and writes them in the Prometheus
// text format (the HTTP server serves them on /metrics). A service that embeds duractor may
// implement its own sink to route the same figures to its metrics system.
//
//   auto metrics = std::make_shared<duractor::RuntimeMetrics>(registry);
//   auto host = duractor::Host::start(registry, {.lmdb = {.path = "store"}, .metrics = metrics});
//
// Thread-safety: the runtime calls a sink from many threads at once (actor threads,
// activity workers, the store's writer thread), on its hot paths. A sink must be
// thread-safe and must not block; a slow sink slows the runtime down.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duractor/runtime/history.h"
#include "duractor/runtime/instance.h"

namespace duractor {

class Registry;

using Nanoseconds = std::chrono::nanoseconds;

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;

  // ---- orchestrations (the instance actors, after the commit that made it true) ----
  // An instance's first execution started (a continue-as-new is not a new start).
  virtual void orchestration_started(std::string_view /*name*/) {}
  // An instance reached a final status: kCompleted, kFailed, kCancelled or kTerminated.
  // `failure` is how it failed, for kFailed.
  virtual void orchestration_ended(std::string_view /*name*/, InstanceStatus /*status*/,
                                   std::optional<FailureKind> /*failure*/) {}
  // A turn was poison (it killed the process on every delivery) and the instance was failed
  // as duractor::TurnPoisoned without running its code again.
  virtual void turn_poisoned(std::string_view /*name*/) {}
  // A turn committed: `duration` from the moment it read its messages to the moment the
  // instance actor learned that its commit was done (so it includes the commit's sync).
  virtual void turn_committed(std::string_view /*name*/, Nanoseconds /*duration*/) {}
  // An instance actor loaded an execution's history of `events` events and replayed its
  // code over them (activation after a start-up, a passivation or a rewind).
  virtual void history_replayed(std::string_view /*name*/, std::size_t /*events*/,
                                Nanoseconds /*duration*/) {}

  // ---- instance actors (the directory) ----
  virtual void instance_activated() {}   // an instance actor was spawned
  virtual void instance_passivated() {}  // an idle one left memory

  // ---- activities (the activity pool) ----
  // An activity's function is about to run, attempt `attempt` (a retry when above 1),
  // `waited` after its work item was created (schedule-to-start).
  virtual void activity_started(std::string_view /*name*/, std::uint32_t /*attempt*/,
                                Nanoseconds /*waited*/) {}
  // Its function returned after `duration` (also when it returned after a timeout).
  virtual void activity_ran(std::string_view /*name*/, Nanoseconds /*duration*/) {}
  // The result of one attempt was handed to its instance: completed (`failure` empty) or
  // failed, timed out, cancelled, poisoned ... (its failure kind). Exactly once per
  // attempt that reports.
  virtual void activity_ended(std::string_view /*name*/, std::optional<FailureKind> /*failure*/) {}

  // ---- the store ----
  // A group commit committed `writes` writes (> 0; writes that failed are not counted, and
  // neither is the store's own journal compaction) after `duration`, from the start of its
  // write transaction to its sync (with sync on), the time spent gathering more writes
  // (LmdbOptions::group_commit_wait) included.
  virtual void store_committed(std::size_t /*writes*/, Nanoseconds /*duration*/) {}
};

// A histogram with fixed bucket bounds: recording is one relaxed atomic add per counter,
// with no lock and no allocation. Bounds are in the recorded unit (nanoseconds, writes).
class Histogram {
 public:
  static constexpr std::size_t kMaxBuckets = 24;
  explicit Histogram(const std::vector<std::uint64_t>& bounds);
  void record(std::uint64_t value);
  std::uint64_t count() const;  // values recorded
  // Appends the histogram's Prometheus samples: cumulative `name_bucket{labels,le=...}`,
  // `name_sum` and `name_count`, with bounds and sum divided by `scale` (1e9 for seconds).
  void write(std::string& out, std::string_view name, std::string_view labels, double scale) const;

 private:
  std::vector<std::uint64_t> bounds_;
  std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> counts_{};  // the last: +Inf
  std::atomic<std::uint64_t> sum_{0};
};

// The sink duractor ships: every figure in atomics, written out as Prometheus text.
// Orchestration and activity names are labels; the label values are the names the registry
// held when the RuntimeMetrics was made, so that the set of series is fixed (a name that
// was not registered is counted under `_unregistered`, never as a new series; so is a name
// registered as `_unregistered`). The metric
// families are listed in docs/http.md#metrics.
class RuntimeMetrics final : public MetricsSink {
 public:
  explicit RuntimeMetrics(const Registry& registry);
  ~RuntimeMetrics() override;
  RuntimeMetrics(const RuntimeMetrics&) = delete;
  RuntimeMetrics& operator=(const RuntimeMetrics&) = delete;

  void orchestration_started(std::string_view name) override;
  void orchestration_ended(std::string_view name, InstanceStatus status,
                           std::optional<FailureKind> failure) override;
  void turn_poisoned(std::string_view name) override;
  void turn_committed(std::string_view name, Nanoseconds duration) override;
  void history_replayed(std::string_view name, std::size_t events, Nanoseconds duration) override;
  void instance_activated() override;
  void instance_passivated() override;
  void activity_started(std::string_view name, std::uint32_t attempt, Nanoseconds waited) override;
  void activity_ran(std::string_view name, Nanoseconds duration) override;
  void activity_ended(std::string_view name, std::optional<FailureKind> failure) override;
  void store_committed(std::size_t writes, Nanoseconds duration) override;

  // Appends every family in the Prometheus text format (version 0.0.4).
  void write_prometheus(std::string& out) const;

  // Counters for tests and monitoring code; 0 for a name that is not registered.
  std::uint64_t started(std::string_view orchestration) const;
  std::uint64_t ended(std::string_view orchestration, InstanceStatus status) const;
  std::uint64_t activity_outcomes(std::string_view activity,
                                  std::optional<FailureKind> failure) const;
  std::uint64_t activity_retries(std::string_view activity) const;
  std::uint64_t turns() const;
  std::uint64_t replays() const;
  std::uint64_t store_commits() const;
  std::uint64_t activations() const;
  std::uint64_t passivations() const;
  std::uint64_t nondeterminism_failures() const;
  std::uint64_t poison_failures() const;  // turns and activities

 private:
  struct Orchestration;
  struct Activity;
  Orchestration* orchestration(std::string_view name) const;
  Activity* activity(std::string_view name) const;

  // Sorted by name, fixed after construction (lookups need no lock); the last of each is
  // `_unregistered`.
  std::vector<std::unique_ptr<Orchestration>> orchestrations_;
  std::vector<std::unique_ptr<Activity>> activities_;
  Histogram turn_seconds_;
  Histogram replay_seconds_;
  Histogram replay_events_;
  Histogram commit_seconds_;
  Histogram commit_writes_;
  std::atomic<std::uint64_t> activations_{0};
  std::atomic<std::uint64_t> passivations_{0};
  std::atomic<std::uint64_t> poisoned_turns_{0};
};

namespace detail {
// The Prometheus text format's pieces, shared with http/: a family's HELP and TYPE lines,
// one sample line, and a label value escaped (\\, \" and \n).
void prometheus_family(std::string& out, std::string_view name, std::string_view type,
                       std::string_view help);
void prometheus_sample(std::string& out, std::string_view name, std::string_view labels,
                       double value);
std::string prometheus_label(std::string_view value);
}  // namespace detail

}  // namespace duractor
