// The duractor CLI next to a running runtime (a host in this test process, the CLI as a
// real subprocess): events, cancellations, deletions and imports made from the command
// line are picked up within a second or two, without a restart; payloads raised as JSON
// decode as the orchestrations' types; and another process holding the store's writer lock
// makes a write give up cleanly after --lock-timeout, while reads go on.

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "duractor/store/lmdb_store.h"
#include "tests/cli/cli_fixture.h"
#include "tests/support/writer_lock_holder.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::Approve;
using testing::Busy;
using testing::contains;
using testing::eventually;
using testing::LoggedHost;
using testing::run_cli;
using testing::TempDir;
using Steady = std::chrono::steady_clock;

#define REQUIRE_EXIT(run, code) REQUIRE_MESSAGE((run).exit_code == (code), (run).transcript())

// Waits until instance `id` is running and has set `custom_status`.
void wait_for_status(Host& host, const InstanceId& id, const std::string& custom_status) {
  REQUIRE(eventually([&] {
    auto info = host.store().read_instance(id);
    return info && info->status == InstanceStatus::kRunning && info->custom_status == custom_status;
  }));
}

double seconds_since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

}  // namespace

TEST_SUITE("cli: with a running runtime") {
  TEST_CASE(
      "an event raised from the command line reaches a waiting instance within a second or two, "
      "also under load") {
    TempDir dir;
    auto registry = testing::cli_registry();
    LoggedHost rt(registry, dir.sub("store"));
    auto client = rt.host->client();
    REQUIRE(Approve.start(client, "waiting", 1));
    wait_for_status(*rt.host, "waiting", "waiting for approval");

    // Load: instances started and run as fast as the runtime goes.
    std::atomic<bool> stop{false};
    std::atomic<int> started{0};
    std::thread load([&] {
      while (!stop) {
        if (testing::Hello.start(client, "load-" + std::to_string(started), "x")) ++started;
      }
    });
    auto& store = rt.host->store();
    auto before = store.foreign_writes();
    std::this_thread::sleep_for(300ms);
    CHECK(store.foreign_writes() == before);  // the runtime's own writes are not foreign

    auto raised = run_cli({"--store", dir.sub("store"), "raise", "waiting", "Approval", "41"});
    REQUIRE_EXIT(raised, 0);
    auto after_raise = Steady::now();
    auto out = Approve.wait(client, "waiting", 10s);
    double latency = seconds_since(after_raise);
    stop = true;
    load.join();
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 42);
    MESSAGE("picked up " << latency << " s after the CLI returned, with " << started.load()
                         << " instances started meanwhile");
    CHECK(latency < 2.0);
    CHECK(started > 10);
    CHECK(store.foreign_writes() > before);
  }

  TEST_CASE(
      "JSON payloads decode as the orchestrations' types: an int, an array-packed struct, a "
      "map-packed struct") {
    TempDir dir;
    auto registry = testing::cli_registry();
    LoggedHost rt(registry, dir.sub("store"));
    auto client = rt.host->client();
    REQUIRE(testing::Decide.start(client, "decide", 0));
    REQUIRE(testing::File.start(client, "file", 0));
    REQUIRE(Approve.start(client, "approve", -5));
    REQUIRE(eventually([&] {
      for (const char* id : {"decide", "file"}) {
        auto info = rt.host->store().read_instance(id);
        if (!info || info->execution != 1) return false;
      }
      return true;
    }));
    wait_for_status(*rt.host, "approve", "waiting for approval");
    auto store = dir.sub("store");
    REQUIRE_EXIT(run_cli({"--store", store, "raise", "decide", "Decision", R"(["ada", 3])"}), 0);
    REQUIRE_EXIT(run_cli({"--store", store, "raise", "file", "Ticket",
                          R"({"title": "disk", "priority": 2})"}),
                 0);
    REQUIRE_EXIT(run_cli({"--store", store, "raise", "approve", "Approval", "-7"}), 0);
    auto decided = testing::Decide.wait(client, "decide", 10s);
    REQUIRE_MESSAGE(decided, (decided ? "" : decided.error().to_string()));
    CHECK(*decided == "ada:3");
    auto filed = testing::File.wait(client, "file", 10s);
    REQUIRE_MESSAGE(filed, (filed ? "" : filed.error().to_string()));
    CHECK(*filed == "disk/2");
    auto approved = Approve.wait(client, "approve", 10s);
    REQUIRE(approved);
    CHECK(*approved == -12);
    // The history shows what arrived, as JSON.
    auto history = run_cli({"--store", store, "history", "decide", "--json"});
    REQUIRE_EXIT(history, 0);
    bool seen = false;
    auto document = history.json();
    for (const auto& e : document["executions"][0]["events"]) {
      if (e["kind"] == "EventRaised") {
        CHECK(e["payload"] == nlohmann::json::parse(R"(["ada", 3])"));
        seen = true;
      }
    }
    CHECK_MESSAGE(seen, history.out);
  }

  TEST_CASE("cancel and terminate from the command line end running instances") {
    TempDir dir;
    auto registry = testing::cli_registry();
    LoggedHost rt(registry, dir.sub("store"));
    auto client = rt.host->client();
    REQUIRE(Approve.start(client, "polite", 1));
    REQUIRE(Busy.start(client, "busy", 1));
    wait_for_status(*rt.host, "polite", "waiting for approval");
    REQUIRE(eventually([&] { return rt.host->queued_activities() == 1; }));
    auto store = dir.sub("store");
    auto start = Steady::now();
    REQUIRE_EXIT(run_cli({"--store", store, "cancel", "polite", "--reason", "changed my mind"}), 0);
    REQUIRE_EXIT(run_cli({"--store", store, "cancel", "busy", "--terminate"}), 0);
    auto polite = client.wait("polite", 10s);
    auto busy = client.wait("busy", 10s);
    double took = seconds_since(start);
    REQUIRE(polite);
    CHECK(polite->status == InstanceStatus::kCancelled);
    CHECK(contains(polite->failure->message, "changed my mind"));
    REQUIRE(busy);
    CHECK(busy->status == InstanceStatus::kTerminated);
    CHECK(took < 3.0);
    CHECK(
        eventually([&] { return rt.host->queued_activities() == 0; }, 5s));  // Block was cancelled
    auto again = run_cli({"--store", store, "cancel", "polite"});
    CHECK(again.exit_code == 5);
  }

  TEST_CASE(
      "deleting a running instance from the command line needs --force, then its actor and "
      "activity stop and nothing recreates it") {
    TempDir dir;
    auto registry = testing::cli_registry();
    LoggedHost rt(registry, dir.sub("store"));
    auto client = rt.host->client();
    auto& store = rt.host->store();
    REQUIRE(Busy.start(client, "busy", 7));
    REQUIRE(testing::Family.start(client, "family", 5));
    REQUIRE(Approve.start(client, "bystander", 1));
    wait_for_status(*rt.host, "family-kid", "waiting for approval");
    wait_for_status(*rt.host, "bystander", "waiting for approval");
    REQUIRE(eventually([&] { return rt.host->queued_activities() == 1; }));
    REQUIRE(rt.host->live_instances() == 4);
    auto path = dir.sub("store");

    auto refused = run_cli({"--store", path, "delete", "busy"});
    CHECK(refused.exit_code == 5);
    CHECK(contains(refused.err, "'busy' is running"));
    CHECK(store.read_instance("busy"));

    REQUIRE_EXIT(run_cli({"--store", path, "delete", "busy", "--force"}), 0);
    auto deleted_at = Steady::now();
    CHECK(eventually(
        [&] { return rt.host->queued_activities() == 0 && rt.host->live_instances() == 3; }, 5s));
    CHECK(seconds_since(deleted_at) < 2.0);
    auto family = run_cli({"--store", path, "delete", "family", "--force", "--json"});
    REQUIRE_EXIT(family, 0);
    CHECK(family.json()["deleted"].size() == 2);
    CHECK(eventually([&] { return rt.host->live_instances() == 1; }, 5s));

    // Nothing brings them back: not the cancelled activity's late result, not the timer
    // service's lease reaper, not a wake.
    std::this_thread::sleep_for(1500ms);
    for (const char* id : {"busy", "family", "family-kid"}) {
      CAPTURE(id);
      CHECK(store.read_instance(id).error().code == ErrorCode::kNotFound);
    }
    CHECK(store.list_work(0, 0)->empty());
    CHECK(rt.host->live_instances() == 1);
    // The runtime carries on with the others.
    REQUIRE_EXIT(run_cli({"--store", path, "raise", "bystander", "Approval", "2"}), 0);
    auto out = Approve.wait(client, "bystander", 10s);
    REQUIRE(out);
    CHECK(*out == 3);
    // Quietly: debug lines, no warnings or errors.
    auto noisy = rt.lines(spdlog::level::warn);
    CHECK_MESSAGE(noisy.empty(), (noisy.empty() ? "" : noisy.front()));
    bool noticed = false;
    for (const auto& line : rt.lines(spdlog::level::debug)) {
      noticed = noticed || contains(line, "deleted by another process");
    }
    CHECK(noticed);
  }

  TEST_CASE("a wait on a passivated instance deleted from the command line ends with kNotFound") {
    TempDir dir;
    auto registry = testing::cli_registry();
    LoggedHost rt(registry, dir.sub("store"), [](HostOptions& o) { o.passivate_after = 20ms; });
    auto client = rt.host->client();
    REQUIRE(Approve.start(client, "forgotten", 1));
    wait_for_status(*rt.host, "forgotten", "waiting for approval");
    REQUIRE(eventually([&] { return rt.host->live_instances() == 0; }));  // no actor left
    std::promise<Result<InstanceInfo>> waited;
    std::thread waiter([&] { waited.set_value(client.wait("forgotten", 60s)); });
    std::this_thread::sleep_for(50ms);  // let the wait begin
    REQUIRE_EXIT(run_cli({"--store", dir.sub("store"), "delete", "forgotten", "--force"}), 0);
    auto deleted_at = Steady::now();
    auto outcome = waited.get_future().get();
    waiter.join();
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().code == ErrorCode::kNotFound);
    CHECK(seconds_since(deleted_at) < 5.0);  // the store watcher noticed, not the timeout
  }

  TEST_CASE(
      "an instance exported mid-flight and imported into a store another runtime runs on completes "
      "there") {
    TempDir dir;
    auto registry = testing::cli_registry();
    auto a_path = dir.sub("a"), b_path = dir.sub("b"), file = dir.sub("mid.json");
    LoggedHost a(registry, a_path);
    auto a_client = a.host->client();
    REQUIRE(Approve.start(a_client, "mid", 10));
    wait_for_status(*a.host, "mid", "waiting for approval");
    REQUIRE_EXIT(run_cli({"--store", a_path, "export", "mid", "-o", file}), 0);  // while A runs
    auto original = a.host->store().read_history("mid", 1);
    REQUIRE(original);

    LoggedHost b(registry, b_path);
    REQUIRE_EXIT(run_cli({"--store", b_path, "import", file}), 0);
    REQUIRE_EXIT(run_cli({"--store", b_path, "raise", "mid", "Approval", "5"}), 0);
    auto b_client = b.host->client();
    auto out = Approve.wait(b_client, "mid", 10s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 15);
    auto moved = b.host->store().read_history("mid", 1);
    REQUIRE(moved);
    REQUIRE(moved->size() == original->size() + 2);
    CHECK(std::vector<HistoryEvent>(moved->begin(), moved->begin() + original->size()) ==
          *original);
    CHECK(moved->back().kind() == EventKind::kExecutionCompleted);
    // The original is untouched, still waiting.
    CHECK(a.host->store().read_instance("mid")->status == InstanceStatus::kRunning);
    CHECK(b.lines(spdlog::level::warn).empty());
  }
}

TEST_SUITE("cli: another process holding the writer lock") {
  testing::WriterLockHolder hold_lock(const std::string& path) {
    LmdbOptions o;
    o.path = path;
    o.sync = false;
    return testing::WriterLockHolder(o);
  }

  std::string make_store(const TempDir& dir) {
    LmdbOptions o;
    o.path = dir.sub("store");
    o.sync = false;
    auto s = LmdbStore::open(o);
    REQUIRE(s);
    NewInstance r;
    r.id = "o";
    r.name = "Approve";
    REQUIRE((*s)->create_instance(r));
    return o.path;
  }

  std::vector<std::string> event_names(const std::string& path) {
    LmdbOptions o;
    o.path = path;
    o.read_only = true;
    auto s = LmdbStore::open(o);
    REQUIRE(s);
    std::vector<std::string> names;
    auto inbox = (*s)->read_inbox("o");
    REQUIRE(inbox);
    for (const auto& m : *inbox) {
      if (const auto* e = std::get_if<message::Event>(&m.message)) names.push_back(e->name);
    }
    return names;
  }

  TEST_CASE("a write gives up after --lock-timeout and writes nothing, while reads go on") {
    TempDir dir;
    auto path = make_store(dir);
    auto holder = hold_lock(path);
    auto start = Steady::now();
    auto raised =
        run_cli({"--store", path, "--lock-timeout", "300ms", "raise", "o", "Approval", "1"});
    double took = seconds_since(start);
    CHECK(raised.exit_code == 6);
    CHECK(contains(raised.err, "store " + path + " is locked for writing by another process"));
    CHECK(contains(raised.err, "nothing was written"));
    CHECK(took >= 0.3);
    CHECK(took < 5.0);
    auto listed = run_cli({"--store", path, "list", "--json"});
    REQUIRE_EXIT(listed, 0);
    CHECK(listed.json()["instances"].size() == 1);
    REQUIRE_EXIT(run_cli({"--store", path, "show", "o"}), 0);
    holder.let_go();
    CHECK(holder.child.wait() == 0);
    std::this_thread::sleep_for(100ms);
    CHECK(event_names(path) == std::vector<std::string>{"Child"});
  }

  TEST_CASE("a write waits for a writer lock that is released within --lock-timeout") {
    TempDir dir;
    auto path = make_store(dir);
    auto holder = hold_lock(path);
    std::thread releaser([&] {
      std::this_thread::sleep_for(300ms);
      holder.let_go();
    });
    auto raised =
        run_cli({"--store", path, "--lock-timeout", "20s", "raise", "o", "Approval", "1"});
    releaser.join();
    REQUIRE_EXIT(raised, 0);
    CHECK(holder.child.wait() == 0);
    CHECK(event_names(path) == std::vector<std::string>{"Child", "Approval"});
  }
}

}  // namespace duractor
