// plan_turn_without_code: failing an instance from the store's records (a poisoned turn, a
// history that cannot be read), without an engine and without running its code.

#include <doctest/doctest.h>

#include "duractor/actors/detail/turn_without_code.h"

namespace duractor {
namespace {

const TimePoint kNow = from_unix_ms(1'700'000'005'000);

InstanceLock lock_of(const std::string& id) {
  return InstanceLock{id, 7, TimePoint{}};
}

FailureDetails poisoned() {
  return FailureDetails{ErrorCategory::kApplication, "duractor::TurnPoisoned", "it killed us",
                        false};
}

InstanceInfo instance(InstanceStatus status, ExecutionId execution,
                      std::optional<ParentLink> parent = std::nullopt) {
  InstanceInfo info;
  info.id = "i";
  info.name = "Flow";
  info.version = 2;
  info.status = status;
  info.execution = execution;
  info.parent = std::move(parent);
  return info;
}

ExecutionInfo execution(ExecutionId id, std::uint64_t events, InstanceStatus status,
                        bool continued_as_new = false) {
  ExecutionInfo e;
  e.execution = id;
  e.version = 2;
  e.status = status;
  e.event_count = events;
  e.continued_as_new = continued_as_new;
  return e;
}

// The one ChildResult the plan sends to `parent`.
const message::ChildResult& report_to(const TurnPlan& plan, const InstanceId& parent) {
  REQUIRE(plan.commit.outbound.size() == 1);
  CHECK(plan.commit.outbound[0].target == parent);
  const auto* report = std::get_if<message::ChildResult>(&plan.commit.outbound[0].message);
  REQUIRE(report != nullptr);
  return *report;
}

}  // namespace

TEST_SUITE("failing an instance without running its code") {
  TEST_CASE("a running execution gets ExecutionFailed after its last event, and its parent hears") {
    Registry registry;
    auto info = instance(InstanceStatus::kRunning, 1, ParentLink{"parent", 3, 9});
    std::vector<ExecutionInfo> executions = {execution(1, 5, InstanceStatus::kRunning)};
    std::vector<InboxEntry> inbox = {InboxEntry{11, kNow, message::Event{"Approval", encode(1)}},
                                     InboxEntry{12, kNow, message::Cancel{"stop", false}}};
    std::vector<MemoryMessage> memory = {
        {message::ActivityResult{1, 2, encode(1), std::nullopt}, WorkLease{41}, std::nullopt},
        {message::TimerFired{1, 3, kNow}, std::nullopt, TimerKey{kNow, 9}}};
    auto plan = plan_turn_without_code(lock_of("i"), info, executions, inbox, memory, poisoned(),
                                       registry, kNow);
    REQUIRE(plan);
    const auto& c = plan->commit;
    CHECK(c.lock.instance == "i");
    CHECK(c.execution == 1);
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0] == HistoryEvent{6, kNow, event::ExecutionFailed{poisoned()}});
    CHECK(c.consumed == std::vector<std::uint64_t>{11, 12});
    CHECK(c.finished_work == std::vector<std::uint64_t>{41});
    CHECK(c.fired_timers == std::vector<TimerKey>{TimerKey{kNow, 9}});
    CHECK(c.update.status == InstanceStatus::kFailed);
    CHECK(c.update.failure == poisoned());
    CHECK_FALSE(c.update.name);
    CHECK_FALSE(c.update.version);
    CHECK(c.work.empty());
    CHECK(c.timers.empty());
    CHECK(plan->orchestration == "Flow");
    CHECK(plan->status == InstanceStatus::kFailed);
    CHECK(plan->finished);
    CHECK_FALSE(plan->started);
    const auto& report = report_to(*plan, "parent");
    CHECK(report.execution == 3);
    CHECK(report.scheduled_id == 9);
    CHECK(report.failure == poisoned());
    CHECK(report.output.empty());
  }

  TEST_CASE("a new instance starts from its Start message and fails at once") {
    Registry registry;
    registry.add(Orchestration<int, int>{"Order", 4},
                 [](OrchestrationContext&, int) -> Task<int> { co_return 0; });
    message::Start start;
    start.name = "Order";
    start.version = 0;  // the latest registered: 4
    start.input = encode(7);
    start.parent = ParentLink{"parent", 1, 2};
    std::vector<InboxEntry> inbox = {InboxEntry{3, kNow, start}};
    auto plan = plan_turn_without_code(lock_of("i"), instance(InstanceStatus::kPending, 0), {},
                                       inbox, {}, poisoned(), registry, kNow);
    REQUIRE(plan);
    const auto& c = plan->commit;
    CHECK(c.execution == 1);
    REQUIRE(c.events.size() == 2);
    CHECK(c.events[0] == HistoryEvent{1, kNow,
                                      event::ExecutionStarted{
                                          "Order", 4, encode(7), ParentLink{"parent", 1, 2}, {}}});
    CHECK(c.events[1] == HistoryEvent{2, kNow, event::ExecutionFailed{poisoned()}});
    CHECK(c.consumed == std::vector<std::uint64_t>{3});
    CHECK(c.update.name == "Order");
    CHECK(c.update.version == 4u);
    CHECK(c.update.status == InstanceStatus::kFailed);
    CHECK(c.update.failure == poisoned());
    CHECK(plan->orchestration == "Order");
    CHECK(plan->started);
    CHECK(plan->finished);
    const auto& report = report_to(*plan, "parent");
    CHECK(report.execution == 1);
    CHECK(report.scheduled_id == 2);
    CHECK(report.failure == poisoned());
  }

  TEST_CASE("after continue-as-new the next execution starts from its Start and fails") {
    Registry registry;
    message::Start next;
    next.execution = 2;
    next.name = "Flow";
    next.version = 2;
    std::vector<InboxEntry> inbox = {InboxEntry{20, kNow, next}};
    std::vector<ExecutionInfo> executions = {execution(1, 9, InstanceStatus::kRunning, true)};
    auto plan = plan_turn_without_code(lock_of("i"), instance(InstanceStatus::kRunning, 1),
                                       executions, inbox, {}, poisoned(), registry, kNow);
    REQUIRE(plan);
    CHECK(plan->commit.execution == 2);
    REQUIRE(plan->commit.events.size() == 2);
    CHECK(plan->commit.events[0].kind() == EventKind::kExecutionStarted);
    CHECK(plan->commit.events[1] == HistoryEvent{2, kNow, event::ExecutionFailed{poisoned()}});
    CHECK_FALSE(plan->started);  // not the instance's first execution
    CHECK(plan->finished);
    CHECK(plan->commit.outbound.empty());  // no parent
  }

  TEST_CASE("a finished instance only has its messages consumed") {
    Registry registry;
    std::vector<InboxEntry> inbox = {InboxEntry{5, kNow, message::Event{"Late", encode(1)}}};
    std::vector<MemoryMessage> memory = {
        {message::ActivityResult{1, 2, encode(1), std::nullopt}, WorkLease{41}, std::nullopt}};
    auto plan = plan_turn_without_code(
        lock_of("i"), instance(InstanceStatus::kCompleted, 1, ParentLink{"p", 1, 2}),
        {execution(1, 4, InstanceStatus::kCompleted)}, inbox, memory, poisoned(), registry, kNow);
    REQUIRE(plan);
    const auto& c = plan->commit;
    CHECK(c.execution == 1);
    CHECK(c.events.empty());
    CHECK(c.consumed == std::vector<std::uint64_t>{5});
    CHECK(c.finished_work == std::vector<std::uint64_t>{41});
    CHECK_FALSE(c.update.status);
    CHECK_FALSE(c.update.failure);
    CHECK(c.outbound.empty());
    CHECK(plan->status == InstanceStatus::kCompleted);
    CHECK_FALSE(plan->finished);
  }

  TEST_CASE("nothing to commit without a running execution or a Start message") {
    Registry registry;
    std::vector<InboxEntry> inbox = {InboxEntry{5, kNow, message::Event{"Early", encode(1)}}};
    CHECK_FALSE(plan_turn_without_code(lock_of("i"), instance(InstanceStatus::kPending, 0), {},
                                       inbox, {}, poisoned(), registry, kNow));
    CHECK_FALSE(plan_turn_without_code(lock_of("i"), instance(InstanceStatus::kCompleted, 0), {},
                                       inbox, {}, poisoned(), registry, kNow));
  }
}

}  // namespace duractor
