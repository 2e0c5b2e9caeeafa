// Store conformance: rewinding a failed instance (its history cut back to before the
// failure, the work the kept history waits for created again, failed children rewound with
// it) and forking an execution's first events into a new instance — and that every refusal
// changes nothing. Part of the suite run for every store.

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: rewind and fork") {
  const FailureDetails kDeclined{ErrorCategory::kApplication, "std::runtime_error",
                                 "card declined"};

  std::vector<HistoryEvent> first(const std::vector<HistoryEvent>& events, std::size_t n) {
    return {events.begin(), events.begin() + static_cast<std::ptrdiff_t>(n)};
  }

  // Ends the execution of `id` failed with `failure`, appending `events` before the
  // ExecutionFailed (ids from `next`).
  void fail_instance(StoreFixture & f, const InstanceLock& lock, EventId next,
                     std::vector<EventBody> events, const FailureDetails& failure,
                     std::vector<std::uint64_t> finished_work = {}) {
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    auto now = f.clock.now();
    for (auto& body : events) t.events.push_back(ev(next++, now, std::move(body)));
    t.events.push_back(ev(next, now, event::ExecutionFailed{failure}));
    t.finished_work = std::move(finished_work);
    t.update.status = InstanceStatus::kFailed;
    t.update.failure = failure;
    REQUIRE_OK(f.store().commit_turn(t));
  }

  // "order": schedules Reserve and Charge, a timer, subscribes to "prices" and sets a custom
  // status; then Reserve completes, Charge fails, the code sets another custom status and
  // fails with Charge's failure (10 events).
  std::uint64_t make_failed_order(StoreFixture & f) {
    auto& s = f.store();
    auto lock = create_started(f, "order");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    auto now = f.clock.now();
    t.events = {ev(2, now, event::ActivityScheduled{"Reserve", encode(1), 1}),
                ev(3, now, event::ActivityScheduled{"Charge", encode(2), 1}),
                ev(4, now, event::TimerCreated{now + 1h}),
                ev(5, now, event::TopicSubscribed{"prices"}),
                ev(6, now, event::CustomStatusSet{"charging"})};
    t.work = {NewWorkItem{2, "Reserve", encode(1), 1}, NewWorkItem{3, "Charge", encode(2), 1}};
    t.timers = {NewTimer{4, now + 1h}};
    t.subscribe = {"prices"};
    t.update.custom_status = "charging";
    auto committed = s.commit_turn(t);
    REQUIRE_OK(committed);
    f.clock.advance(1s);
    fail_instance(f, lock, 7,
                  {event::ActivityCompleted{2, encode(std::string("reserved"))},
                   event::ActivityFailed{3, kDeclined}, event::CustomStatusSet{"failing"}},
                  kDeclined, {committed->work[0].id});
    s.unlock_instance(lock);
    return committed->work[1].id;
  }

  TEST_CASE("a rewind cuts before the failed activity and creates its work and timers again") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_failed_order(*f);
    auto before = s.read_history("order", 1);
    REQUIRE_OK(before);
    REQUIRE(before->size() == 10);
    REQUIRE(s.list_work(0, 0)->empty());  // the failed execution's work and timers went
    REQUIRE(s.due_timers(TimePoint::max(), 0)->empty());
    REQUIRE(s.subscriptions("order")->empty());

    f->clock.advance(1s);
    auto rewound = s.rewind_instance("order");
    REQUIRE_OK(rewound);
    CHECK(rewound->execution == 1);
    CHECK(rewound->kept == 7);  // up to Reserve's completion; Charge's failure and on go
    CHECK(rewound->dropped == 3);
    CHECK(rewound->rewound == std::vector<InstanceId>{"order"});
    CHECK(rewound->woken.empty());  // nothing to deliver again
    REQUIRE(rewound->work.size() == 1);
    CHECK(rewound->work[0].activity == "Charge");
    CHECK(rewound->work[0].scheduled_id == 3);
    REQUIRE(rewound->timers.size() == 1);
    CHECK(rewound->timers[0].scheduled_id == 4);

    for (int pass = 0; pass < 2; ++pass) {
      CAPTURE(pass);  // and after reopening: durable
      auto& now = f->store();
      auto info = now.read_instance("order");
      REQUIRE_OK(info);
      CHECK(info->status == InstanceStatus::kRunning);
      CHECK_FALSE(info->failure);
      CHECK_FALSE(info->completed_at);
      CHECK(info->custom_status == "charging");  // as the kept history left it
      CHECK(info->execution == 1);
      CHECK(*now.read_history("order", 1) == first(*before, 7));
      CHECK(now.read_latest_history("order")->events == first(*before, 7));
      auto work = now.list_work(0, 0);
      REQUIRE_OK(work);
      REQUIRE(work->size() == 1);
      CHECK((*work)[0] == rewound->work[0]);
      CHECK((*work)[0].execution == 1);
      CHECK((*work)[0].input == encode(2));
      CHECK((*work)[0].deliveries == 0);
      CHECK(*now.due_timers(TimePoint::max(), 0) == rewound->timers);
      CHECK(*now.subscriptions("order") == std::vector<std::string>{"prices"});
      CHECK(now.read_inbox("order")->empty());
      f->reopen();
    }

    // The history goes on from the cut: Charge's result is the next event.
    auto& s2 = f->store();
    TurnCommit next;
    next.lock = take_lock(s2, "order");
    next.execution = 1;
    next.events = {ev(8, f->clock.now(), event::ActivityCompleted{3, encode(3)}),
                   ev(9, f->clock.now(), event::ExecutionCompleted{encode(4)})};
    next.finished_work = {rewound->work[0].id};
    next.update.status = InstanceStatus::kCompleted;
    next.update.output = encode(4);
    REQUIRE_OK(s2.commit_turn(next));
    CHECK(s2.read_instance("order")->status == InstanceStatus::kCompleted);
    CHECK(s2.read_history("order", 1)->size() == 9);
  }

  TEST_CASE(
      "without a failed operation, a rewind delivers the last event that woke the code again") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "parse");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, f->clock.now(), event::ActivityScheduled{"Fetch", encode(1), 1})};
    t.work = {NewWorkItem{2, "Fetch", encode(1), 1}};
    auto committed = s.commit_turn(t);
    REQUIRE_OK(committed);
    // Fetch succeeds, the code throws on its output (its own failure, no failed operation).
    const FailureDetails bug{ErrorCategory::kApplication, "std::logic_error", "bad output"};
    fail_instance(*f, lock, 3, {event::ActivityCompleted{2, encode(std::string("<html>"))}}, bug,
                  {committed->work[0].id});
    s.unlock_instance(lock);

    auto rewound = s.rewind_instance("parse");
    REQUIRE_OK(rewound);
    CHECK(rewound->kept == 2);
    CHECK(rewound->dropped == 2);
    CHECK(rewound->work.empty());  // Fetch succeeded: its result is delivered, not re-run
    CHECK(rewound->woken == std::vector<InstanceId>{"parse"});
    auto inbox = s.read_inbox("parse");
    REQUIRE_OK(inbox);
    REQUIRE(inbox->size() == 1);
    CHECK(inbox->front().message ==
          InboxMessage{message::ActivityResult{1, 2, encode(std::string("<html>")), std::nullopt}});
    CHECK(s.read_instance("parse")->status == InstanceStatus::kRunning);
  }

  TEST_CASE(
      "a rewind runs a failed child again with its parent and delivers a finished child's "
      "result") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "parent");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    auto now = f->clock.now();
    t.events = {ev(2, now, event::SubOrchestrationScheduled{"Child", 1, "kid", encode(1), false}),
                ev(3, now, event::SubOrchestrationScheduled{"Child", 1, "kid2", encode(2), false})};
    t.outbound = {OutboundMessage{
                      "kid", message::Start{1, "Child", 1, encode(1), ParentLink{"parent", 1, 2}}},
                  OutboundMessage{"kid2", message::Start{1, "Child", 1, encode(2),
                                                         ParentLink{"parent", 1, 3}}}};
    REQUIRE_OK(s.commit_turn(t));
    // kid fails at once; the parent takes its failure and fails. kid2 completes after that:
    // its result waits in the parent's inbox, never taken.
    for (const char* kid : {"kid", "kid2"}) {
      auto start = first_turn(*f, kid);
      bool fails = std::string(kid) == "kid";
      start.events.push_back(ev(2, now,
                                fails ? EventBody{event::ExecutionFailed{kDeclined}}
                                      : EventBody{event::ExecutionCompleted{encode(9)}}));
      start.update.status = fails ? InstanceStatus::kFailed : InstanceStatus::kCompleted;
      if (fails) {
        start.update.failure = kDeclined;
      } else {
        start.update.output = encode(9);
      }
      message::ChildResult report{1, fails ? 2u : 3u, fails ? Bytes{} : encode(9), std::nullopt};
      if (fails) report.failure = kDeclined;
      if (fails) start.outbound = {OutboundMessage{"parent", report}};
      REQUIRE_OK(s.commit_turn(start));
      s.unlock_instance(start.lock);
      if (!fails) REQUIRE_OK(s.enqueue("parent", report));
    }
    auto inbox = s.read_inbox("parent");
    REQUIRE_OK(inbox);
    REQUIRE(inbox->size() == 2);
    TurnCommit taken;
    taken.lock = lock;
    taken.execution = 1;
    taken.events = {ev(4, now, event::SubOrchestrationFailed{2, kDeclined}),
                    ev(5, now, event::ExecutionFailed{kDeclined})};
    taken.consumed = {inbox->front().seq};
    taken.update.status = InstanceStatus::kFailed;
    taken.update.failure = kDeclined;
    REQUIRE_OK(s.commit_turn(taken));
    s.unlock_instance(lock);

    auto rewound = s.rewind_instance("parent");
    REQUIRE_OK(rewound);
    CHECK(rewound->kept == 3);
    CHECK(rewound->rewound == std::vector<InstanceId>{"kid", "parent"});
    CHECK(rewound->woken == std::vector<InstanceId>{"kid", "parent"});
    // kid failed before anything woke it but its start: back to before its execution, its
    // Start (with the link to the parent) waiting again.
    auto kid = s.read_instance("kid");
    REQUIRE_OK(kid);
    CHECK(kid->status == InstanceStatus::kPending);
    CHECK(kid->execution == 0);
    CHECK(s.read_latest_history("kid")->events.empty());
    auto kid_inbox = s.read_inbox("kid");
    REQUIRE(kid_inbox->size() == 1);
    CHECK(kid_inbox->front().message ==
          InboxMessage{message::Start{1, "Child", 1, encode(1), ParentLink{"parent", 1, 2}}});
    // The parent: kid2's result once (the stale copy dropped, delivered again from kid2).
    auto parent_inbox = s.read_inbox("parent");
    REQUIRE_OK(parent_inbox);
    REQUIRE(parent_inbox->size() == 1);
    CHECK(parent_inbox->front().message ==
          InboxMessage{message::ChildResult{1, 3, encode(9), std::nullopt}});
    CHECK(s.read_instance("parent")->status == InstanceStatus::kRunning);
    CHECK(s.read_instance("kid2")->status == InstanceStatus::kCompleted);  // untouched
    // kid starts again.
    REQUIRE_OK(s.commit_turn(first_turn(*f, "kid")));
  }

  TEST_CASE(
      "a rewind is refused, changing nothing, unless the instance failed and can fail "
      "differently") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_failed_order(*f);  // rewindable, as a bystander
    auto running = create_started(*f, "running");
    s.unlock_instance(running);
    auto done = create_started(*f, "done");
    TurnCommit end;
    end.lock = done;
    end.execution = 1;
    end.events = {ev(2, f->clock.now(), event::ExecutionCompleted{encode(1)})};
    end.update.status = InstanceStatus::kCompleted;
    REQUIRE_OK(s.commit_turn(end));
    for (auto [id, type] : {std::pair{"diverged", "duractor::Nondeterminism"},
                            {"poisoned", "duractor::TurnPoisoned"},
                            {"poisoned-activity", "duractor::ActivityPoisoned"}}) {
      auto lock = create_started(*f, id);
      fail_instance(*f, lock, 2, {}, FailureDetails{ErrorCategory::kConfiguration, type, "x"});
    }
    REQUIRE_OK(s.create_instance(new_instance("pending")));

    auto before = snapshot(s);
    struct Case {
      InstanceId id;
      ErrorCode code;
      std::string says;
    };
    for (const auto& c : std::vector<Case>{
             {"nobody", ErrorCode::kNotFound, "no instance 'nobody'"},
             {"running", ErrorCode::kFailedPrecondition,
              "cannot rewind instance 'running': it is running; only a failed instance can be "
              "rewound"},
             {"done", ErrorCode::kFailedPrecondition, "it is completed"},
             {"pending", ErrorCode::kFailedPrecondition, "it is pending"},
             {"diverged", ErrorCode::kFailedPrecondition, "it failed from nondeterminism"},
             {"poisoned", ErrorCode::kFailedPrecondition, "it failed from poison"},
             {"poisoned-activity", ErrorCode::kFailedPrecondition, "it failed from poison"}}) {
      CAPTURE(c.id);
      auto refused = s.rewind_instance(c.id);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == c.code);
      CHECK(refused.error().message.find(c.says) != std::string::npos);
      CHECK(snapshot(s) == before);
    }
  }

  TEST_CASE(
      "a rewind is refused, changing nothing, when a child the kept history waits for cannot "
      "run on") {
    // "parent" schedules Charge and starts child "kid"; Charge fails and the parent fails
    // with it, so the rewind keeps the child's start and needs "kid" to run on. Each case
    // leaves "kid" in a state it cannot run on from.
    struct Case {
      std::string kid;  // cancelled, terminated, deleted, taken
      std::string says;
    };
    for (const auto& c : std::vector<Case>{
             {"cancelled",
              "cannot rewind instance 'parent': sub-orchestration 'Child' (instance 'kid', event "
              "3) was cancelled, and a rewind does not restart a cancelled child"},
             {"terminated", "(instance 'kid', event 3) was terminated"},
             {"deleted",
              "(instance 'kid', event 3) would have to run again, but that instance no "
              "longer exists"},
             {"taken",
              "but that instance is not this execution's child (the id was taken when it "
              "was started)"}}) {
      CAPTURE(c.kid);
      auto f = make_store_fixture();
      auto& s = f->store();
      if (c.kid == "taken") REQUIRE_OK(s.create_instance(new_instance("kid", "Other")));
      auto lock = create_started(*f, "parent");
      TurnCommit t;
      t.lock = lock;
      t.execution = 1;
      auto now = f->clock.now();
      t.events = {
          ev(2, now, event::ActivityScheduled{"Charge", encode(2), 1}),
          ev(3, now, event::SubOrchestrationScheduled{"Child", 1, "kid", encode(1), false})};
      t.work = {NewWorkItem{2, "Charge", encode(2), 1}};
      if (c.kid != "taken") {
        t.outbound = {OutboundMessage{
            "kid", message::Start{1, "Child", 1, encode(1), ParentLink{"parent", 1, 3}}}};
      }
      auto committed = s.commit_turn(t);
      REQUIRE_OK(committed);
      fail_instance(*f, lock, 4, {event::ActivityFailed{2, kDeclined}}, kDeclined,
                    {committed->work[0].id});
      s.unlock_instance(lock);
      if (c.kid == "cancelled" || c.kid == "terminated") {
        auto end = first_turn(*f, "kid");
        end.events.push_back(ev(2, now, event::ExecutionCancelled{"stop"}));
        end.update.status =
            c.kid == "cancelled" ? InstanceStatus::kCancelled : InstanceStatus::kTerminated;
        REQUIRE_OK(s.commit_turn(end));
        s.unlock_instance(end.lock);
      } else if (c.kid == "deleted") {
        REQUIRE_OK(s.delete_instance("kid", DeleteOptions{.cascade = true, .force = true}));
      }

      auto before = snapshot(s);
      auto refused = s.rewind_instance("parent");
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == ErrorCode::kFailedPrecondition);
      CHECK_MESSAGE(refused.error().message.find(c.says) != std::string::npos,
                    refused.error().message);
      CHECK(snapshot(s) == before);
    }
  }

  // "src": starts a child (default id), schedules activity A and a timer; the child
  // completes, A completes, the code schedules D; D completes and the execution completes
  // (9 events).
  void make_source(StoreFixture & f) {
    auto& s = f.store();
    auto lock = create_started(f, "src");
    auto now = f.clock.now();
    auto turn = [&](std::vector<HistoryEvent> events, InstanceStatus status) {
      TurnCommit t;
      t.lock = lock;
      t.execution = 1;
      t.events = std::move(events);
      t.update.status = status;
      REQUIRE_OK(s.commit_turn(t));
    };
    turn({ev(2, now, event::ActivityScheduled{"A", encode(1), 1}),
          ev(3, now, event::TimerCreated{now + 1h}),
          ev(4, now, event::SubOrchestrationScheduled{"Child", 1, "src:1:1", encode(5), false})},
         InstanceStatus::kRunning);
    turn({ev(5, now, event::SubOrchestrationCompleted{4, encode(6)}),
          ev(6, now, event::ActivityCompleted{2, encode(2)}),
          ev(7, now, event::ActivityScheduled{"D", encode(3), 1})},
         InstanceStatus::kRunning);
    turn({ev(8, now, event::ActivityCompleted{7, encode(4)}),
          ev(9, now, event::ExecutionCompleted{encode(5)})},
         InstanceStatus::kCompleted);
    s.unlock_instance(lock);
  }

  TEST_CASE(
      "a fork copies the first events into a new instance and creates what they leave "
      "outstanding") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_source(*f);
    auto source_before = snapshot(s);
    auto source_events = s.read_history("src", 1);
    REQUIRE_OK(source_events);

    f->clock.advance(1s);
    auto forked = s.fork_instance(ForkRequest{"src", 0, 7, "copy"});
    REQUIRE_OK(forked);
    CHECK(forked->instance == "copy");
    CHECK(forked->origin == ForkOrigin{"src", 1, 7});
    REQUIRE(forked->work.size() == 1);  // D: scheduled at 7, its result after the cut
    CHECK(forked->work[0].activity == "D");
    CHECK(forked->work[0].scheduled_id == 7);
    CHECK(forked->work[0].instance == "copy");
    REQUIRE(forked->timers.size() == 1);  // the timer of event 3 never fired
    CHECK(forked->timers[0].scheduled_id == 3);
    CHECK(forked->timers[0].instance == "copy");

    for (int pass = 0; pass < 2; ++pass) {
      CAPTURE(pass);
      auto& now = f->store();
      auto info = now.read_instance("copy");
      REQUIRE_OK(info);
      CHECK(info->status == InstanceStatus::kRunning);
      CHECK(info->execution == 1);
      CHECK(info->name == "Order");
      CHECK(info->input == encode(1));
      CHECK_FALSE(info->parent);
      REQUIRE(info->forked_from);
      CHECK(*info->forked_from == ForkOrigin{"src", 1, 7});
      auto copied = now.read_history("copy", 1);
      REQUIRE_OK(copied);
      auto expected = first(*source_events, 7);
      // The default child id is made from the fork's id, as the fork's code makes it.
      std::get<event::SubOrchestrationScheduled>(expected[3].body).instance = "copy:1:1";
      CHECK(*copied == expected);
      CHECK(now.export_instance("copy")->info.forked_from == info->forked_from);
      f->reopen();
    }
    // The source is untouched.
    auto after = snapshot(f->store());
    CHECK(after.history["src"] == source_before.history["src"]);
    CHECK(after.executions["src"] == source_before.executions["src"]);
    CHECK(*f->store().read_instance("src") == source_before.instances[0]);
    // The fork's history goes on from the cut.
    auto& s2 = f->store();
    TurnCommit next;
    next.lock = take_lock(s2, "copy");
    next.execution = 1;
    next.events = {ev(8, f->clock.now(), event::ActivityCompleted{7, encode(4)})};
    REQUIRE_OK(s2.commit_turn(next));
  }

  TEST_CASE("a fork's copy names after the fork what the source's code named after itself") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "src");
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    auto now = f->clock.now();
    auto sent = [&](EventId id, const char* to) {
      return ev(id, now, event::EventSent{to, "ping", encode(1)});
    };
    t.events = {sent(2, "src/peer"),
                sent(3, "src"),
                sent(4, "src-2"),
                sent(5, "srcs"),
                sent(6, "other:1:2"),
                sent(7, "src:1:x"),
                ev(8, now, event::ActivityScheduled{"A", encode(1), 1})};
    t.work = {NewWorkItem{8, "A", encode(1), 1}};
    REQUIRE_OK(s.commit_turn(t));
    s.unlock_instance(lock);

    REQUIRE_OK(s.fork_instance(ForkRequest{"src", 0, 8, "copy"}));
    auto copied = s.read_history("copy", 1);
    REQUIRE_OK(copied);
    REQUIRE(copied->size() == 8);
    std::vector<std::string> targets;
    for (EventId i = 1; i < 7; ++i) {
      targets.push_back(std::get<event::EventSent>((*copied)[i].body).instance);
    }
    // Made from the source's id (it, or it and a suffix after a separator) -> from the
    // fork's; another instance's id, or one that only begins with the same letters, stays.
    CHECK(targets ==
          std::vector<std::string>{"copy/peer", "copy", "copy-2", "srcs", "other:1:2", "copy:1:x"});
    auto source = s.read_history("src", 1);
    REQUIRE_OK(source);
    CHECK(std::get<event::EventSent>((*source)[1].body).instance == "src/peer");  // untouched
  }

  TEST_CASE("a child's failure that the parent compensated and let escape is where a rewind cuts") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "saga");
    auto now = f->clock.now();
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, now, event::SubOrchestrationScheduled{"Child", 1, "leg", encode(1), false})};
    t.outbound = {
        OutboundMessage{"leg", message::Start{1, "Child", 1, encode(1), ParentLink{"saga", 1, 2}}}};
    REQUIRE_OK(s.commit_turn(t));
    auto leg = first_turn(*f, "leg");
    leg.events.push_back(ev(2, now, event::ExecutionFailed{kDeclined}));
    leg.update.status = InstanceStatus::kFailed;
    leg.update.failure = kDeclined;
    REQUIRE_OK(s.commit_turn(leg));
    s.unlock_instance(leg.lock);
    // The parent takes the child's failure, compensates with an activity, and rethrows: its
    // failure is the child's with the child in front of its causes, as the runtime records it.
    TurnCommit caught;
    caught.lock = lock;
    caught.execution = 1;
    caught.events = {ev(3, now, event::SubOrchestrationFailed{2, kDeclined}),
                     ev(4, now, event::ActivityScheduled{"Undo", encode(1), 1})};
    caught.work = {NewWorkItem{4, "Undo", encode(1), 1}};
    auto committed = s.commit_turn(caught);
    REQUIRE_OK(committed);
    auto escaped = failure_from_child(kDeclined, "leg", "Child");
    fail_instance(*f, lock, 5, {event::ActivityCompleted{4, encode(Unit{})}}, escaped,
                  {committed->work[0].id});
    s.unlock_instance(lock);

    auto rewound = s.rewind_instance("saga");
    REQUIRE_OK(rewound);
    CHECK(rewound->kept == 2);  // before SubOrchestrationFailed, not before the compensation
    CHECK(rewound->rewound == std::vector<InstanceId>{"leg", "saga"});
  }

  TEST_CASE("a rewound call that timed out runs again with its whole timeout") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "slow");
    auto now = f->clock.now();
    TurnCommit t;
    t.lock = lock;
    t.execution = 1;
    t.events = {ev(2, now, event::ActivityScheduled{"Fetch", encode(1), 1}),
                ev(3, now, event::TimerCreated{now + 10s})};
    t.work = {NewWorkItem{2, "Fetch", encode(1), 1}};
    t.timers = {NewTimer{3, now + 10s}};
    REQUIRE_OK(s.commit_turn(t));
    f->clock.advance(10s);
    const FailureDetails timed_out{.category = ErrorCategory::kApplication,
                                   .type = "duractor::ActivityTimedOut",
                                   .message = "activity 'Fetch' timed out after 10000 ms",
                                   .kind = FailureKind::kTimedOut};
    fail_instance(*f, lock, 4, {event::TimerFired{3, now + 10s}}, timed_out);
    s.unlock_instance(lock);
    f->clock.advance(1h);

    auto rewound = s.rewind_instance("slow");
    REQUIRE_OK(rewound);
    CHECK(rewound->kept == 3);  // before the TimerFired that failed the call
    // The call runs again, and its timeout starts over: 10 s from the rewind, not due at
    // once, and the fired timer is not delivered again.
    REQUIRE(rewound->work.size() == 1);
    CHECK(rewound->work[0].activity == "Fetch");
    REQUIRE(rewound->timers.size() == 1);
    auto timer = s.next_timer();
    REQUIRE_OK(timer);
    REQUIRE(timer->has_value());
    CHECK((*timer)->key.fire_at == f->clock.now() + 10s);
    CHECK(s.read_inbox("slow")->empty());
  }

  TEST_CASE("a fork is refused, changing nothing, for a bad step, target or source") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_source(*f);
    auto before = snapshot(s);
    struct Case {
      ForkRequest request;
      ErrorCode code;
      std::string says;
    };
    for (const auto& c : std::vector<Case>{
             {{"src", 0, 0, "copy"},
              ErrorCode::kInvalidArgument,
              "cannot fork instance 'src' at step 0 of execution 1: the execution has 9 events "
              "(steps 1..9)"},
             {{"src", 0, 10, "copy"}, ErrorCode::kInvalidArgument, "has 9 events (steps 1..9)"},
             {{"src", 0, 9, "copy"},
              ErrorCode::kInvalidArgument,
              "event 9 (ExecutionCompleted) ends the execution"},
             {{"src", 0, 6, "copy"},
              ErrorCode::kInvalidArgument,
              "it cuts inside one step of the code: events 7..7 were recorded together, in "
              "response to event 6 (ActivityCompleted); fork at 5 or 7 instead"},
             {{"src", 0, 1, "copy"}, ErrorCode::kInvalidArgument, "fork at 4 instead"},
             {{"src", 0, 4, "copy"},
              ErrorCode::kInvalidArgument,
              "sub-orchestration 'Child' (instance 'src:1:1', event 4) would be outstanding"},
             {{"src", 2, 4, "copy"}, ErrorCode::kNotFound, "has no execution 2"},
             {{"nobody", 0, 1, "copy"}, ErrorCode::kNotFound, "no instance 'nobody'"},
             {{"src", 0, 7, "src"},
              ErrorCode::kAlreadyExists,
              "cannot fork into instance 'src': it already exists"},
             {{"src", 0, 7, ""},
              ErrorCode::kInvalidArgument,
              "the new instance's id is invalid: instance id is empty"}}) {
      CAPTURE(c.request.at);
      CAPTURE(c.request.target);
      auto refused = s.fork_instance(c.request);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == c.code);
      CHECK_MESSAGE(refused.error().message.find(c.says) != std::string::npos,
                    refused.error().message);
      CHECK(snapshot(s) == before);
    }
  }
}

}  // namespace duractor::testing
