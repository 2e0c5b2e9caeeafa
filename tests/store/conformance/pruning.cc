// Store conformance: pruning the old executions of an instance that continues as new (keep
// the last N) — what goes, what stays, what the reads say about pruned executions, that an
// export of a pruned instance imports, and that a refused or failed prune changes nothing.
// Part of the suite run for every store.

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: pruning executions") {
  // Creates `id` and runs it through `executions` executions: each of the first
  // executions - 1 sets a custom status and continues as new (3 events); the last one, the
  // current, runs a busy turn (6 events, two activities and a timer pending). The turn lock
  // is released.
  void make_eternal(StoreFixture & f, const InstanceId& id, ExecutionId executions) {
    auto& s = f.store();
    auto lock = create_started(f, id);
    for (ExecutionId x = 1; x < executions; ++x) {
      TurnCommit end;
      end.lock = lock;
      end.execution = x;
      auto now = f.clock.now();
      end.events = {ev(2, now, event::CustomStatusSet{"round " + std::to_string(x)}),
                    ev(3, now, event::ContinuedAsNew{encode(x + 1), 1})};
      end.outbound = {
          OutboundMessage{id, message::Start{x + 1, "Order", 1, encode(x + 1), std::nullopt, {}}}};
      REQUIRE_OK(s.commit_turn(end));
      s.unlock_instance(lock);
      f.clock.advance(1s);
      auto next = first_turn(f, id);
      REQUIRE_OK(s.commit_turn(next));
      lock = next.lock;
    }
    auto busy = busy_turn(f, lock, "nobody");
    busy.execution = executions;
    REQUIRE_OK(s.commit_turn(busy));
    s.unlock_instance(lock);
  }

  std::vector<ExecutionId> numbers(const std::vector<ExecutionInfo>& executions) {
    std::vector<ExecutionId> out;
    for (const auto& x : executions) out.push_back(x.execution);
    return out;
  }

  TEST_CASE("pruning keeps the last executions and removes the older ones' records and history") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_eternal(*f, "eternal", 5);
    REQUIRE_OK(s.enqueue("eternal", message::Event{"Tick", encode(1)}));
    auto before = s.read_executions("eternal");
    REQUIRE_OK(before);
    REQUIRE(numbers(*before) == std::vector<ExecutionId>{1, 2, 3, 4, 5});
    auto kept4 = s.read_history("eternal", 4);
    auto kept5 = s.read_history("eternal", 5);
    auto stats = s.stats();
    REQUIRE_OK(stats);
    auto work = s.list_work(0, 0);
    auto timers = s.due_timers(TimePoint::max(), 0);
    auto inbox = s.read_inbox("eternal");

    auto pruned = s.prune_executions("eternal", 2);
    REQUIRE_OK(pruned);
    CHECK(pruned->executions == 3);
    CHECK(pruned->first_pruned == 1);
    CHECK(pruned->oldest_kept == 4);
    CHECK(pruned->events == 9);  // three executions of 3 events

    for (int pass = 0; pass < 2; ++pass) {
      CAPTURE(pass);  // and again after reopening: the pruning is durable
      auto& now_store = f->store();
      auto after = now_store.read_executions("eternal");
      REQUIRE_OK(after);
      CHECK(numbers(*after) == std::vector<ExecutionId>{4, 5});
      CHECK((*after)[0] == (*before)[3]);
      CHECK((*after)[1] == (*before)[4]);
      for (ExecutionId x : {1u, 2u, 3u}) {
        CAPTURE(x);
        auto gone = now_store.read_history("eternal", x);
        REQUIRE_FALSE(gone);
        CHECK(gone.error().code == ErrorCode::kNotFound);
        CHECK(gone.error().message.find("execution " + std::to_string(x) +
                                        " of instance 'eternal' was pruned") != std::string::npos);
        CHECK(gone.error().message.find("the oldest kept is execution 4") != std::string::npos);
      }
      CHECK(now_store.read_history("eternal", 6).error().code == ErrorCode::kNotFound);
      CHECK(*now_store.read_history("eternal", 4) == *kept4);
      CHECK(*now_store.read_history("eternal", 5) == *kept5);
      CHECK(now_store.read_latest_history("eternal")->events == *kept5);
      // The current execution's pending parts and the inbox are untouched.
      CHECK(*now_store.list_work(0, 0) == *work);
      CHECK(*now_store.due_timers(TimePoint::max(), 0) == *timers);
      CHECK(*now_store.read_inbox("eternal") == *inbox);
      auto now = now_store.stats();
      REQUIRE_OK(now);
      CHECK(now->executions == stats->executions - 3);
      CHECK(now->history_events == stats->history_events - 9);
      f->reopen();
    }
  }

  TEST_CASE("pruning again keeps what is already within the limit, and keep 1 leaves the current") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_eternal(*f, "eternal", 4);
    REQUIRE_OK(s.prune_executions("eternal", 3));
    auto again = s.prune_executions("eternal", 3);
    REQUIRE_OK(again);
    CHECK(again->executions == 0);
    CHECK(again->first_pruned == 0);
    CHECK(again->events == 0);
    CHECK(again->oldest_kept == 2);
    auto more = s.prune_executions("eternal", 10);
    REQUIRE_OK(more);
    CHECK(more->executions == 0);
    CHECK(more->oldest_kept == 2);
    auto last = s.prune_executions("eternal", 1);
    REQUIRE_OK(last);
    CHECK(last->executions == 2);
    CHECK(last->first_pruned == 2);
    CHECK(last->oldest_kept == 4);
    CHECK(numbers(*s.read_executions("eternal")) == std::vector<ExecutionId>{4});
    CHECK(s.read_latest_history("eternal")->events.size() == 6);
  }

  TEST_CASE("an instance that never continued as new, or has not started, has nothing to prune") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto lock = create_started(*f, "once");
    s.unlock_instance(lock);
    REQUIRE_OK(s.create_instance(new_instance("new")));
    auto before = snapshot(s);
    auto once = s.prune_executions("once", 1);
    REQUIRE_OK(once);
    CHECK(once->executions == 0);
    CHECK(once->events == 0);
    CHECK(once->oldest_kept == 1);
    auto fresh = s.prune_executions("new", 1);
    REQUIRE_OK(fresh);
    CHECK(fresh->executions == 0);
    CHECK(fresh->oldest_kept == 0);
    CHECK(snapshot(s) == before);
  }

  TEST_CASE(
      "a prune keeping no execution, or of an unknown instance, is refused and changes nothing") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_eternal(*f, "eternal", 3);
    auto before = snapshot(s);
    auto none = s.prune_executions("eternal", 0);
    REQUIRE_FALSE(none);
    CHECK(none.error().code == ErrorCode::kInvalidArgument);
    CHECK(none.error().message.find("keeping 0 executions") != std::string::npos);
    auto unknown = s.prune_executions("nobody", 2);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::kNotFound);
    CHECK(unknown.error().message.find("'nobody'") != std::string::npos);
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("a prune that fails part way leaves no trace") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_eternal(*f, "eternal", 4);
    auto before = snapshot(s);
    for (std::string failing : {"prune_executions.history", "batch.commit"}) {
      CAPTURE(failing);
      f->faults = [&](std::string_view step) -> Status {
        if (step == failing) return fail(ErrorCode::kIo, "injected fault at " + failing);
        return {};
      };
      auto r = s.prune_executions("eternal", 1);
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("injected fault") != std::string::npos);
      CHECK(snapshot(s) == before);
    }
    f->faults = nullptr;
    REQUIRE_OK(s.prune_executions("eternal", 1));
  }

  TEST_CASE("a pruned instance runs on: its next execution follows the kept ones") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_eternal(*f, "eternal", 3);
    REQUIRE_OK(s.prune_executions("eternal", 1));
    auto lock = take_lock(s, "eternal");
    TurnCommit end;
    end.lock = lock;
    end.execution = 3;
    end.events = {ev(7, f->clock.now(), event::ContinuedAsNew{encode(4), 1})};
    end.outbound = {
        OutboundMessage{"eternal", message::Start{4, "Order", 1, encode(4), std::nullopt, {}}}};
    REQUIRE_OK(s.commit_turn(end));
    s.unlock_instance(lock);
    auto next = first_turn(*f, "eternal");
    REQUIRE_OK(s.commit_turn(next));
    s.unlock_instance(next.lock);
    auto executions = s.read_executions("eternal");
    REQUIRE_OK(executions);
    CHECK(numbers(*executions) == std::vector<ExecutionId>{3, 4});
    CHECK((*executions)[0].continued_as_new);
    CHECK((*executions)[0].event_count == 7);
    auto pruned = s.prune_executions("eternal", 1);
    REQUIRE_OK(pruned);
    CHECK(pruned->first_pruned == 3);
    CHECK(pruned->events == 7);
  }

  TEST_CASE("an export of a pruned instance holds the kept executions and imports") {
    auto f = make_store_fixture();
    auto& s = f->store();
    make_eternal(*f, "eternal", 5);
    REQUIRE_OK(s.prune_executions("eternal", 2));
    auto image = s.export_instance("eternal");
    REQUIRE_OK(image);
    REQUIRE(image->executions.size() == 2);
    CHECK(image->executions[0].info.execution == 4);
    CHECK(image->executions[1].info.execution == 5);
    auto copy = *image;
    copy.info.id = "copy";
    auto imported = s.import_instance(copy);
    REQUIRE_OK(imported);
    CHECK(*imported == 9);
    CHECK(*s.read_executions("copy") == *s.read_executions("eternal"));
    CHECK(*s.read_history("copy", 4) == *s.read_history("eternal", 4));
    CHECK(s.read_history("copy", 3).error().message.find("was pruned") != std::string::npos);
    // The copy prunes like the original.
    auto pruned = s.prune_executions("copy", 1);
    REQUIRE_OK(pruned);
    CHECK(pruned->first_pruned == 4);
    CHECK(pruned->oldest_kept == 5);

    SUBCASE("an image with a gap between its executions is refused") {
      auto gap = *image;
      gap.info.id = "gap";
      gap.executions.erase(gap.executions.begin());  // 5 alone: fine, as pruned to 1
      REQUIRE_OK(s.import_instance(gap));
      auto holed = s.export_instance("eternal");
      REQUIRE_OK(holed);
      holed->info.id = "holed";
      holed->executions[0].info.execution = 3;  // 3, 5: execution 4 is missing
      auto r = s.import_instance(*holed);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kInvalidArgument);
      CHECK(r.error().message.find("execution 4 is numbered 3") != std::string::npos);
      CHECK(s.read_instance("holed").error().code == ErrorCode::kNotFound);
    }
  }
}

}  // namespace duractor::testing
