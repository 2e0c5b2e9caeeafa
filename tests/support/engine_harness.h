#pragma once
// EngineHarness: drives a ReplayEngine the way the runtime does, without a store or actors.
// It keeps the instance's inbox and the current execution's history, runs turns, and
// offers helpers to complete what the code scheduled:
//
//   EngineHarness h(registry);
//   h.start("Hello", encode(std::string("ada")));
//   h.turn();                                        // the code schedules Greet
//   h.complete(h.activity("Greet"), encode(std::string("hi")));
//   auto t = h.turn();                               // the code completes
//   CHECK(h.output<std::string>() == "hi");
//   h.check_replay();                                // a fresh engine agrees with it all

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "duractor/runtime/detail/replay_engine.h"

namespace duractor::testing {

class EngineHarness {
 public:
  explicit EngineHarness(const Registry& registry, InstanceId instance = "test-instance")
      : registry_(registry),
        instance_(std::move(instance)),
        engine_(std::make_unique<ReplayEngine>(registry, instance_)) {}

  ReplayEngine& engine() { return *engine_; }
  const std::vector<HistoryEvent>& history() const { return history_; }
  TimePoint now() const { return now_; }
  void advance(Milliseconds d) { now_ += d; }

  // ---- the inbox ----
  void send(InboxMessage m) { inbox_.push_back(InboxEntry{++seq_, now_, std::move(m)}); }
  void start(std::string name, Bytes input, std::uint32_t version = 0) {
    send(message::Start{next_execution_, std::move(name), version, std::move(input), std::nullopt,
                        std::move(carried_)});
    carried_.clear();
  }
  void raise(std::string name, Bytes payload) {
    send(message::Event{std::move(name), std::move(payload)});
  }
  void cancel(std::string reason, bool terminate = false) {
    send(message::Cancel{std::move(reason), terminate});
  }
  void complete(EventId id, Bytes output) {
    send(message::ActivityResult{engine_->execution(), id, std::move(output), std::nullopt});
  }
  void fail(EventId id, std::string message, std::string type = "std::runtime_error",
            ErrorCategory category = ErrorCategory::kApplication) {
    send(message::ActivityResult{engine_->execution(),
                                 id,
                                 {},
                                 FailureDetails{category, std::move(type), std::move(message)}});
  }
  void fire(EventId id) { send(message::TimerFired{engine_->execution(), id, now_}); }
  void child_completed(EventId id, Bytes output) {
    send(message::ChildResult{engine_->execution(), id, std::move(output), std::nullopt});
  }
  void child_failed(EventId id, std::string message) {
    send(message::ChildResult{
        engine_->execution(),
        id,
        {},
        FailureDetails{ErrorCategory::kApplication, "std::runtime_error", std::move(message)}});
  }
  std::size_t inbox_size() const { return inbox_.size(); }

  // ---- turns ----
  // Runs one turn over the whole inbox (or its first `max` messages).
  TurnResult turn(std::size_t max = SIZE_MAX) {
    std::vector<InboxEntry> batch(
        inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(std::min(max, inbox_.size())));
    auto result = engine_->run_turn(batch, now_);
    REQUIRE_MESSAGE(result, (result ? "" : result.error().to_string()));
    record(*result);
    return *result;
  }

  void record(const TurnResult& r) {
    if (r.started) {
      history_.clear();
      actions_.clear();
    }
    for (const auto& e : r.new_events) history_.push_back(e);
    for (const auto& a : r.actions) actions_.push_back(a);
    std::vector<InboxEntry> left;
    for (auto& m : inbox_) {
      if (std::find(r.consumed.begin(), r.consumed.end(), m.seq) == r.consumed.end()) {
        left.push_back(std::move(m));
      }
    }
    inbox_ = std::move(left);
    if (auto* next = std::get_if<outcome::ContinuedAsNew>(&r.outcome); next && r.ended) {
      ++next_execution_;
      finished_histories_.push_back(history_);
      send(message::Start{next_execution_, engine_->orchestration_name(), next->version,
                          next->input, engine_->parent(), next->carried, next->custom_status});
    }
  }

  // ---- what the code scheduled ----
  const std::vector<Action>& actions() const { return actions_; }
  // The id of the n-th (from 0) scheduling of activity `name` in this execution.
  EventId activity(const std::string& name, std::size_t n = 0) const {
    for (const auto& a : actions_) {
      if (auto* s = std::get_if<action::ScheduleActivity>(&a); s && s->name == name && n-- == 0) {
        return s->id;
      }
    }
    FAIL("no activity '" << name << "' was scheduled");
    return 0;
  }
  EventId timer(std::size_t n = 0) const {
    for (const auto& a : actions_) {
      if (auto* t = std::get_if<action::CreateTimer>(&a); t && n-- == 0) return t->id;
    }
    FAIL("no timer was created");
    return 0;
  }
  const action::CreateTimer& timer_action(std::size_t n = 0) const {
    for (const auto& a : actions_) {
      if (auto* t = std::get_if<action::CreateTimer>(&a); t && n-- == 0) return *t;
    }
    FAIL("no timer was created");
    throw std::logic_error("unreachable");
  }
  const action::StartChild& child(std::size_t n = 0) const {
    for (const auto& a : actions_) {
      if (auto* c = std::get_if<action::StartChild>(&a); c && n-- == 0) return *c;
    }
    FAIL("no sub-orchestration was started");
    throw std::logic_error("unreachable");
  }
  template <class A>
  std::vector<A> all() const {
    std::vector<A> out;
    for (const auto& a : actions_) {
      if (auto* x = std::get_if<A>(&a)) out.push_back(*x);
    }
    return out;
  }

  // ---- the outcome ----
  template <class T>
  T output() const {
    auto* done = std::get_if<outcome::Completed>(&engine_->outcome());
    REQUIRE_MESSAGE(done != nullptr, "the execution has not completed: " << outcome_name());
    auto value = decode<T>(done->output);
    REQUIRE(value);
    return *value;
  }
  const FailureDetails& failure() const {
    auto* failed = std::get_if<outcome::Failed>(&engine_->outcome());
    REQUIRE_MESSAGE(failed != nullptr, "the execution has not failed: " << outcome_name());
    return failed->failure;
  }
  std::string outcome_name() const {
    return std::visit(
        [](const auto& o) -> std::string {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, outcome::NotStarted>) return "not started";
          if constexpr (std::is_same_v<T, outcome::Running>) return "running";
          if constexpr (std::is_same_v<T, outcome::Completed>) return "completed";
          if constexpr (std::is_same_v<T, outcome::Failed>) return "failed: " + o.failure.message;
          if constexpr (std::is_same_v<T, outcome::Cancelled>) return "cancelled: " + o.reason;
          if constexpr (std::is_same_v<T, outcome::ContinuedAsNew>) return "continued as new";
          return "?";
        },
        engine_->outcome());
  }

  // ---- replay ----
  // A fresh engine loads the recorded history of the current execution; it must succeed
  // and agree on the outcome.
  void check_replay() const {
    ReplayEngine fresh(registry_, instance_);
    auto loaded = fresh.load(engine_->execution(), history_);
    REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().to_string()));
    CHECK(fresh.outcome().index() == engine_->outcome().index());
    CHECK(fresh.last_event() == engine_->last_event());
  }
  // Replaces the live engine with a fresh one rebuilt from the history (as after a restart).
  void restart() {
    engine_ = std::make_unique<ReplayEngine>(registry_, instance_);
    auto loaded = engine_->load(history_.empty() ? 0 : current_execution(), history_);
    REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().to_string()));
  }
  ExecutionId current_execution() const { return next_execution_; }
  const std::vector<std::vector<HistoryEvent>>& finished_histories() const {
    return finished_histories_;
  }

 private:
  const Registry& registry_;
  InstanceId instance_;
  std::unique_ptr<ReplayEngine> engine_;
  std::vector<InboxEntry> inbox_;
  std::vector<HistoryEvent> history_;
  std::vector<Action> actions_;
  std::vector<CarriedEvent> carried_;
  std::vector<std::vector<HistoryEvent>> finished_histories_;
  ExecutionId next_execution_ = 1;
  std::uint64_t seq_ = 0;
  TimePoint now_ = from_unix_ms(1'700'000'000'000);
};

}  // namespace duractor::testing
