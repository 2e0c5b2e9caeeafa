#include "duractor/runtime/metrics.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "duractor/runtime/registry.h"

namespace duractor {

namespace {

constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
constexpr std::string_view kUnregistered = "_unregistered";
constexpr std::size_t kFailureKinds = static_cast<std::size_t>(FailureKind::kInfrastructure) + 1;
constexpr double kSecond = 1e9;

std::uint64_t nanos(Nanoseconds d) {
  return d.count() > 0 ? static_cast<std::uint64_t>(d.count()) : 0;
}

// 50 µs to 5 min: turns and commits take from tens of microseconds (no sync) to seconds
// (a disk under load); activities from microseconds to minutes.
std::vector<std::uint64_t> time_bounds() {
  std::vector<std::uint64_t> b;
  for (double s : {50e-6,  100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
                   100e-3, 250e-3, 500e-3, 1.0,    2.5,  5.0,    10.0, 30.0,  60.0,  300.0}) {
    b.push_back(static_cast<std::uint64_t>(s * kSecond));
  }
  return b;
}
std::vector<std::uint64_t> powers(std::uint64_t first, std::uint64_t factor, std::uint64_t last) {
  std::vector<std::uint64_t> b;
  for (std::uint64_t v = first; v <= last; v *= factor) b.push_back(v);
  return b;
}

// The shortest text that reads back as `value` ("5e-05", "0.0025", "300").
std::string number(double value) {
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  return std::string(text, ec == std::errc() ? end : text);
}

// A failure kind as a label value: "activity failed" -> "activity_failed".
std::string kind_label(FailureKind kind) {
  std::string s(to_string(kind));
  std::replace(s.begin(), s.end(), ' ', '_');
  return s;
}

template <class T>
T* find_named(const std::vector<std::unique_ptr<T>>& table, std::string_view name) {
  // The last entry is `_unregistered`: the others are sorted by name.
  auto end = table.end() - 1;
  auto it =
      std::lower_bound(table.begin(), end, name,
                       [](const std::unique_ptr<T>& e, std::string_view n) { return e->name < n; });
  return it != end && (*it)->name == name ? it->get() : table.back().get();
}

}  // namespace

// ---- Histogram ----

Histogram::Histogram(const std::vector<std::uint64_t>& bounds)
    : bounds_(bounds.begin(), bounds.begin() + std::min(bounds.size(), kMaxBuckets)) {}

void Histogram::record(std::uint64_t value) {
  auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[static_cast<std::size_t>(at)].fetch_add(1, kRelaxed);
  sum_.fetch_add(value, kRelaxed);
}

std::uint64_t Histogram::count() const {
  std::uint64_t n = 0;
  for (const auto& c : counts_) n += c.load(kRelaxed);
  return n;
}

void Histogram::write(std::string& out, std::string_view name, std::string_view labels,
                      double scale) const {
  std::string prefix(labels);
  if (!prefix.empty()) prefix += ",";
  std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(kRelaxed);
    std::string le = i < bounds_.size() ? number(static_cast<double>(bounds_[i]) / scale) : "+Inf";
    detail::prometheus_sample(out, bucket, prefix + "le=\"" + le + "\"",
                              static_cast<double>(cumulative));
  }
  detail::prometheus_sample(out, std::string(name) + "_sum", labels,
                            static_cast<double>(sum_.load(kRelaxed)) / scale);
  detail::prometheus_sample(out, std::string(name) + "_count", labels,
                            static_cast<double>(cumulative));
}

// ---- RuntimeMetrics ----

struct RuntimeMetrics::Orchestration {
  std::string name;
  std::atomic<std::uint64_t> started{0};
  std::array<std::atomic<std::uint64_t>, kInstanceStatusCount> ended{};
  std::array<std::atomic<std::uint64_t>, kFailureKinds> failed_by_kind{};
};

struct RuntimeMetrics::Activity {
  explicit Activity(std::string n)
      : name(std::move(n)), schedule_to_start(time_bounds()), execution(time_bounds()) {}
  std::string name;
  std::atomic<std::uint64_t> completed{0};
  std::array<std::atomic<std::uint64_t>, kFailureKinds> failed_by_kind{};
  std::atomic<std::uint64_t> retries{0};
  Histogram schedule_to_start;
  Histogram execution;
};

RuntimeMetrics::RuntimeMetrics(const Registry& registry)
    : turn_seconds_(time_bounds()),
      replay_seconds_(time_bounds()),
      replay_events_(powers(1, 4, 1 << 20)),
      commit_seconds_(time_bounds()),
      commit_writes_(powers(1, 2, 4096)) {
  std::set<std::string> names;
  for (const auto& [name, version] : registry.orchestration_versions()) names.insert(name);
  names.erase(std::string(kUnregistered));  // it would be a second series of the same labels
  for (const auto& name : names) {
    orchestrations_.push_back(std::make_unique<Orchestration>());
    orchestrations_.back()->name = name;
  }
  orchestrations_.push_back(std::make_unique<Orchestration>());
  orchestrations_.back()->name = kUnregistered;
  for (const auto& name : registry.activity_names()) {
    if (name != kUnregistered) activities_.push_back(std::make_unique<Activity>(name));
  }
  activities_.push_back(std::make_unique<Activity>(std::string(kUnregistered)));
  std::sort(activities_.begin(), activities_.end() - 1,
            [](const auto& a, const auto& b) { return a->name < b->name; });
}

RuntimeMetrics::~RuntimeMetrics() = default;

RuntimeMetrics::Orchestration* RuntimeMetrics::orchestration(std::string_view name) const {
  return find_named(orchestrations_, name);
}
RuntimeMetrics::Activity* RuntimeMetrics::activity(std::string_view name) const {
  return find_named(activities_, name);
}

void RuntimeMetrics::orchestration_started(std::string_view name) {
  orchestration(name)->started.fetch_add(1, kRelaxed);
}
void RuntimeMetrics::orchestration_ended(std::string_view name, InstanceStatus status,
                                         std::optional<FailureKind> failure) {
  auto* o = orchestration(name);
  o->ended[static_cast<std::size_t>(status) % kInstanceStatusCount].fetch_add(1, kRelaxed);
  if (status == InstanceStatus::kFailed) {
    auto kind = failure.value_or(FailureKind::kApplication);
    o->failed_by_kind[static_cast<std::size_t>(kind) % kFailureKinds].fetch_add(1, kRelaxed);
  }
}
void RuntimeMetrics::turn_poisoned(std::string_view /*name*/) {
  poisoned_turns_.fetch_add(1, kRelaxed);
}
void RuntimeMetrics::turn_committed(std::string_view /*name*/, Nanoseconds duration) {
  turn_seconds_.record(nanos(duration));
}
void RuntimeMetrics::history_replayed(std::string_view /*name*/, std::size_t events,
                                      Nanoseconds duration) {
  replay_seconds_.record(nanos(duration));
  replay_events_.record(events);
}
void RuntimeMetrics::instance_activated() {
  activations_.fetch_add(1, kRelaxed);
}
void RuntimeMetrics::instance_passivated() {
  passivations_.fetch_add(1, kRelaxed);
}
void RuntimeMetrics::activity_started(std::string_view name, std::uint32_t attempt,
                                      Nanoseconds waited) {
  auto* a = activity(name);
  if (attempt > 1) a->retries.fetch_add(1, kRelaxed);
  a->schedule_to_start.record(nanos(waited));
}
void RuntimeMetrics::activity_ran(std::string_view name, Nanoseconds duration) {
  activity(name)->execution.record(nanos(duration));
}
void RuntimeMetrics::activity_ended(std::string_view name, std::optional<FailureKind> failure) {
  auto* a = activity(name);
  if (!failure) {
    a->completed.fetch_add(1, kRelaxed);
  } else {
    a->failed_by_kind[static_cast<std::size_t>(*failure) % kFailureKinds].fetch_add(1, kRelaxed);
  }
}
void RuntimeMetrics::store_committed(std::size_t writes, Nanoseconds duration) {
  commit_seconds_.record(nanos(duration));
  commit_writes_.record(writes);
}

std::uint64_t RuntimeMetrics::started(std::string_view name) const {
  auto* o = orchestration(name);
  return o->name == name ? o->started.load(kRelaxed) : 0;
}
std::uint64_t RuntimeMetrics::ended(std::string_view name, InstanceStatus status) const {
  auto* o = orchestration(name);
  return o->name == name
             ? o->ended[static_cast<std::size_t>(status) % kInstanceStatusCount].load(kRelaxed)
             : 0;
}
std::uint64_t RuntimeMetrics::activity_outcomes(std::string_view name,
                                                std::optional<FailureKind> failure) const {
  auto* a = activity(name);
  if (a->name != name) return 0;
  if (!failure) return a->completed.load(kRelaxed);
  return a->failed_by_kind[static_cast<std::size_t>(*failure) % kFailureKinds].load(kRelaxed);
}
std::uint64_t RuntimeMetrics::activity_retries(std::string_view name) const {
  auto* a = activity(name);
  return a->name == name ? a->retries.load(kRelaxed) : 0;
}
std::uint64_t RuntimeMetrics::nondeterminism_failures() const {
  std::uint64_t n = 0;
  for (const auto& o : orchestrations_) {
    n += o->failed_by_kind[static_cast<std::size_t>(FailureKind::kNondeterminism)].load(kRelaxed);
  }
  return n;
}
std::uint64_t RuntimeMetrics::poison_failures() const {
  auto poison = static_cast<std::size_t>(FailureKind::kPoison);
  std::uint64_t n = poisoned_turns_.load(kRelaxed);
  for (const auto& a : activities_) n += a->failed_by_kind[poison].load(kRelaxed);
  return n;
}
std::uint64_t RuntimeMetrics::activations() const {
  return activations_.load(kRelaxed);
}
std::uint64_t RuntimeMetrics::passivations() const {
  return passivations_.load(kRelaxed);
}
std::uint64_t RuntimeMetrics::turns() const {
  return turn_seconds_.count();
}
std::uint64_t RuntimeMetrics::replays() const {
  return replay_seconds_.count();
}
std::uint64_t RuntimeMetrics::store_commits() const {
  return commit_seconds_.count();
}

void RuntimeMetrics::write_prometheus(std::string& out) const {
  using detail::prometheus_family;
  using detail::prometheus_label;
  using detail::prometheus_sample;
  auto label = [](std::string_view key, std::string_view value) {
    return std::string(key) + "=\"" + prometheus_label(value) + "\"";
  };
  auto count = [](const std::atomic<std::uint64_t>& c) {
    return static_cast<double>(c.load(kRelaxed));
  };

  prometheus_family(out, "duractor_orchestrations_started_total", "counter",
                    "Instances whose first execution started, by orchestration.");
  for (const auto& o : orchestrations_) {
    prometheus_sample(out, "duractor_orchestrations_started_total", label("orchestration", o->name),
                      count(o->started));
  }
  prometheus_family(out, "duractor_orchestrations_ended_total", "counter",
                    "Instances that reached a final status, by orchestration and status.");
  for (const auto& o : orchestrations_) {
    for (auto status : {InstanceStatus::kCompleted, InstanceStatus::kFailed,
                        InstanceStatus::kCancelled, InstanceStatus::kTerminated}) {
      prometheus_sample(out, "duractor_orchestrations_ended_total",
                        label("orchestration", o->name) + "," + label("status", to_string(status)),
                        count(o->ended[static_cast<std::size_t>(status)]));
    }
  }
  prometheus_family(out, "duractor_orchestration_failures_total", "counter",
                    "Instances that failed, by orchestration and failure kind (kinds seen only).");
  for (const auto& o : orchestrations_) {
    for (std::size_t k = 0; k < kFailureKinds; ++k) {
      if (o->failed_by_kind[k].load(kRelaxed) == 0) continue;
      prometheus_sample(out, "duractor_orchestration_failures_total",
                        label("orchestration", o->name) + "," +
                            label("kind", kind_label(static_cast<FailureKind>(k))),
                        count(o->failed_by_kind[k]));
    }
  }
  prometheus_family(out, "duractor_nondeterminism_failures_total", "counter",
                    "Instances failed because their code diverged from their history.");
  prometheus_sample(out, "duractor_nondeterminism_failures_total", "",
                    static_cast<double>(nondeterminism_failures()));
  prometheus_family(out, "duractor_poison_failures_total", "counter",
                    "Turns (instances failed as TurnPoisoned) and activity attempts (failed as "
                    "ActivityPoisoned) that killed the process on every delivery.");
  {
    auto poison = static_cast<std::size_t>(FailureKind::kPoison);
    std::uint64_t activities = 0;
    for (const auto& a : activities_) activities += a->failed_by_kind[poison].load(kRelaxed);
    prometheus_sample(out, "duractor_poison_failures_total", "of=\"turn\"", count(poisoned_turns_));
    prometheus_sample(out, "duractor_poison_failures_total", "of=\"activity\"",
                      static_cast<double>(activities));
  }

  prometheus_family(out, "duractor_turn_duration_seconds", "histogram",
                    "Turns, from reading their messages to the acknowledgement of their commit.");
  turn_seconds_.write(out, "duractor_turn_duration_seconds", "", kSecond);
  prometheus_family(out, "duractor_replay_duration_seconds", "histogram",
                    "History replays when an instance actor is activated.");
  replay_seconds_.write(out, "duractor_replay_duration_seconds", "", kSecond);
  prometheus_family(out, "duractor_replay_events", "histogram",
                    "History events replayed per activation.");
  replay_events_.write(out, "duractor_replay_events", "", 1);

  prometheus_family(out, "duractor_instance_activations_total", "counter",
                    "Instance actors spawned (each replays its history).");
  prometheus_sample(out, "duractor_instance_activations_total", "", count(activations_));
  prometheus_family(out, "duractor_instance_passivations_total", "counter",
                    "Idle instance actors that left memory.");
  prometheus_sample(out, "duractor_instance_passivations_total", "", count(passivations_));

  prometheus_family(out, "duractor_activity_executions_total", "counter",
                    "Activity attempts that reported, by activity and outcome (completed "
                    "always; failure kinds seen only).");
  for (const auto& a : activities_) {
    prometheus_sample(out, "duractor_activity_executions_total",
                      label("activity", a->name) + ",outcome=\"completed\"", count(a->completed));
    for (std::size_t k = 0; k < kFailureKinds; ++k) {
      if (a->failed_by_kind[k].load(kRelaxed) == 0) continue;
      prometheus_sample(out, "duractor_activity_executions_total",
                        label("activity", a->name) + "," +
                            label("outcome", kind_label(static_cast<FailureKind>(k))),
                        count(a->failed_by_kind[k]));
    }
  }
  prometheus_family(out, "duractor_activity_retries_total", "counter",
                    "Activity attempts after the first, by activity.");
  for (const auto& a : activities_) {
    prometheus_sample(out, "duractor_activity_retries_total", label("activity", a->name),
                      count(a->retries));
  }
  prometheus_family(out, "duractor_activity_schedule_to_start_seconds", "histogram",
                    "From an activity's scheduling (its work item) to the start of its run.");
  for (const auto& a : activities_) {
    a->schedule_to_start.write(out, "duractor_activity_schedule_to_start_seconds",
                               label("activity", a->name), kSecond);
  }
  prometheus_family(out, "duractor_activity_execution_seconds", "histogram",
                    "How long activity functions ran.");
  for (const auto& a : activities_) {
    a->execution.write(out, "duractor_activity_execution_seconds", label("activity", a->name),
                       kSecond);
  }

  prometheus_family(out, "duractor_store_commit_duration_seconds", "histogram",
                    "Group commits of the store, to their sync.");
  commit_seconds_.write(out, "duractor_store_commit_duration_seconds", "", kSecond);
  prometheus_family(out, "duractor_store_commit_writes", "histogram", "Writes per group commit.");
  commit_writes_.write(out, "duractor_store_commit_writes", "", 1);
}

// ---- the text format ----

void detail::prometheus_family(std::string& out, std::string_view name, std::string_view type,
                               std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void detail::prometheus_sample(std::string& out, std::string_view name, std::string_view labels,
                               double value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(number(value)).append("\n");
}

std::string detail::prometheus_label(std::string_view value) {
  std::string s;
  s.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      s += '\\';
      s += c;
    } else if (c == '\n') {
      s += "\\n";
    } else {
      s += c;
    }
  }
  return s;
}

}  // namespace duractor
