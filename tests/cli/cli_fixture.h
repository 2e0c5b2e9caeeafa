#pragma once
// What the CLI tests run and inspect: orchestrations that wait for events the CLI raises
// (typed: an int, a struct packed as an array, a struct packed as a map), one with a
// sub-orchestration, one with a long activity, one that continues as new; a host on a
// fresh store whose log the tests can read; and the binary runner (cli_runner.h).

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>

#include "tests/cli/cli_runner.h"
#include "tests/support/host_fixture.h"

namespace duractor::testing {

// Packed as an array (MSGPACK_DEFINE): raised from the CLI as a JSON array.
struct Decision {
  std::string by;
  int level = 0;
  MSGPACK_DEFINE(by, level)
};

// Packed as a map (MSGPACK_DEFINE_MAP): raised from the CLI as a JSON object.
struct Ticket {
  std::string title;
  int priority = 0;
  MSGPACK_DEFINE_MAP(title, priority)
};

inline const Activity<std::string, std::string> Greet{"Greet"};
inline const Activity<int, int> Block{"Block"};  // runs until cancelled
// Greets, sets a custom status, completes.
inline const Orchestration<std::string, std::string> Hello{"Hello", 1};
// Waits for "Approval" (an int) and returns input + approval.
inline const Orchestration<int, int> Approve{"Approve", 1};
// Waits for "Decision" (a Decision) and returns "by:level".
inline const Orchestration<int, std::string> Decide{"Decide", 1};
// Waits for "Ticket" (a Ticket) and returns "title/priority".
inline const Orchestration<int, std::string> File{"File", 1};
// Runs Approve as sub-orchestration "<its id>-kid" and returns its result.
inline const Orchestration<int, int> Family{"Family", 1};
// Runs Block; never finishes on its own.
inline const Orchestration<int, int> Busy{"Busy", 1};
// Continues as new with input - 1 until 0, then waits for "Approval" like Approve.
inline const Orchestration<int, int> Countdown{"Countdown", 1};
// Sleeps an hour (a durable timer), then returns its input.
inline const Orchestration<int, int> Sleeper{"Sleeper", 1};

inline Registry cli_registry() {
  Registry r;
  r.add(Greet, [](ActivityContext&, std::string name) { return "Hello, " + name + "!"; });
  r.add(Block, [](ActivityContext& ctx, int x) {
    while (!ctx.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return x;
  });
  r.add(Hello, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
    auto greeting = co_await ctx.call(Greet, name);
    ctx.set_custom_status("greeted " + name);
    co_return greeting;
  });
  r.add(Approve, [](OrchestrationContext& ctx, int x) -> Task<int> {
    ctx.set_custom_status("waiting for approval");
    int approval = co_await ctx.wait_event<int>("Approval");
    co_return x + approval;
  });
  r.add(Decide, [](OrchestrationContext& ctx, int) -> Task<std::string> {
    auto d = co_await ctx.wait_event<Decision>("Decision");
    co_return d.by + ":" + std::to_string(d.level);
  });
  r.add(File, [](OrchestrationContext& ctx, int) -> Task<std::string> {
    auto t = co_await ctx.wait_event<Ticket>("Ticket");
    co_return t.title + "/" + std::to_string(t.priority);
  });
  r.add(Family, [](OrchestrationContext& ctx, int x) -> Task<int> {
    int got = co_await ctx.call(Approve, x, SubOrchestrationOptions(ctx.instance_id() + "-kid"));
    co_return got;
  });
  r.add(Busy, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_return co_await ctx.call(Block, x);
  });
  r.add(Countdown, [](OrchestrationContext& ctx, int n) -> Task<int> {
    if (n > 0) {
      co_await ctx.continue_as_new(n - 1);
      co_return -1;  // not reached
    }
    co_return co_await ctx.wait_event<int>("Approval");
  });
  r.add(Sleeper, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_await ctx.sleep(std::chrono::hours(1));
    co_return x;
  });
  return r;
}

// Fills the store in `path` through a real runtime, then stops it, leaving:
//   hello-1, hello-2, hello-3  Hello, completed ("Hello, ada!" for hello-1)
//   approve-1                  Approve(1), running, waiting for "Approval"
//   family-1, family-1-kid     Family(5) running, waiting for its sub-orchestration Approve(5)
//   countdown-1                Countdown(2), running in execution 3, waiting for "Approval"
//   busy-1                     Busy(7), running, its Block activity's work item pending
//   sleeper-1                  Sleeper(3), running, its one-hour timer pending
inline void populate(const Registry& registry, const std::string& path) {
  auto host = start_host(registry, test_host_options(path));
  auto client = host->client();
  const std::pair<const char*, const char*> hellos[] = {
      {"hello-1", "ada"}, {"hello-2", "bob"}, {"hello-3", "cy"}};
  for (auto [id, name] : hellos) REQUIRE(Hello.run(client, id, name, std::chrono::seconds(20)));
  REQUIRE(Approve.start(client, "approve-1", 1));
  REQUIRE(Family.start(client, "family-1", 5));
  REQUIRE(Countdown.start(client, "countdown-1", 2));
  REQUIRE(Busy.start(client, "busy-1", 7));
  REQUIRE(Sleeper.start(client, "sleeper-1", 3));
  auto& store = host->store();
  REQUIRE(eventually([&] {
    auto approve = store.read_instance("approve-1");
    auto kid = store.read_instance("family-1-kid");
    auto countdown = store.read_instance("countdown-1");
    auto sleeper = store.read_instance("sleeper-1");
    auto work = store.list_work(0, 0);
    auto timer = store.next_timer();
    return approve && approve->custom_status == "waiting for approval" && kid &&
           kid->custom_status == "waiting for approval" && countdown && countdown->execution == 3 &&
           countdown->status == InstanceStatus::kRunning && sleeper && sleeper->execution == 1 &&
           work && work->size() == 1 && timer && timer->has_value();
  }));
  // Countdown's last turn committed its waiting state once no messages are left.
  REQUIRE(eventually([&] {
    auto inbox = store.read_inbox("countdown-1");
    return inbox && inbox->empty();
  }));
}

// Keeps every log line, for tests that check what the runtime said.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Line {
    spdlog::level::level_enum level;
    std::string text;
  };
  std::vector<Line> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    lines_.push_back(Line{msg.level, fmt::to_string(formatted)});
  }
  void flush_() override {}

 private:
  std::vector<Line> lines_;
};

// A host on `path` whose log lines (debug and up) the test can read.
struct LoggedHost {
  // `adjust`, if given, changes the test options before the host starts.
  LoggedHost(const Registry& registry, const std::string& path,
             const std::function<void(HostOptions&)>& adjust = {})
      : sink(std::make_shared<LineSink>()),
        logger(std::make_shared<spdlog::logger>("cli-test", sink)) {
    logger->set_level(spdlog::level::debug);
    auto options = test_host_options(path);
    options.logger = logger;
    if (adjust) adjust(options);
    host = start_host(registry, options);
  }
  // Log lines at `level` or above.
  std::vector<std::string> lines(spdlog::level::level_enum level) {
    std::vector<std::string> out;
    for (auto& line : sink->lines()) {
      if (line.level >= level) out.push_back(line.text);
    }
    return out;
  }
  std::shared_ptr<LineSink> sink;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<Host> host;
};

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace duractor::testing
