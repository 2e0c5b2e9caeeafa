// The orchestration guide's examples (docs/orchestration-guide.md), compiled and run
// through the real runtime. Each region between "// snippet: NAME" and "// end snippet"
// appears verbatim in the guide under "<!-- snippet: NAME -->"; the last test checks that
// the two agree, so the guide cannot drift from code that works.

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "duractor/actors/testing.h"
#include "tests/support/host_fixture.h"

namespace guide {

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::OrchestrationContext;
using duractor::Task;

// ---- the shape of a workflow ----

// snippet: shape
const duractor::Activity<std::string, std::string> Greet{"Greet"};
const duractor::Orchestration<std::string, std::string> Hello{"Hello", 1};

duractor::Task<std::string> hello(duractor::OrchestrationContext& ctx, std::string name) {
  auto greeting = co_await ctx.call(Greet, name);
  co_return greeting + "!";
}

void register_hello(duractor::Registry& registry) {
  registry.add(Greet,
               [](duractor::ActivityContext&, std::string name) { return "Hello, " + name; });
  registry.add(Hello, hello);
}
// end snippet

// ---- activities ----

struct Order {
  std::string id;
  int quantity = 0;
  MSGPACK_DEFINE(id, quantity)
};

const duractor::Activity<Order, int> Price{"Price"};
const duractor::Activity<int, void> Notify{"Notify"};
const duractor::Activity<int, int> Work{"Work"};
const duractor::Activity<int, std::string> Name{"Name"};
const duractor::Activity<int, int> Flaky{"Flaky"};
const duractor::Activity<int, int> Reserve{"Reserve"};
const duractor::Activity<int, void> Release{"Release"};

const duractor::Orchestration<Order, int> Calling{"Calling", 1};
Task<int> calling(OrchestrationContext& ctx, Order order) {
  // snippet: calling
  int price = co_await ctx.call(Price, order);                   // typed
  int price2 = co_await ctx.call_activity<int>("Price", order);  // by name
  co_await ctx.call(Notify, price);                              // Out = void
  // end snippet
  co_return price + price2;
}

const duractor::Orchestration<int, int> FanOut{"FanOut", 1};
Task<int> fan_out(OrchestrationContext& ctx, int n) {
  // snippet: fan-out
  std::vector<duractor::DurableFuture<int>> calls;
  for (int i = 0; i < n; ++i) calls.push_back(ctx.call(Work, i));
  std::vector<int> results = co_await ctx.when_all(std::move(calls));  // in the order given
  // end snippet
  int sum = 0;
  for (int r : results) sum += r;
  co_return sum;
}

const duractor::Orchestration<int, int> Retrying{"Retrying", 1};
Task<int> retrying(OrchestrationContext& ctx, int input) {
  // snippet: retries
  auto policy =
      duractor::RetryPolicy::exponential(/*attempts*/ 5, 1s, /*multiplier*/ 2.0, /*cap*/ 1min)
          .with_attempt_timeout(30s);
  int v = co_await ctx.call(Flaky, input, policy);
  // end snippet
  co_return v;
}

// A simulated HTTP service: /private answers 403.
int http_status(const std::string& url) {
  return url.ends_with("/private") ? 403 : 200;
}

// snippet: non-retryable
std::string fetch(duractor::ActivityContext&, std::string url) {
  int status = http_status(url);
  if (status == 403) throw duractor::NonRetryableError("403 forbidden: " + url);     // for good
  if (status != 200) throw std::runtime_error(std::to_string(status) + ": " + url);  // retried
  return "body of " + url;
}
// end snippet

const duractor::Activity<std::string, std::string> Fetch{"Fetch"};
const duractor::Orchestration<std::string, std::string> Fetching{"Fetching", 1};
Task<std::string> fetching(OrchestrationContext& ctx, std::string url) {
  try {
    co_return co_await ctx.call(Fetch, url, duractor::RetryPolicy::fixed(5, 1s));
  } catch (const duractor::ActivityFailed& e) {
    co_return "after " + std::to_string(e.attempts()) + " attempt: " + e.failure().type + ": " +
        e.failure().message;
  }
}

// A child that fetches without catching, and a parent that asks how it failed.
const duractor::Orchestration<std::string, std::string> Shaky{"Shaky", 1};
Task<std::string> shaky(OrchestrationContext& ctx, std::string url) {
  co_return co_await ctx.call(Fetch, url);
}

const duractor::Orchestration<std::string, std::string> Guarded{"Guarded", 1};
Task<std::string> guarded(OrchestrationContext& ctx, std::string url) {
  std::string outcome = "fetched";
  // snippet: failure-kinds
  try {
    co_await ctx.call(Shaky, url, {"shaky-1"});
  } catch (const duractor::SubOrchestrationFailed& e) {
    const auto& f = e.failure();  // kind: sub-orchestration failed; causes[0]: the child
    if (f.root_kind() != duractor::FailureKind::kActivityFailed) throw;  // a bug: fail too
    outcome = f.causes.front().instance + ": " + std::string(to_string(f.root_kind()));
  }
  // end snippet
  co_return outcome;
}

// ---- timers, events, topics ----

const duractor::Orchestration<int, std::int64_t> Sleeper{"Sleeper", 1};
Task<std::int64_t> sleeper(OrchestrationContext& ctx, int) {
  auto started = ctx.now();
  auto deadline = started + 1h;
  // snippet: timers
  co_await ctx.sleep(5min);            // same as ctx.timer(5min)
  co_await ctx.timer_until(deadline);  // a point in time
  // end snippet
  co_return std::chrono::duration_cast<std::chrono::minutes>(ctx.now() - started).count();
}

const duractor::Orchestration<int, bool> Approver{"Approver", 1};
Task<bool> approver(OrchestrationContext& ctx, int) {
  // snippet: events
  bool approved = co_await ctx.wait_event<bool>("Approval");
  ctx.send_event("other-instance", "Ping", 42);  // to another instance
  // end snippet
  co_return approved;
}

const duractor::Orchestration<int, int> Pinged{"Pinged", 1};
Task<int> pinged(OrchestrationContext& ctx, int) {
  co_return co_await ctx.wait_event<int>("Ping");
}

const duractor::Orchestration<int, int> Watcher{"Watcher", 1};
Task<int> watcher(OrchestrationContext& ctx, int limit) {
  ctx.set_custom_status("watching");
  // snippet: topics
  ctx.subscribe("prices");  // durable from this turn's commit
  for (;;) {
    int price = co_await ctx.next_message<int>("prices");  // publications, in publish order
    if (price > limit) break;
  }
  ctx.unsubscribe("prices");  // or just finish: that ends it too
  // end snippet
  co_return limit;
}

const duractor::Orchestration<std::vector<int>, int> PriceFeed{"PriceFeed", 1};
Task<int> price_feed(OrchestrationContext& ctx, std::vector<int> prices) {
  // snippet: publish
  for (int price : prices) {
    ctx.publish("prices", price);  // recorded; delivered once, by this turn's commit
  }
  // end snippet
  co_return static_cast<int>(prices.size());
}

// ---- sub-orchestrations, combinators, compensation ----

// Version 1 adds one; given a negative input it waits for an event that never comes.
const duractor::Orchestration<int, int> Child{"Child", 1};
Task<int> child(OrchestrationContext& ctx, int input) {
  if (input < 0) co_await ctx.wait_event<int>("never");
  co_return input + 1;
}
const duractor::Orchestration<int, int> ChildV2{"Child", 2};
const duractor::Orchestration<int, std::vector<int>> Parent{"Parent", 1};
Task<std::vector<int>> parent(OrchestrationContext& ctx, int input) {
  // snippet: sub-orchestrations
  int r = co_await ctx.call(Child, input);                     // id "<parent>:<execution>:<n>"
  int s = co_await ctx.call(Child, input, {"child-7"});        // explicit id
  int t = co_await ctx.call(Child, input, {"child-8", 2});     // and version 2
  duractor::InstanceId id = ctx.start_detached(Child, input);  // fire and forget
  // end snippet
  ctx.set_custom_status(id);
  std::vector<int> out;
  out.push_back(r);
  out.push_back(s);
  out.push_back(t);
  co_return out;
}

const duractor::Orchestration<int, std::string> Racer{"Racer", 1};
Task<std::string> racer(OrchestrationContext& ctx, int) {
  std::string outcome = "late";
  // snippet: combinators
  auto both =
      co_await ctx.when_all(ctx.call(Work, 1), ctx.call(Name, 2));  // std::tuple<int, std::string>
  auto r = co_await ctx.when_any(ctx.wait_event<bool>("Approval"), ctx.timer(24h));
  if (r.index() == 0 && r.get<0>()) { /* approved in time */
  }
  // end snippet
  if (r.index() == 0) outcome = r.get<0>() ? "approved" : "refused";
  co_return std::to_string(std::get<0>(both)) + " " + std::get<1>(both) + " " + outcome;
}

const duractor::Orchestration<int, std::string> Compensating{"Compensating", 1};
Task<std::string> compensating(OrchestrationContext& ctx, int n) {
  // snippet: compensation
  int reservation = co_await ctx.call(Reserve, n);
  std::optional<duractor::Cancelled> cancelled;
  try {
    co_await ctx.when_all(ctx.call(Child, n), ctx.call(Reserve, n + 1));
  } catch (const duractor::Cancelled& e) {
    cancelled = e;
  }
  if (cancelled) co_await ctx.call(Release, reservation);
  // end snippet
  co_return cancelled ? "released" : "kept";
}

// ---- helpers side by side ----

const duractor::Activity<std::string, std::string> CreateVm{"CreateVm"};
const duractor::Activity<std::string, bool> IsHealthy{"IsHealthy"};
const duractor::Orchestration<std::vector<std::string>, std::vector<std::string>> Fleet{"Fleet", 1};

// snippet: spawn
// Creates one VM, then polls until it is healthy.
Task<std::string> provision(OrchestrationContext& ctx, std::string name) {
  auto vm = co_await ctx.call(CreateVm, name);
  while (!co_await ctx.call(IsHealthy, vm)) co_await ctx.sleep(1s);
  co_return vm;
}

// Provisions every VM at once; each goes at its own pace.
Task<std::vector<std::string>> fleet(OrchestrationContext& ctx, std::vector<std::string> names) {
  std::vector<duractor::DurableFuture<std::string>> vms;
  for (const auto& name : names) vms.push_back(ctx.spawn(provision(ctx, name)));
  co_return co_await ctx.when_all(std::move(vms));
}
// end snippet

// ---- continue-as-new, status, versions ----

const duractor::Orchestration<int, int> Rounds{"Rounds", 1};
Task<int> rounds(OrchestrationContext& ctx, int round) {
  // snippet: continue-as-new
  if (round < 1000) co_await ctx.continue_as_new(round + 1);  // never returns
  // end snippet
  co_return round;
}

const duractor::Orchestration<std::string, std::string> Statuses{"Statuses", 1};
Task<std::string> statuses(OrchestrationContext& ctx, std::string name) {
  std::string replayed = "no";
  // snippet: status
  ctx.set_custom_status("creating VMs 2/3");  // visible in the instance's status
  auto t = ctx.now();                         // the time of the event being processed
  auto id = ctx.new_guid();                   // the same on every replay
  ctx.log().info("provisioning {}", name);    // written once, not on replay
  if (!ctx.is_replaying()) {                  /* ... */
  }
  // end snippet
  if (ctx.is_replaying()) replayed = "yes";
  co_return id + " " + std::to_string(duractor::to_unix_ms(t)) + " " + replayed;
}

struct Receipt {
  std::string order;
  int version = 0;
  MSGPACK_DEFINE(order, version)
};
Task<Receipt> checkout_v1(OrchestrationContext&, Order order) {
  co_return Receipt{order.id, 1};
}
Task<Receipt> checkout_v2(OrchestrationContext&, Order order) {
  co_return Receipt{order.id, 2};
}
void register_checkout(duractor::Registry& registry) {
  // snippet: versions
  registry.add(duractor::Orchestration<Order, Receipt>{"Checkout", 1}, checkout_v1);
  registry.add(duractor::Orchestration<Order, Receipt>{"Checkout", 2}, checkout_v2);
  // end snippet
}

}  // namespace guide

namespace duractor {
namespace {

using namespace std::chrono_literals;
using namespace guide;

struct Guide {
  Guide() {
    register_hello(registry);
    registry.add(Price, [](ActivityContext&, Order o) { return o.quantity * 250; });
    registry.add(Notify, [this](ActivityContext&, int price) { notified = price; });
    registry.add(Work, [](ActivityContext&, int x) { return x * 10; });
    registry.add(Name, [](ActivityContext&, int x) { return "n" + std::to_string(x); });
    registry.add(Flaky, [this](ActivityContext& a, int x) {
      if (a.attempt() < 3) throw std::runtime_error("flaky");
      flaky_attempts = static_cast<int>(a.attempt());
      return x;
    });
    registry.add(Reserve, [](ActivityContext&, int x) { return x * 10; });
    registry.add(Release, [this](ActivityContext&, int r) { released = r; });
    registry.add(Calling, calling);
    registry.add(FanOut, fan_out);
    registry.add(Retrying, retrying);
    registry.add(Fetch, [this](ActivityContext& a, std::string url) {
      ++fetch_attempts;
      return fetch(a, std::move(url));
    });
    registry.add(Fetching, fetching);
    registry.add(Shaky, shaky);
    registry.add(Guarded, guarded);
    registry.add(Sleeper, sleeper);
    registry.add(Approver, approver);
    registry.add(Pinged, pinged);
    registry.add(Watcher, watcher);
    registry.add(PriceFeed, price_feed);
    registry.add(Child, child);
    registry.add(ChildV2,
                 [](OrchestrationContext&, int input) -> Task<int> { co_return input + 2; });
    registry.add(Parent, parent);
    registry.add(Racer, racer);
    registry.add(Compensating, compensating);
    registry.add(CreateVm, [](ActivityContext&, std::string name) { return "vm-" + name; });
    registry.add(IsHealthy, [this](ActivityContext&, std::string vm) {
      std::lock_guard lock(health_mutex);
      return ++health_checks[vm] >= (vm == "vm-b" ? 3 : 1);  // vm-b takes two more looks
    });
    registry.add(Fleet, fleet);
    registry.add(Rounds, rounds);
    registry.add(Statuses, statuses);
    register_checkout(registry);
    testing::TestHostOptions options;
    options.host = testing::test_host_options("");
    kit = std::make_unique<testing::TestHost>(registry, std::move(options));
    host = &kit->host();
  }

  // Waits for `id` to finish. Whenever nothing is runnable (no activity running or queued,
  // no message waiting), it moves the virtual clock to the next timer, so a timer never
  // fires while an activity still runs (an attempt timeout would cut it short).
  InstanceInfo finish(const InstanceId& id) {
    auto client = host->client();
    for (int i = 0; i < 2000; ++i) {
      auto settled = kit->run_until_idle();
      REQUIRE_MESSAGE(settled, (settled ? "" : settled.error().to_string()));
      auto info = client.status(id);
      REQUIRE_MESSAGE(info, "no instance " << id);
      if (is_terminal(info->status)) return *info;
      auto next = host->store().next_timer();
      REQUIRE(next);
      if (!next->has_value()) FAIL("instance " << id << " waits for nothing that will come");
      auto wait = std::chrono::duration_cast<Milliseconds>((*next)->key.fire_at - kit->now());
      REQUIRE(kit->advance(std::max(wait, Milliseconds{0})));
    }
    FAIL("instance " << id << " did not finish");
    return {};
  }
  template <class T>
  T output(const InstanceId& id) {
    auto info = finish(id);
    std::string failure = info.failure ? info.failure->message : "";
    INFO(failure);
    REQUIRE(info.status == InstanceStatus::kCompleted);
    auto value = decode<T>(info.output);
    REQUIRE(value);
    return *value;
  }

  Registry registry;
  std::unique_ptr<testing::TestHost> kit;
  Host* host = nullptr;
  std::atomic<int> notified{0}, flaky_attempts{0}, released{0}, fetch_attempts{0};
  std::mutex health_mutex;
  std::map<std::string, int> health_checks;
};

}  // namespace

TEST_SUITE("docs: the orchestration guide's examples") {
  TEST_CASE("the shape of a workflow, calls, fan-out and retries") {
    Guide g;
    auto client = g.host->client();
    CHECK(*Hello.run(client, "hello", "ada", 20s) == "Hello, ada!");
    REQUIRE(Calling.start(client, "calling", Order{"o-1", 3}));
    CHECK(g.output<int>("calling") == 1500);
    CHECK(g.notified == 750);
    REQUIRE(FanOut.start(client, "fan-out", 5));
    CHECK(g.output<int>("fan-out") == 100);
    REQUIRE(Retrying.start(client, "retrying", 7));
    CHECK(g.output<int>("retrying") == 7);
    CHECK(g.flaky_attempts == 3);
    REQUIRE(Fetching.start(client, "fetching", "https://example.org/private"));
    CHECK(
        g.output<std::string>("fetching") ==
        "after 1 attempt: duractor::NonRetryableError: 403 forbidden: https://example.org/private");
    CHECK(g.fetch_attempts == 1);  // the policy allowed 5; a NonRetryableError is not retried
    CHECK(*Fetching.run(client, "fetching-public", "https://example.org/public", 20s) ==
          "body of https://example.org/public");
  }

  TEST_CASE("timers, events and topics") {
    Guide g;
    auto client = g.host->client();
    REQUIRE(Sleeper.start(client, "sleeper", 0));
    CHECK(g.output<std::int64_t>("sleeper") >= 60);
    REQUIRE(Pinged.start(client, "other-instance", 0));
    REQUIRE(Approver.start(client, "approver", 0));
    REQUIRE(client.raise("approver", "Approval", true));
    CHECK(g.output<bool>("approver"));
    CHECK(g.output<int>("other-instance") == 42);
    REQUIRE(Watcher.start(client, "watcher", 100));
    REQUIRE(
        testing::eventually([&] { return client.status("watcher")->custom_status == "watching"; }));
    for (int price : {50, 90, 120}) REQUIRE(client.publish("prices", price));
    CHECK(g.output<int>("watcher") == 100);
    // The same from orchestration code.
    REQUIRE(Watcher.start(client, "watcher-2", 100));
    REQUIRE(testing::eventually(
        [&] { return client.status("watcher-2")->custom_status == "watching"; }));
    REQUIRE(PriceFeed.start(client, "price-feed", std::vector<int>{50, 90, 120}));
    CHECK(g.output<int>("price-feed") == 3);
    CHECK(g.output<int>("watcher-2") == 100);
  }

  TEST_CASE("testing a workflow with the kit: virtual time, idle, steps") {
    // snippet: testing
    duractor::Registry registry;
    registry.add(Sleeper, sleeper);  // sleeps 5 minutes, then until an hour after it started
    duractor::testing::TestHost t(registry);  // the real runtime, a temporary store, virtual time
    auto client = t.client();
    REQUIRE(Sleeper.start(client, "nap", 0));
    REQUIRE(t.run_until_idle());  // nothing runnable: the instance waits on its timer
    REQUIRE(t.advance(1h));       // an hour passes at once; both timers fire
    CHECK(*client.wait_output<std::int64_t>("nap", 0s) == 60);
    CHECK(t.steps("nap")[1] == duractor::testing::Step{"TimerCreated", ""});
    // end snippet
  }

  TEST_CASE("sub-orchestrations, combinators and compensation") {
    Guide g;
    auto client = g.host->client();
    REQUIRE(Parent.start(client, "parent", 1));
    CHECK(g.output<std::vector<int>>("parent") == std::vector<int>{2, 2, 3});
    CHECK(client.status("child-7")->parent->instance == "parent");
    auto detached = client.status("parent")->custom_status;
    CHECK(*client.wait_output<int>(detached, 20s) == 2);

    REQUIRE(Racer.start(client, "racer", 0));
    REQUIRE(testing::eventually([&] { return client.history("racer")->size() > 5; }));
    REQUIRE(client.raise("racer", "Approval", true));
    CHECK(g.output<std::string>("racer") == "10 n2 approved");

    REQUIRE(Compensating.start(client, "compensating", -5));
    REQUIRE(testing::eventually([&] { return client.status("compensating:1:1").has_value(); }));
    REQUIRE(client.cancel("compensating", "changed my mind"));
    CHECK(g.output<std::string>("compensating") == "released");
    CHECK(g.released == -50);

    REQUIRE(Guarded.start(client, "guarded", "https://example.org/private"));
    CHECK(g.output<std::string>("guarded") == "shaky-1: activity failed");
  }

  TEST_CASE("helpers side by side with ctx.spawn") {
    Guide g;
    auto client = g.host->client();
    REQUIRE(Fleet.start(client, "fleet", std::vector<std::string>{"a", "b", "c"}));
    CHECK(g.output<std::vector<std::string>>("fleet") ==
          std::vector<std::string>{"vm-a", "vm-b", "vm-c"});
    // Side by side: the three creations were scheduled in the first turn, before any
    // result; vm-b was checked three times, the others once.
    auto history = client.history("fleet");
    REQUIRE(history);
    std::vector<std::string> first_three;
    for (const auto& e : *history) {
      if (const auto* s = std::get_if<event::ActivityScheduled>(&e.body)) {
        first_three.push_back(s->name);
      } else if (!first_three.empty()) {
        break;
      }
    }
    CHECK(first_three == std::vector<std::string>{"CreateVm", "CreateVm", "CreateVm"});
    std::lock_guard lock(g.health_mutex);
    CHECK(g.health_checks == std::map<std::string, int>{{"vm-a", 1}, {"vm-b", 3}, {"vm-c", 1}});
  }

  TEST_CASE("continue-as-new, status and versions") {
    Guide g;
    auto client = g.host->client();
    REQUIRE(Rounds.start(client, "rounds", 995));
    CHECK(g.output<int>("rounds") == 1000);
    CHECK(client.status("rounds")->execution == 6);
    REQUIRE(Statuses.start(client, "statuses", "demo"));
    auto text = g.output<std::string>("statuses");
    CHECK(text.find(" no") != std::string::npos);
    CHECK(client.status("statuses")->custom_status == "creating VMs 2/3");
    REQUIRE(
        client.start(Orchestration<Order, Receipt>{"Checkout", 0}, "checkout", Order{"o-9", 1}));
    CHECK(g.output<Receipt>("checkout").version == 2);  // new instances get the latest
  }
}

// ---- the guide shows this file's code ----

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// name -> lines, from "// snippet: name" ... "// end snippet", with the common indentation
// removed.
std::map<std::string, std::string> code_snippets(const std::string& source) {
  std::map<std::string, std::string> out;
  auto lines = lines_of(source);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto at = lines[i].find("// snippet: ");
    if (at == std::string::npos || at != lines[i].find_first_not_of(' ')) continue;
    std::string name = lines[i].substr(at + 12);
    std::vector<std::string> body;
    for (++i; i < lines.size() && lines[i].find("// end snippet") == std::string::npos; ++i) {
      body.push_back(lines[i]);
    }
    std::size_t indent = std::string::npos;
    for (const auto& l : body) {
      if (!l.empty()) indent = std::min(indent, l.find_first_not_of(' '));
    }
    std::string text;
    for (const auto& l : body) text += (l.empty() ? l : l.substr(indent)) + "\n";
    out[name] = text;
  }
  return out;
}

// name -> the ```cpp block after "<!-- snippet: name -->".
std::map<std::string, std::string> doc_snippets(const std::string& markdown) {
  std::map<std::string, std::string> out;
  auto lines = lines_of(markdown);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("<!-- snippet: ", 0) != 0) continue;
    std::string name = lines[i].substr(14, lines[i].find(" -->") - 14);
    REQUIRE_MESSAGE(i + 1 < lines.size(), "snippet " << name << " has no code block");
    REQUIRE_MESSAGE(lines[i + 1] == "```cpp", "snippet " << name << " is not followed by ```cpp");
    std::string text;
    for (i += 2; i < lines.size() && lines[i] != "```"; ++i) text += lines[i] + "\n";
    out[name] = text;
  }
  return out;
}

}  // namespace

TEST_SUITE("docs: the orchestration guide's examples") {
  TEST_CASE("every code block of the guide is code from this file or a sample, verbatim") {
    auto code =
        code_snippets(read_file(std::string(DURACTOR_SOURCE_DIR) + "/tests/docs/guide_test.cc"));
    // The plug-in example is a library of its own, built and run by samples/plugins.
    code.merge(code_snippets(
        read_file(std::string(DURACTOR_SOURCE_DIR) + "/samples/plugins/greeting_v2.cc")));
    auto docs =
        doc_snippets(read_file(std::string(DURACTOR_SOURCE_DIR) + "/docs/orchestration-guide.md"));
    REQUIRE(code.size() >= 12);
    for (const auto& [name, text] : code) {
      INFO("snippet " << name);
      REQUIRE_MESSAGE(docs.count(name), "the guide does not show snippet " << name);
      CHECK(docs[name] == text);
    }
    for (const auto& [name, text] : docs) {
      CHECK_MESSAGE(code.count(name), "the guide shows snippet " << name << ", which no code has");
    }
    // And no other C++ block in the guide escapes the check.
    auto markdown = read_file(std::string(DURACTOR_SOURCE_DIR) + "/docs/orchestration-guide.md");
    std::size_t blocks = 0;
    for (const auto& l : lines_of(markdown)) blocks += l == "```cpp";
    CHECK(blocks == docs.size());
  }
}

}  // namespace duractor
