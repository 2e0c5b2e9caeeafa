// Replay-check: recorded histories replayed against changed code give a verdict per
// instance that names the position, what history recorded and what the code does now.
// The histories are recorded by the real replay engine (EngineHarness), so they are what
// the runtime writes.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "duractor/ops/replay_check.h"
#include "tests/support/engine_harness.h"

namespace duractor {
namespace {

using testing::EngineHarness;

const Activity<int, int> Reserve{"reserve"};
const Activity<int, int> Charge{"charge"};
const Activity<int, int> Ship{"ship"};
const Activity<int, int> Bill{"bill"};
const Activity<int, int> Notify{"notify"};
const Activity<int, std::string> ReserveText{"reserve"};  // reserve, read as text
const Orchestration<int, int> Order{"Order", 1};

// The code in production: reserve, charge, ship, and the sum.
Task<int> order(OrchestrationContext& ctx, int n) {
  int a = co_await ctx.call(Reserve, n);
  int b = co_await ctx.call(Charge, n);
  int c = co_await ctx.call(Ship, n);
  co_return a + b + c;
}

using Code = Task<int> (*)(OrchestrationContext&, int);

// The image of one instance whose history `order` recorded: `steps` activities completed
// (3: the instance completed).
InstanceImage recorded_order(int steps = 3, const InstanceId& id = "order-1") {
  Registry r;
  r.add(Order, order);
  EngineHarness h(r, id);
  h.start("Order", encode(1));
  h.turn();
  const char* names[] = {"reserve", "charge", "ship"};
  for (int i = 0; i < steps; ++i) {
    h.complete(h.activity(names[i]), encode(i + 1));
    h.turn();
  }
  InstanceImage image;
  image.info.id = id;
  image.info.name = "Order";
  image.info.version = 1;
  image.info.execution = 1;
  image.executions.push_back(ExecutionImage{ExecutionInfo{1, 1}, h.history()});
  return image;
}

InstanceReplay check_against(Code code, const InstanceImage& image) {
  Registry r;
  r.add(Order, code);
  return replay_check(r, image);
}

const ExecutionReplay& only_execution(const InstanceReplay& r) {
  REQUIRE(r.executions.size() == 1);
  return r.executions.front();
}

// Counts to 3, one execution per count (continue-as-new), calling `tick` in each.
const Orchestration<int, int> Counter{"Counter", 1};
const Activity<int, int> Tick{"tick"};
const Activity<int, int> Tock{"tock"};
Task<int> counter(OrchestrationContext& ctx, int n) {
  co_await ctx.call(Tick, n);
  if (n < 3) co_await ctx.continue_as_new(n + 1);
  co_return n;
}

InstanceImage recorded_counter() {
  Registry r;
  r.add(Counter, counter);
  EngineHarness h(r, "counter-1");
  h.start("Counter", encode(1));
  for (int execution = 1; execution <= 3; ++execution) {
    h.turn();
    h.complete(h.activity("tick"), encode(0));
    h.turn();
  }
  REQUIRE(h.output<int>() == 3);
  InstanceImage image;
  image.info.id = "counter-1";
  image.info.name = "Counter";
  image.info.version = 1;
  image.info.execution = 3;
  ExecutionId x = 1;
  for (const auto& history : h.finished_histories()) {
    image.executions.push_back(ExecutionImage{ExecutionInfo{x++, 1}, history});
  }
  image.executions.push_back(ExecutionImage{ExecutionInfo{x, 1}, h.history()});
  REQUIRE(image.executions.size() == 3);
  return image;
}

}  // namespace

TEST_SUITE("replay check") {
  TEST_CASE("the unchanged code replays completed and running histories: ok") {
    auto done = check_against(order, recorded_order());
    CHECK(done.verdict == ReplayVerdict::kOk);
    CHECK(done.ok());
    CHECK(done.message.empty());
    CHECK(only_execution(done).state == "completed");
    CHECK(only_execution(done).events == 8);
    // Still running, the code waiting on charge: ok too (the code wants more than was
    // recorded, but only once charge completes).
    auto running = check_against(order, recorded_order(1));
    CHECK(running.verdict == ReplayVerdict::kOk);
    CHECK(only_execution(running).state == "running");
  }

  TEST_CASE("a changed activity name is nondeterministic at its event, both named") {
    auto r = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n);
          int b = co_await ctx.call(Bill, n);
          int c = co_await ctx.call(Ship, n);
          co_return a + b + c;
        },
        recorded_order());
    CHECK(r.verdict == ReplayVerdict::kNondeterministic);
    const auto& x = only_execution(r);
    CHECK(x.event == 4);
    CHECK(x.recorded == "ActivityScheduled 'charge'");
    CHECK(x.code == "schedules activity 'bill'");
    CHECK(x.message ==
          "event 4: recorded ActivityScheduled 'charge', the code now schedules activity 'bill'");
    CHECK(r.message == "execution 1, " + x.message);
  }

  TEST_CASE("a changed order is nondeterministic at the first difference") {
    auto r = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int b = co_await ctx.call(Charge, n);
          int a = co_await ctx.call(Reserve, n);
          int c = co_await ctx.call(Ship, n);
          co_return a + b + c;
        },
        recorded_order());
    CHECK(r.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(r).message ==
          "event 2: recorded ActivityScheduled 'reserve', the code now schedules activity "
          "'charge'");
  }

  TEST_CASE("a changed input of the same activity names both inputs") {
    auto r = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n + 40);
          int b = co_await ctx.call(Charge, n);
          int c = co_await ctx.call(Ship, n);
          co_return a + b + c;
        },
        recorded_order());
    CHECK(r.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(r).message ==
          "event 2: recorded ActivityScheduled 'reserve' with input 1, the code now schedules "
          "activity 'reserve' with input 41");
  }

  TEST_CASE("a removed step is nondeterministic where the history has it") {
    // The last step removed: the code completes where history scheduled ship.
    auto last = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n);
          int b = co_await ctx.call(Charge, n);
          co_return a + b;
        },
        recorded_order());
    CHECK(last.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(last).message ==
          "event 6: recorded ActivityScheduled 'ship', the code now completes with output 3");
    // A step removed on a running instance, the code waiting where history goes on.
    auto waiting = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n);
          co_await ctx.wait_event<int>("go");
          co_return a;
        },
        recorded_order(1));
    CHECK(waiting.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(waiting).message ==
          "event 4: recorded ActivityScheduled 'charge', the code is waiting (does nothing "
          "there): a step was removed or moved");
  }

  TEST_CASE("a completed instance whose code now does more, or ends otherwise, is reported") {
    // An extra step at the end.
    auto extra = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n);
          int b = co_await ctx.call(Charge, n);
          int c = co_await ctx.call(Ship, n);
          co_await ctx.call(Notify, n);
          co_return a + b + c;
        },
        recorded_order());
    CHECK(extra.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(extra).message ==
          "event 8: recorded ExecutionCompleted with output 6, the code now schedules activity "
          "'notify'");
    // Another output.
    auto output = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n);
          int b = co_await ctx.call(Charge, n);
          int c = co_await ctx.call(Ship, n);
          co_return a* b* c + 1;
        },
        recorded_order());
    CHECK(output.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(output).message ==
          "event 8: recorded ExecutionCompleted with output 6, the code now completes with "
          "output 7");
    // The code no longer finishes.
    auto waits = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n);
          int b = co_await ctx.call(Charge, n);
          int c = co_await ctx.call(Ship, n);
          co_await ctx.wait_event<int>("go");
          co_return a + b + c;
        },
        recorded_order());
    CHECK(waits.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(waits).event == 8);
    CHECK(only_execution(waits).code == "is waiting (does nothing there)");
  }

  TEST_CASE("a running instance whose code now issues an operation history lacks is reported") {
    // Recorded while the code waited for an event after reserve; the new code charges first.
    // The runtime's reload would fail this instance, so the check must too.
    Registry old;
    old.add(Order, [](OrchestrationContext& ctx, int n) -> Task<int> {
      int a = co_await ctx.call(Reserve, n);
      co_await ctx.wait_event<int>("go");
      co_return a;
    });
    EngineHarness h(old, "order-1");
    h.start("Order", encode(1));
    h.turn();
    h.complete(h.activity("reserve"), encode(1));
    h.turn();
    InstanceImage image;
    image.info.id = "order-1";
    image.executions.push_back(ExecutionImage{ExecutionInfo{1, 1}, h.history()});
    auto r = check_against(
        [](OrchestrationContext& ctx, int n) -> Task<int> {
          int a = co_await ctx.call(Reserve, n);
          int b = co_await ctx.call(Charge, n);
          co_await ctx.wait_event<int>("go");
          co_return a + b;
        },
        image);
    CHECK(r.verdict == ReplayVerdict::kNondeterministic);
    CHECK(only_execution(r).message ==
          "event 4: the history ends at event 3, the code now schedules activity 'charge' (a "
          "step was added)");
  }

  TEST_CASE("a payload the code cannot decode is undecodable, naming which") {
    Registry result;
    result.add(Order, [](OrchestrationContext& ctx, int n) -> Task<int> {
      auto text = co_await ctx.call(ReserveText, n);
      co_return static_cast<int>(text.size());
    });
    auto r = replay_check(result, recorded_order());
    CHECK(r.verdict == ReplayVerdict::kUndecodable);
    const auto& x = only_execution(r);
    CHECK(x.event == 4);
    CHECK(x.code.find("cannot decode the result of activity 'reserve' (#2): payload does not "
                      "decode as std::") == 0);
    CHECK(x.message.find("(the history recorded ActivityScheduled 'charge' there)") !=
          std::string::npos);

    // The orchestration's input.
    const Orchestration<std::string, int> OrderByName{"Order", 1};
    Registry input;
    input.add(OrderByName, [](OrchestrationContext&, std::string) -> Task<int> { co_return 0; });
    auto in = replay_check(input, recorded_order());
    CHECK(in.verdict == ReplayVerdict::kUndecodable);
    CHECK(only_execution(in).event == 2);
    CHECK(only_execution(in).code.find("cannot decode the input of orchestration 'Order'") == 0);
  }

  TEST_CASE("an orchestration the registry lacks, by name or version, is unregistered") {
    Registry none;
    none.add(Reserve, [](ActivityContext&, int n) { return n; });
    auto r = replay_check(none, recorded_order());
    CHECK(r.verdict == ReplayVerdict::kUnregistered);
    CHECK(only_execution(r).message.find("'Order'") != std::string::npos);

    const Orchestration<int, int> OrderV2{"Order", 2};
    Registry v2;
    v2.add(OrderV2, order);
    auto other = replay_check(v2, recorded_order());
    CHECK(other.verdict == ReplayVerdict::kUnregistered);
    CHECK(other.message ==
          "execution 1, orchestration 'Order' version 1 is not registered (registered: 2)");

    // Not started yet: its name is checked all the same.
    InstanceImage pending;
    pending.info.id = "order-2";
    pending.info.name = "Order";
    CHECK(replay_check(none, pending).verdict == ReplayVerdict::kUnregistered);
    Registry ok;
    ok.add(Order, order);
    CHECK(replay_check(ok, pending).verdict == ReplayVerdict::kOk);
  }

  TEST_CASE("every execution of a continue-as-new instance is checked") {
    auto image = recorded_counter();
    Registry same;
    same.add(Counter, counter);
    auto r = replay_check(same, image);
    CHECK(r.verdict == ReplayVerdict::kOk);
    REQUIRE(r.executions.size() == 3);
    CHECK(r.executions[0].state == "continued as new");
    CHECK(r.executions[1].state == "continued as new");
    CHECK(r.executions[2].state == "completed");

    // Changed only in the last execution's path: executions 1 and 2 still replay.
    Registry last;
    last.add(Counter, [](OrchestrationContext& ctx, int n) -> Task<int> {
      co_await ctx.call(n < 3 ? Tick : Tock, n);
      if (n < 3) co_await ctx.continue_as_new(n + 1);
      co_return n;
    });
    auto changed = replay_check(last, image);
    CHECK(changed.verdict == ReplayVerdict::kNondeterministic);
    REQUIRE(changed.executions.size() == 3);
    CHECK(changed.executions[0].verdict == ReplayVerdict::kOk);
    CHECK(changed.executions[1].verdict == ReplayVerdict::kOk);
    CHECK(changed.executions[2].verdict == ReplayVerdict::kNondeterministic);
    CHECK(changed.executions[2].execution == 3);
    CHECK(changed.message ==
          "execution 3, event 2: recorded ActivityScheduled 'tick', the code now schedules "
          "activity 'tock'");
  }

  TEST_CASE("the report renders as text and as JSON, and ok() is false on any problem") {
    Registry r;
    r.add(Order, [](OrchestrationContext& ctx, int n) -> Task<int> {
      int a = co_await ctx.call(Reserve, n);
      int b = co_await ctx.call(Bill, n);
      co_return a + b;
    });
    auto report = replay_check(r, {recorded_order(0, "order-1"), recorded_order(3, "order-2")});
    CHECK_FALSE(report.ok());
    CHECK(report.count(ReplayVerdict::kOk) == 1);
    CHECK(report.count(ReplayVerdict::kNondeterministic) == 1);
    auto text = report.text();
    CHECK(text.find("replay-check: 2 instances, 1 ok, 1 nondeterministic\n") == 0);
    CHECK(text.find("ok               order-1 (Order v1, 1 execution, 2 events, running)") !=
          std::string::npos);
    CHECK(text.find("nondeterministic order-2 (Order v1, 1 execution, 8 events)\n      execution "
                    "1: event 4: recorded ActivityScheduled 'charge', the code now schedules "
                    "activity 'bill'\n") != std::string::npos);
    auto json = nlohmann::json::parse(report.json());
    CHECK(json["ok"] == false);
    CHECK(json["counts"]["nondeterministic"] == 1);
    CHECK(json["results"][1]["instance"] == "order-2");
    CHECK(json["results"][1]["verdict"] == "nondeterministic");
    CHECK(json["results"][1]["executions"][0]["event"] == 4);
    CHECK(json["results"][1]["executions"][0]["recorded"] == "ActivityScheduled 'charge'");
    CHECK(json["results"][1]["executions"][0]["code"] == "schedules activity 'bill'");

    CHECK(replay_check(r, std::vector<InstanceImage>{}).ok());
  }
}

}  // namespace duractor
