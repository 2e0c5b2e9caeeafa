// Suspects: work a previous process was running when it died. They pass one gate one at a
// time — activities and turns alike (actors/detail/suspect_gate.h) — so that a poison
// item's deaths are not counted against other work; a suspect activity that runs longer
// than HostOptions::suspect_solo lets the next one in. The gate itself is tested directly;
// the host's use of it with real child processes killed by SIGKILL (poison_test.cc has the
// case where a poison activity would otherwise use up a bystander turn's deliveries).

#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <spdlog/sinks/null_sink.h>

#include "duractor/actors/detail/suspect_gate.h"
#include "tests/support/child_process.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using detail::SuspectGate;
using Clock = std::chrono::steady_clock;

const int kFirst = 1, kSecond = 2, kThird = 3;  // who enters: any distinct addresses

// ---- the host, in a child process ----

const Activity<std::string, std::string> Hold{"Hold"};
const Orchestration<std::string, std::string> Holder{"Holder", 1};

const testing::LinePipe* g_started = nullptr;  // where Hold reports that it started

Registry make_registry() {
  Registry r;
  r.add(Hold, [](ActivityContext& ctx, std::string what) {
    g_started->write_line("started " + ctx.instance_id());
    // Holds on until cancelled (the host stops) or killed with the process.
    for (auto until = Clock::now() + 60s; Clock::now() < until && !ctx.cancelled();) {
      std::this_thread::sleep_for(10ms);
    }
    return what;
  });
  r.add(Holder, [](OrchestrationContext& ctx, std::string what) -> Task<std::string> {
    co_return co_await ctx.call(Hold, what);
  });
  return r;
}

// One life of the host: starts both instances (idempotently) and runs until killed.
int run_child(const std::string& path, const testing::LinePipe& started, Milliseconds solo) {
  g_started = &started;
  auto registry = make_registry();
  auto o = testing::test_host_options(path);
  o.lmdb.sync = true;
  o.suspect_solo = solo;
  o.logger = spdlog::null_logger_mt("suspect-child-" + std::to_string(::getpid()));
  auto host = Host::start(registry, o);
  if (!host) return 2;
  auto client = (*host)->client();
  for (const char* id : {"a", "b"}) {
    if (!client.start(Holder, id, std::string(id))) return 3;
  }
  std::this_thread::sleep_for(120s);
  return 4;
}

// When each activity started in one life of the host, as the parent saw the lines arrive
// (after the first); the child is then killed.
struct Life {
  std::vector<std::string> who;
  std::vector<Clock::duration> after_first;
};

Life live(const std::string& path, Milliseconds solo, std::chrono::milliseconds wait_for) {
  testing::LinePipe started;
  testing::ChildProcess child([&] { return run_child(path, started, solo); });
  started.close_write_end();
  Life life;
  Clock::time_point first;
  while (life.who.size() < 2) {
    auto line = started.read_line(life.who.empty() ? 60s : wait_for);
    if (!line) break;
    auto now = Clock::now();
    if (life.who.empty()) first = now;
    life.who.push_back(line->substr(line->find(' ') + 1));
    life.after_first.push_back(now - first);
  }
  REQUIRE(child.kill() == 128 + SIGKILL);
  return life;
}

}  // namespace

TEST_SUITE("suspects run one at a time") {
  TEST_CASE("the gate lets one in, queues the rest in order, and passes on when one leaves") {
    SuspectGate gate;
    std::vector<int> went;
    CHECK(gate.enter(&kFirst, [] {}));
    CHECK(gate.enter(&kFirst, [] {}));  // the holder enters again
    CHECK_FALSE(gate.enter(&kSecond, [&] { went.push_back(kSecond); }));
    CHECK_FALSE(gate.enter(&kThird, [&] { went.push_back(kThird); }));
    CHECK(went.empty());
    gate.leave(&kFirst);
    CHECK(went == std::vector<int>{kSecond});
    gate.leave(&kFirst);  // no longer holds it: nothing happens
    CHECK(went == std::vector<int>{kSecond});
    gate.leave(&kSecond);
    CHECK(went == std::vector<int>{kSecond, kThird});
    gate.leave(&kThird);
    CHECK(gate.enter(&kFirst, [] {}));  // free again
  }

  TEST_CASE("one that stops waiting leaves the queue, and the gate skips it") {
    SuspectGate gate;
    std::vector<int> went;
    REQUIRE(gate.enter(&kFirst, [] {}));
    REQUIRE_FALSE(gate.enter(&kSecond, [&] { went.push_back(kSecond); }));
    REQUIRE_FALSE(gate.enter(&kThird, [&] { went.push_back(kThird); }));
    gate.leave(&kSecond);  // it waited; now it does not
    gate.leave(&kFirst);
    CHECK(went == std::vector<int>{kThird});
  }

  TEST_CASE("a thread waits for the gate until it passes to it, or until it gives up") {
    SuspectGate gate;
    REQUIRE(gate.enter(&kFirst, [] {}));
    std::atomic<bool> held{false};
    std::thread waiter([&] {
      held = gate.enter_and_wait(
          &kSecond, [] { return false; }, 10ms);
    });
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(held.load());
    gate.leave(&kFirst);
    waiter.join();
    CHECK(held.load());

    std::atomic<bool> give_up{false};
    std::atomic<int> result{-1};
    std::thread quitter([&] {
      result = gate.enter_and_wait(
                   &kThird, [&] { return give_up.load(); }, 10ms)
                   ? 1
                   : 0;
    });
    std::this_thread::sleep_for(50ms);
    give_up = true;
    quitter.join();
    CHECK(result.load() == 0);
    gate.leave(&kSecond);
    CHECK(gate.enter(&kFirst, [] {}));  // the one that gave up did not take it
  }

  TEST_CASE(
      "two activities a dead process was running run one after the other, the second let in "
      "after suspect_solo") {
    testing::TempDir dir("duractor-suspect");
    auto path = dir.sub("store");
    constexpr Milliseconds kSolo{3000};  // longer than two starts take on a slow machine
    // Two lives that die with both activities running: their deliveries reach 2 (the
    // commit that made each counted one, the restart another), so in the third life both
    // are suspects. Before that they are not, and start together.
    for (int life = 0; life < 2; ++life) {
      CAPTURE(life);
      auto l = live(path, kSolo, 30s);
      REQUIRE(l.who.size() == 2);
      CHECK(l.after_first[1] < kSolo);
    }
    auto third = live(path, kSolo, 30s);
    REQUIRE(third.who.size() == 2);
    CHECK(third.who[0] != third.who[1]);
    CHECK(third.after_first[1] >= kSolo - 100ms);  // alone until then (the watchdog polls)
    CHECK(third.after_first[1] < kSolo + 5s);      // and then no longer holding the other up
  }

  TEST_CASE("a negative suspect_solo is refused") {
    testing::TempDir dir;
    Registry registry;
    auto o = testing::test_host_options(dir.path() + "/store");
    o.suspect_solo = Milliseconds(-1);
    auto host = Host::start(registry, o);
    REQUIRE_FALSE(host);
    CHECK(host.error().code == ErrorCode::kInvalidArgument);
    CHECK(host.error().message.find("suspect_solo") != std::string::npos);
  }
}

}  // namespace duractor
