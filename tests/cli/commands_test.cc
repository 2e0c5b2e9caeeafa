// Every duractor command, run as the real binary against a store a runtime filled (and then
// left): its text and JSON output, and its exit codes for the usual mistakes.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "duractor/cli/json_view.h"
#include "duractor/runtime/version.h"
#include "duractor/store/lmdb_store.h"
#include "tests/cli/cli_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::Approve;
using testing::contains;
using testing::eventually;
using testing::run_cli;
using testing::TempDir;
using Json = nlohmann::json;

// A store filled by populate() (cli_fixture.h), with no runtime on it any more.
struct Filled {
  Filled() : registry(testing::cli_registry()), path(dir.sub("store")) {
    testing::populate(registry, path);
  }
  // `duractor --store <path> args...`
  testing::CliRun cli(std::vector<std::string> args, const testing::CliOptions& options = {}) {
    args.insert(args.begin(), {"--store", path});
    return run_cli(args, options);
  }
  std::unique_ptr<LmdbStore> open() {
    LmdbOptions o;
    o.path = path;
    o.read_only = true;
    auto s = LmdbStore::open(o);
    REQUIRE_MESSAGE(s, (s ? "" : s.error().to_string()));
    return std::move(*s);
  }
  TempDir dir;
  Registry registry;
  std::string path;
};

std::vector<std::string> ids(const Json& instances) {
  std::vector<std::string> out;
  for (const auto& i : instances) out.push_back(i.at("id").get<std::string>());
  return out;
}

#define CHECK_EXIT(run, code) CHECK_MESSAGE((run).exit_code == (code), (run).transcript())
#define REQUIRE_EXIT(run, code) REQUIRE_MESSAGE((run).exit_code == (code), (run).transcript())

}  // namespace

TEST_SUITE("cli: reading") {
  TEST_CASE(
      "list shows every instance, filters by status, name, parent and age, and pages with "
      "--after") {
    Filled f;
    auto text = f.cli({"list"});
    REQUIRE_EXIT(text, 0);
    CHECK(contains(text.out, "ID"));
    CHECK(contains(text.out, "hello-1  "));
    CHECK(contains(text.out, "Hello v1"));
    CHECK(contains(text.out, "waiting for approval"));
    CHECK(contains(text.out, "9 instances"));

    auto all = f.cli({"list", "--json"});
    REQUIRE_EXIT(all, 0);
    CHECK(ids(all.json()["instances"]) ==
          std::vector<std::string>{"approve-1", "busy-1", "countdown-1", "family-1", "family-1-kid",
                                   "hello-1", "hello-2", "hello-3", "sleeper-1"});
    CHECK(all.json()["next"].is_null());
    auto first = all.json()["instances"][0];
    for (const char* field : {"id", "name", "version", "status", "execution", "created_at",
                              "updated_at", "completed_at", "failure", "custom_status", "parent"}) {
      CHECK_MESSAGE(first.contains(field), field);
    }

    auto running = f.cli({"list", "--json", "--status", "running,pending"});
    CHECK(ids(running.json()["instances"]) ==
          std::vector<std::string>{"approve-1", "busy-1", "countdown-1", "family-1", "family-1-kid",
                                   "sleeper-1"});
    auto hellos = f.cli({"list", "--json", "--name", "Hello", "--status", "completed"});
    CHECK(ids(hellos.json()["instances"]) ==
          std::vector<std::string>{"hello-1", "hello-2", "hello-3"});
    auto kids = f.cli({"--json", "list", "--parent", "family-1"});  // --json before the command
    CHECK(ids(kids.json()["instances"]) == std::vector<std::string>{"family-1-kid"});
    CHECK(f.cli({"list", "--json", "--older-than", "1h"}).json()["instances"].empty());
    CHECK(f.cli({"list", "--json", "--newer-than", "1h"}).json()["instances"].size() == 9);

    std::vector<std::string> paged;
    std::string after;
    for (int pages = 0; pages < 10; ++pages) {
      std::vector<std::string> args{"list", "--json", "--limit", "4"};
      if (!after.empty()) args.insert(args.end(), {"--after", after});
      auto page = f.cli(args).json();
      CHECK(page["instances"].size() <= 4);
      for (const auto& id : ids(page["instances"])) paged.push_back(id);
      if (page["next"].is_null()) break;
      after = page["next"].get<std::string>();
    }
    CHECK(paged == ids(all.json()["instances"]));
    auto more = f.cli({"list", "--limit", "4"});
    CHECK(contains(more.out, "4 instances; more with --after family-1"));
  }

  TEST_CASE("show prints an instance's metadata, executions, output or what it waits on") {
    Filled f;
    auto text = f.cli({"show", "hello-1"});
    REQUIRE_EXIT(text, 0);
    for (const char* part :
         {"Instance       hello-1", "Orchestration  Hello v1", "Status         completed",
          "Custom status  greeted ada", "Input          \"ada\"", "Output         \"Hello, ada!\"",
          "Inbox          empty", "Executions", "EXEC  STATUS     STARTED"}) {
      CHECK_MESSAGE(contains(text.out, part), part << "\n" << text.out);
    }
    auto hello = f.cli({"show", "hello-1", "--json"}).json();
    CHECK(hello["instance"]["output"] == "Hello, ada!");
    CHECK(hello["instance"]["input"] == "ada");
    CHECK(hello["instance"]["status"] == "completed");
    CHECK(hello["executions"].size() == 1);
    CHECK(hello["executions"][0]["event_count"] == 5);
    CHECK(hello["inbox"].empty());

    auto countdown = f.cli({"show", "countdown-1", "--json"}).json();
    REQUIRE(countdown["executions"].size() == 3);
    CHECK(countdown["executions"][0]["continued_as_new"] == true);
    CHECK(countdown["executions"][2]["status"] == "running");
    CHECK(countdown["instance"]["output"].is_null());
    auto kid = f.cli({"show", "family-1-kid"});
    CHECK_MESSAGE(contains(kid.out, "Parent         family-1/1#2"), kid.out);

    auto missing = f.cli({"show", "nobody"});
    CHECK_EXIT(missing, 3);
    CHECK(missing.out.empty());
    CHECK(contains(missing.err, "duractor: no instance 'nobody'"));
  }

  TEST_CASE("history prints a readable table and JSON with the payloads as JSON") {
    Filled f;
    auto text = f.cli({"history", "hello-1"});
    REQUIRE_EXIT(text, 0);
    CHECK(contains(text.out, "instance hello-1, execution 1 of 1: 5 events"));
    CHECK(contains(text.out, "ID  TIME"));
    CHECK(contains(text.out, "ActivityScheduled   name=Greet input=\"ada\" attempt=1"));
    CHECK(contains(text.out, "ActivityCompleted   scheduled_id=2 output=\"Hello, ada!\""));
    CHECK(contains(text.out, "CustomStatusSet     status=\"greeted ada\""));

    auto json = f.cli({"history", "hello-1", "--json"}).json();
    CHECK(json["instance"] == "hello-1");
    REQUIRE(json["executions"].size() == 1);
    const auto& events = json["executions"][0]["events"];
    REQUIRE(events.size() == 5);
    CHECK(events[0]["kind"] == "ExecutionStarted");
    CHECK(events[0]["input"] == "ada");
    CHECK(events[1]["kind"] == "ActivityScheduled");
    CHECK(events[1]["name"] == "Greet");
    CHECK(events[2]["output"] == "Hello, ada!");
    CHECK(events[4]["kind"] == "ExecutionCompleted");
    CHECK(events[4]["id"] == 5);
    CHECK(contains(events[4]["timestamp"].get<std::string>(), "Z"));

    auto latest = f.cli({"history", "countdown-1", "--json"}).json();
    REQUIRE(latest["executions"].size() == 1);
    CHECK(latest["executions"][0]["execution"] == 3);
    auto every = f.cli({"history", "countdown-1", "--all", "--json"}).json();
    REQUIRE(every["executions"].size() == 3);
    CHECK(every["executions"][0]["events"].back()["kind"] == "ContinuedAsNew");
    CHECK(every["executions"][0]["events"].back()["input"] == 1);
    auto second = f.cli({"history", "countdown-1", "--execution", "2", "--json"}).json();
    CHECK(second["executions"][0]["execution"] == 2);
    CHECK(f.cli({"history", "countdown-1", "--execution", "4"}).exit_code == 3);
    CHECK(f.cli({"history", "countdown-1", "--execution", "2", "--all"}).exit_code == 2);
  }

  TEST_CASE(
      "show and history print a failure's kind and the chain of sub-orchestrations it came "
      "through") {
    // An activity throws in the grandchild; neither the child nor the parent catches.
    const Activity<int, int> Boom{"Boom"};
    const Orchestration<int, int> Leaf{"Leaf", 1};
    const Orchestration<int, int> Mid{"Mid", 1};
    const Orchestration<int, int> Top{"Top", 1};
    Registry r;
    r.add(Boom, [](ActivityContext&, int) -> int { throw std::runtime_error("boom"); });
    r.add(Leaf, [&](OrchestrationContext& ctx, int x) -> Task<int> {
      co_return co_await ctx.call(Boom, x);
    });
    r.add(Mid, [&](OrchestrationContext& ctx, int x) -> Task<int> {
      co_return co_await ctx.call(Leaf, x, SubOrchestrationOptions("leaf-1"));
    });
    r.add(Top, [&](OrchestrationContext& ctx, int x) -> Task<int> {
      co_return co_await ctx.call(Mid, x, SubOrchestrationOptions("mid-1"));
    });
    TempDir dir;
    auto path = dir.sub("store");
    {
      auto host = testing::start_host(r, testing::test_host_options(path));
      auto client = host->client();
      REQUIRE(Top.start(client, "top-1", 1));
      auto info = client.wait("top-1", 20s);
      REQUIRE(info);
      REQUIRE(info->status == InstanceStatus::kFailed);
    }
    auto cli = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"--store", path});
      return run_cli(args);
    };
    auto show = cli({"show", "top-1"});
    REQUIRE_EXIT(show, 0);
    CHECK_MESSAGE(contains(show.out,
                           "Failure        application std::runtime_error: boom\n"
                           "Failure kind   sub-orchestration failed\n"),
                  show.out);
    CHECK_MESSAGE(contains(show.out,
                           "Caused by      mid-1 (Mid, sub-orchestration failed) <- "
                           "leaf-1 (Leaf, activity failed)"),
                  show.out);
    auto leaf = cli({"show", "leaf-1"});
    CHECK_MESSAGE(contains(leaf.out, "Failure kind   activity failed\n"), leaf.out);
    CHECK_FALSE(contains(leaf.out, "Caused by"));

    auto json = cli({"show", "top-1", "--json"}).json();
    const auto& failure = json["instance"]["failure"];
    CHECK(failure["kind"] == "sub-orchestration failed");
    CHECK(failure["type"] == "std::runtime_error");
    REQUIRE(failure["causes"].size() == 2);
    CHECK(failure["causes"][0] ==
          Json{{"instance", "mid-1"}, {"name", "Mid"}, {"kind", "sub-orchestration failed"}});
    CHECK(failure["causes"][1] ==
          Json{{"instance", "leaf-1"}, {"name", "Leaf"}, {"kind", "activity failed"}});
    CHECK_FALSE(cli({"show", "leaf-1", "--json"}).json()["instance"]["failure"].contains("causes"));

    auto history = cli({"history", "top-1", "--wide"});
    REQUIRE_EXIT(history, 0);
    CHECK_MESSAGE(contains(history.out,
                           "ExecutionFailed            failure=std::runtime_error: boom "
                           "failure_kind=\"sub-orchestration failed\" causes=\"mid-1 (Mid, "
                           "sub-orchestration failed) <- leaf-1 (Leaf, activity failed)\""),
                  history.out);
    auto events = cli({"history", "top-1", "--json"}).json()["executions"][0]["events"];
    REQUIRE(events.size() == 4);
    CHECK(events[2]["kind"] == "SubOrchestrationFailed");
    CHECK(events[2]["failure"]["causes"].size() == 1);
    CHECK(events[3]["failure"]["causes"].size() == 2);
    auto leaf_events = cli({"history", "leaf-1", "--json"}).json()["executions"][0]["events"];
    CHECK(leaf_events[2]["failure"]["kind"] == "activity failed");
  }

  TEST_CASE("queues counts inbox messages, work items by activity, and timers") {
    Filled f;
    REQUIRE_EXIT(f.cli({"raise", "approve-1", "Approval", "1"}), 0);
    REQUIRE_EXIT(f.cli({"raise", "approve-1", "Approval", "2"}), 0);
    REQUIRE_EXIT(f.cli({"raise", "sleeper-1", "Poke"}), 0);
    auto json = f.cli({"queues", "--json"});
    REQUIRE_EXIT(json, 0);
    auto q = json.json();
    CHECK(q["inbox"]["instances"] == 2);
    CHECK(q["inbox"]["messages"] == 3);
    REQUIRE(q["inbox"]["top"].size() == 2);
    CHECK(q["inbox"]["top"][0]["instance"] == "approve-1");
    CHECK(q["inbox"]["top"][0]["messages"] == 2);
    CHECK(q["work"]["items"] == 1);
    REQUIRE(q["work"]["activities"].size() == 1);
    CHECK(q["work"]["activities"][0]["activity"] == "Block");
    CHECK(q["timers"]["timers"] == 1);
    CHECK(q["timers"]["due"] == 0);
    CHECK(q["timers"]["earliest"]["instance"] == "sleeper-1");

    auto top = f.cli({"queues", "--top", "1", "--json"}).json();
    CHECK(top["inbox"]["top"].size() == 1);
    auto text = f.cli({"queues"});
    CHECK(contains(text.out, "Inboxes: 3 messages in 2 instances"));
    CHECK(contains(text.out, "approve-1  2"));
    CHECK(contains(text.out, "Work items: 1"));
    CHECK(contains(text.out, "Block     1"));
    CHECK(contains(text.out, "Timers: 1, 0 due now; earliest"));
    CHECK(contains(text.out, "for sleeper-1/1#2"));
  }

  TEST_CASE("stats reports the file, map use, and counts by status") {
    Filled f;
    auto json = f.cli({"stats", "--json"});
    REQUIRE_EXIT(json, 0);
    auto s = json.json();
    CHECK(s["path"] == f.path);
    CHECK(s["file_bytes"].get<std::uint64_t>() == std::filesystem::file_size(f.path + "/data.mdb"));
    CHECK(s["map_used"].get<std::uint64_t>() > 0);
    CHECK(s["map_size"].get<std::uint64_t>() >= s["map_used"].get<std::uint64_t>());
    CHECK(s["page_size"].get<std::uint64_t>() >= 512);
    CHECK(s["max_readers"].get<std::uint64_t>() > 0);
    CHECK(s["instances"] == 9);
    CHECK(s["instances_by_status"]["completed"] == 3);
    CHECK(s["instances_by_status"]["running"] == 6);
    CHECK(s["executions"] == 11);  // countdown-1 has 3
    CHECK(s["work_items"] == 1);
    CHECK(s["timers"] == 1);
    CHECK(s["inbox_messages"] == 0);
    CHECK(s["history_events"].get<std::uint64_t>() > 20);
    auto text = f.cli({"stats"});
    CHECK(contains(text.out,
                   "Instances       9 (pending 0, running 6, completed 3, failed 0, cancelled 0, "
                   "terminated 0, paused 0)"));
    CHECK(contains(text.out, "Map used"));
  }
}

TEST_SUITE("cli: writing") {
  TEST_CASE("raise stores the JSON payload as msgpack in the inbox, and refuses what it must") {
    Filled f;
    auto raised =
        f.cli({"raise", "approve-1", "Approval", "{\"ok\": [1, 2.5, \"x\", null]}", "--json"});
    REQUIRE_EXIT(raised, 0);
    CHECK(raised.json()["event"] == "Approval");
    CHECK(raised.json()["seq"].get<std::uint64_t>() > 0);
    {
      auto s = f.open();
      auto inbox = s->read_inbox("approve-1");
      REQUIRE(inbox->size() == 1);
      auto& e = std::get<message::Event>(inbox->front().message);
      CHECK(e.name == "Approval");
      CHECK(Json::from_msgpack(e.payload.str()) == Json::parse("{\"ok\": [1, 2.5, \"x\", null]}"));
    }
    auto from_file = f.dir.sub("payload.json");
    std::ofstream(from_file) << "[\"ada\", 3]";
    REQUIRE_EXIT(f.cli({"raise", "approve-1", "Decision", "--payload-file", from_file}), 0);
    REQUIRE_EXIT(f.cli({"raise", "approve-1", "Stdin", "--payload-file", "-"},
                       testing::CliOptions{.stdin_text = "17"}),
                 0);
    {
      auto s = f.open();
      auto inbox = s->read_inbox("approve-1");
      REQUIRE(inbox->size() == 3);
      auto d = decode<testing::Decision>(std::get<message::Event>(inbox->at(1).message).payload);
      REQUIRE(d);
      CHECK(d->by == "ada");
      CHECK(d->level == 3);
      CHECK(*decode<int>(std::get<message::Event>(inbox->at(2).message).payload) == 17);
    }

    auto bad_json = f.cli({"raise", "approve-1", "Approval", "{\"a\": [1, 2"});
    CHECK_EXIT(bad_json, 2);
    CHECK(contains(bad_json.err, "bad JSON in the payload"));
    CHECK(contains(bad_json.err, "line 1, column 12"));
    auto reserved = f.cli({"raise", "approve-1", "topic:news", "1"});
    CHECK_EXIT(reserved, 2);
    CHECK(contains(reserved.err, "reserved for topic publications"));
    auto unknown = f.cli({"raise", "nobody", "Approval", "1"});
    CHECK_EXIT(unknown, 3);
    CHECK(contains(unknown.err, "no instance 'nobody'"));
    auto finished = f.cli({"raise", "hello-1", "Approval", "1"});
    CHECK_EXIT(finished, 5);
    CHECK(contains(finished.err, "has completed; it accepts no more events"));
    CHECK_EXIT(f.cli({"raise", "approve-1", "E", "1", "--payload-file", from_file}), 2);
    CHECK_EXIT(f.cli({"raise", "approve-1", "E", "--payload-file", f.dir.sub("none.json")}), 2);
    CHECK(f.open()->read_inbox("approve-1")->size() == 3);  // none of those wrote
  }

  TEST_CASE("events and cancellations raised while no runtime runs are taken when one starts") {
    Filled f;
    REQUIRE_EXIT(f.cli({"raise", "approve-1", "Approval", "41"}), 0);
    REQUIRE_EXIT(f.cli({"cancel", "sleeper-1", "--reason", "not needed"}), 0);
    auto terminated = f.cli({"cancel", "busy-1", "--terminate", "--json"});
    REQUIRE_EXIT(terminated, 0);
    CHECK(terminated.json()["terminate"] == true);
    CHECK_EXIT(f.cli({"cancel", "hello-1"}), 5);
    CHECK_EXIT(f.cli({"cancel", "nobody"}), 3);

    auto host = testing::start_host(f.registry, testing::test_host_options(f.path));
    auto client = host->client();
    auto approved = Approve.wait(client, "approve-1", 20s);
    REQUIRE_MESSAGE(approved, (approved ? "" : approved.error().to_string()));
    CHECK(*approved == 42);
    auto sleeper = client.wait("sleeper-1", 20s);
    REQUIRE(sleeper);
    CHECK(sleeper->status == InstanceStatus::kCancelled);
    CHECK(contains(sleeper->failure->message, "not needed"));
    auto busy = client.wait("busy-1", 20s);
    REQUIRE(busy);
    CHECK(busy->status == InstanceStatus::kTerminated);
  }

  TEST_CASE("pause holds an instance in a runtime until resume, and bad requests change nothing") {
    Filled f;
    auto paused = f.cli({"pause", "approve-1", "--reason", "audit"});
    REQUIRE_EXIT(paused, 0);
    CHECK(contains(paused.out, "pause of approve-1 requested (inbox seq "));
    auto twice = f.cli({"pause", "approve-1"});
    CHECK_EXIT(twice, 5);
    CHECK(contains(twice.err, "instance 'approve-1' is already paused"));
    auto finished = f.cli({"pause", "hello-1", "--json"});
    CHECK_EXIT(finished, 5);
    CHECK(contains(finished.err, "instance 'hello-1' has completed; it cannot be paused"));
    auto not_paused = f.cli({"resume", "sleeper-1"});
    CHECK_EXIT(not_paused, 5);
    CHECK(contains(not_paused.err, "instance 'sleeper-1' is not paused (it is running)"));
    CHECK_EXIT(f.cli({"resume", "nobody"}), 3);
    auto long_reason = f.cli({"pause", "sleeper-1", "--reason", std::string(5000, 'r')});
    CHECK_EXIT(long_reason, 2);
    CHECK(contains(long_reason.err,
                   "duractor: the reason of the pause of instance 'sleeper-1' is "
                   "5000 bytes; the limit is 4096"));
    auto long_cancel =
        f.cli({"cancel", "sleeper-1", "--terminate", "--reason", std::string(4097, 'r')});
    CHECK_EXIT(long_cancel, 2);
    CHECK(contains(long_cancel.err, "the reason of the termination of instance 'sleeper-1'"));
    CHECK(f.open()->read_inbox("sleeper-1")->empty());  // the refusals wrote nothing
    REQUIRE_EXIT(f.cli({"raise", "approve-1", "Approval", "41"}), 0);

    auto host = testing::start_host(f.registry, testing::test_host_options(f.path));
    auto client = host->client();
    REQUIRE(
        eventually([&] { return client.status("approve-1")->status == InstanceStatus::kPaused; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(client.status("approve-1")->status == InstanceStatus::kPaused);
    auto listed = f.cli({"list", "--status", "paused", "--json"});
    REQUIRE_EXIT(listed, 0);
    CHECK(ids(listed.json()["instances"]) == std::vector<std::string>{"approve-1"});
    auto shown = f.cli({"show", "approve-1"});
    REQUIRE_EXIT(shown, 0);
    CHECK(contains(shown.out, "paused"));
    auto resumed = f.cli({"resume", "approve-1", "--json"});
    REQUIRE_EXIT(resumed, 0);
    CHECK(resumed.json()["instance"] == "approve-1");
    auto approved = Approve.wait(client, "approve-1", 20s);  // the runtime saw the CLI's resume
    REQUIRE_MESSAGE(approved, (approved ? "" : approved.error().to_string()));
    CHECK(*approved == 42);
  }

  TEST_CASE(
      "delete removes a finished instance, refuses a running one without --force, and cascades") {
    Filled f;
    auto deleted = f.cli({"delete", "hello-1"});
    REQUIRE_EXIT(deleted, 0);
    CHECK(contains(deleted.out, "deleted hello-1: 5 history events"));
    auto refused = f.cli({"delete", "family-1"});
    CHECK_EXIT(refused, 5);
    CHECK(contains(refused.err, "'family-1' is running"));
    CHECK(contains(refused.err, "--force"));
    CHECK(refused.err.find("force") == refused.err.rfind("force"));  // said once
    auto forced = f.cli({"delete", "family-1", "--force", "--json"});
    REQUIRE_EXIT(forced, 0);
    CHECK(forced.json()["deleted"] == Json::array({"family-1", "family-1-kid"}));
    CHECK(forced.json()["events"].get<std::uint64_t>() > 0);
    CHECK_EXIT(f.cli({"delete", "hello-1"}), 3);
    auto s = f.open();
    for (const char* id : {"hello-1", "family-1", "family-1-kid"}) {
      CHECK(s->read_instance(id).error().code == ErrorCode::kNotFound);
    }
    CHECK(s->read_instance("hello-2"));
  }

  TEST_CASE(
      "a dry run refuses what the real purge refuses: a finished parent with a running "
      "sub-orchestration") {
    // Leaver starts a sub-orchestration and finishes without waiting for it. Finishing
    // gives up the child's future, so the child is asked to cancel; Stubborn catches that
    // and keeps waiting, so it goes on running under its finished parent.
    const Orchestration<int, int> Leaver{"Leaver", 1};
    const Orchestration<int, int> Stubborn{"Stubborn", 1};
    auto registry = testing::cli_registry();
    registry.add(Stubborn, [](OrchestrationContext& ctx, int x) -> Task<int> {
      ctx.set_custom_status("waiting for approval");
      bool cancelled = false;
      try {
        co_return x + co_await ctx.wait_event<int>("Approval");
      } catch (const Cancelled&) {
        cancelled = true;
      }
      ctx.set_custom_status(cancelled ? "cancel ignored, still waiting" : "?");
      co_return x + co_await ctx.wait_event<int>("Approval");
    });
    registry.add(Leaver, [&](OrchestrationContext& ctx, int x) -> Task<int> {
      auto kid = ctx.call(Stubborn, x, SubOrchestrationOptions(ctx.instance_id() + "-kid"));
      co_await ctx.wait_event<int>("leave");
      co_return x;
    });
    TempDir dir;
    auto path = dir.sub("store");
    {
      auto host = testing::start_host(registry, testing::test_host_options(path));
      auto client = host->client();
      REQUIRE(Leaver.start(client, "leaver-1", 1));
      REQUIRE(eventually([&] {
        auto kid = host->store().read_instance("leaver-1-kid");
        return kid && kid->custom_status == "waiting for approval";
      }));
      REQUIRE(client.raise("leaver-1", "leave", 0));
      REQUIRE(Leaver.wait(client, "leaver-1", 20s));
      REQUIRE(eventually([&] {
        auto kid = host->store().read_instance("leaver-1-kid");
        return kid && kid->custom_status == "cancel ignored, still waiting" &&
               kid->status == InstanceStatus::kRunning;
      }));
    }
    auto dry = run_cli({"--store", path, "purge", "--name", "Leaver", "--dry-run", "--json"});
    CHECK_EXIT(dry, 5);
    REQUIRE(dry.json()["refused"].size() == 1);
    CHECK(dry.json()["refused"][0]["id"] == "leaver-1");
    CHECK(dry.json()["refused"][0]["reason"] ==
          "instance 'leaver-1-kid' is running (a sub-orchestration of 'leaver-1')");
    auto real = run_cli({"--store", path, "purge", "--name", "Leaver", "--json"});
    CHECK_EXIT(real, 5);
    CHECK(real.json()["deleted"].empty());
    REQUIRE(real.json()["refused"].size() == 1);
    CHECK(contains(real.json()["refused"][0]["reason"].get<std::string>(),
                   dry.json()["refused"][0]["reason"].get<std::string>()));
    auto without_kids = run_cli(
        {"--store", path, "purge", "--name", "Leaver", "--no-cascade", "--dry-run", "--json"});
    CHECK_EXIT(without_kids, 0);
    CHECK(without_kids.json()["refused"].empty());
  }

  TEST_CASE(
      "purge deletes what a filter matches, finished ones only unless forced, with a dry run") {
    Filled f;
    auto unfiltered = f.cli({"purge"});
    CHECK_EXIT(unfiltered, 2);
    CHECK(contains(unfiltered.err, "purge needs a filter"));

    auto dry = f.cli({"purge", "--newer-than", "1h", "--dry-run", "--json"});
    REQUIRE_EXIT(dry, 0);
    CHECK(dry.json()["dry_run"] == true);
    CHECK(dry.json()["matched"] == Json::array({"hello-1", "hello-2", "hello-3"}));
    CHECK(dry.json()["deleted"].empty());
    CHECK(f.open()->read_instance("hello-1"));
    auto dry_text = f.cli({"purge", "--name", "Hello", "--dry-run"});
    CHECK(contains(dry_text.out, "would delete 3 instances"));
    CHECK(contains(dry_text.out, "\n  hello-2\n"));

    auto purged = f.cli({"purge", "--name", "Hello", "--json"});
    REQUIRE_EXIT(purged, 0);
    CHECK(purged.json()["deleted"] == Json::array({"hello-1", "hello-2", "hello-3"}));
    CHECK(purged.json()["events"] == 15);

    auto refused = f.cli({"purge", "--status", "running", "--name", "Approve"});
    CHECK_EXIT(refused, 5);
    CHECK(contains(refused.out, "refused 2 (not finished; --force deletes them)"));
    CHECK(contains(refused.out, "approve-1: it is running"));
    CHECK(f.open()->read_instance("approve-1"));

    auto forced = f.cli({"purge", "--status", "running", "--force", "--json"});
    REQUIRE_EXIT(forced, 0);
    auto gone = forced.json()["deleted"].get<std::vector<std::string>>();
    std::sort(gone.begin(), gone.end());
    CHECK(gone == std::vector<std::string>{"approve-1", "busy-1", "countdown-1", "family-1",
                                           "family-1-kid", "sleeper-1"});
    auto s = f.open();
    CHECK(s->list_instances(InstanceQuery{.limit = 0})->instances.empty());
    CHECK(s->list_work(0, 0)->empty());
    CHECK_FALSE(*s->next_timer());
  }
}

TEST_SUITE("cli: prune and purge limits") {
  TEST_CASE(
      "prune keeps the last executions of an instance that continued as new, with a dry run") {
    Filled f;  // countdown-1 runs in execution 3, after two that continued as new
    auto dry = f.cli({"prune", "countdown-1", "--keep", "1", "--dry-run"});
    REQUIRE_EXIT(dry, 0);
    CHECK(contains(dry.out, "would prune executions 1-2 of countdown-1: "));
    CHECK(contains(dry.out, "; kept 3\n"));
    CHECK(f.open()->read_executions("countdown-1")->size() == 3);
    auto dry_json = f.cli({"prune", "countdown-1", "--keep", "1", "--dry-run", "--json"});
    REQUIRE_EXIT(dry_json, 0);
    CHECK(dry_json.json()["pruned"] == Json{{"first", 1}, {"last", 2}});

    auto pruned = f.cli({"prune", "countdown-1", "--keep", "1", "--json"});
    REQUIRE_EXIT(pruned, 0);
    auto j = pruned.json();
    CHECK(j["dry_run"] == false);
    CHECK(j["pruned"] == Json{{"first", 1}, {"last", 2}});
    CHECK(j["executions"] == 2);
    CHECK(j["events"] == dry_json.json()["events"]);
    CHECK(j["events"].get<int>() > 0);
    CHECK(j["oldest_kept"] == 3);
    CHECK(j["current"] == 3);
    auto executions = f.open()->read_executions("countdown-1");
    REQUIRE(executions->size() == 1);
    CHECK(executions->front().execution == 3);

    auto gone = f.cli({"history", "countdown-1", "--execution", "1"});
    CHECK_EXIT(gone, 3);
    CHECK(contains(gone.err,
                   "execution 1 of instance 'countdown-1' was pruned (the oldest kept is "
                   "execution 3)"));
    auto all = f.cli({"history", "countdown-1", "--all", "--json"});
    REQUIRE_EXIT(all, 0);
    REQUIRE(all.json()["executions"].size() == 1);
    CHECK(all.json()["executions"][0]["execution"] == 3);

    auto again = f.cli({"prune", "countdown-1", "--keep", "1"});
    REQUIRE_EXIT(again, 0);
    CHECK(again.out == "nothing to prune: countdown-1 keeps only execution 3, within --keep 1\n");
    auto once = f.cli({"prune", "hello-1", "--keep", "2"});
    REQUIRE_EXIT(once, 0);
    CHECK(once.out == "nothing to prune: hello-1 has one execution (it never continued as new)\n");

    // The pruned instance exports and imports.
    auto file = f.dir.sub("countdown.json");
    REQUIRE_EXIT(f.cli({"export", "countdown-1", "-o", file}), 0);
    auto imported = f.cli({"import", file, "--as", "countdown-copy", "--json"});
    REQUIRE_EXIT(imported, 0);
    auto copy = f.open()->read_executions("countdown-copy");
    REQUIRE(copy);
    REQUIRE(copy->size() == 1);
    CHECK(copy->front().execution == 3);
  }

  TEST_CASE("prune refuses an unknown id and a bad --keep, and changes nothing") {
    Filled f;
    auto unknown = f.cli({"prune", "nobody", "--keep", "1"});
    CHECK_EXIT(unknown, 3);
    CHECK(unknown.err == "duractor: no instance 'nobody'\n");
    for (const char* keep : {"0", "-1", "two", "1.5", "4294967296"}) {
      CAPTURE(keep);
      auto bad = f.cli({"prune", "countdown-1", "--keep", keep});
      CHECK_EXIT(bad, 2);
      CHECK(contains(bad.err, "--keep"));
      CHECK(bad.out.empty());
    }
    auto zero = f.cli({"prune", "countdown-1", "--keep", "0"});
    CHECK(zero.err == "duractor: --keep 0: expected a whole number from 1 to 4294967295\n");
    auto missing = f.cli({"prune", "countdown-1"});
    CHECK_EXIT(missing, 2);
    CHECK(contains(missing.err, "--keep is required"));
    CHECK(f.open()->read_executions("countdown-1")->size() == 3);
  }

  TEST_CASE("purge --limit caps the deletions of one run, and refuses a bad limit") {
    Filled f;
    for (const char* limit : {"0", "-3", "ten", ""}) {
      CAPTURE(limit);
      auto bad = f.cli({"purge", "--name", "Hello", "--limit", limit});
      CHECK_EXIT(bad, 2);
      CHECK(contains(bad.err, "--limit"));
      CHECK(bad.out.empty());
    }
    auto zero = f.cli({"purge", "--name", "Hello", "--limit", "0"});
    CHECK(zero.err ==
          "duractor: --limit 0: expected a whole number from 1 to 9223372036854775807\n");
    CHECK(f.open()->list_instances(InstanceQuery{.name = "Hello"})->instances.size() == 3);

    auto dry = f.cli({"purge", "--name", "Hello", "--limit", "2", "--dry-run", "--json"});
    REQUIRE_EXIT(dry, 0);
    CHECK(dry.json()["matched"] == Json::array({"hello-1", "hello-2"}));
    CHECK(dry.json()["limit_reached"] == true);
    auto first = f.cli({"purge", "--name", "Hello", "--limit", "2"});
    REQUIRE_EXIT(first, 0);
    CHECK(contains(first.out, "deleted 2 instances: 10 history events\n"));
    CHECK(contains(first.out, "stopped at --limit 2: more instances match"));
    CHECK(ids(Json(f.cli({"list", "--name", "Hello", "--json"}).json()["instances"])) ==
          std::vector<std::string>{"hello-3"});
    auto rest = f.cli({"purge", "--name", "Hello", "--limit", "2", "--json"});
    REQUIRE_EXIT(rest, 0);
    CHECK(rest.json()["deleted"] == Json::array({"hello-3"}));
    CHECK(rest.json()["limit_reached"] == false);
  }

  TEST_CASE("purge --completed-before matches finished instances by when they finished") {
    Filled f;
    for (const char* bad : {"yesterday", "2026-02-30", "2026-11-26T10:00:00", ""}) {
      CAPTURE(bad);
      auto refused = f.cli({"purge", "--completed-before", bad});
      CHECK_EXIT(refused, 2);
      CHECK(refused.err == "duractor: --completed-before: bad time '" + std::string(bad) +
                               "': expected a UTC time (2026-11-26T10:46:12Z, "
                               "2026-11-26T10:46:12.553Z), a date (2026-11-26) or a duration ago "
                               "(30m, 7d)\n");
    }
    CHECK(f.open()->list_instances(InstanceQuery{.limit = 0})->instances.size() == 9);

    auto none = f.cli({"purge", "--completed-before", "2000-01-01", "--dry-run", "--json"});
    REQUIRE_EXIT(none, 0);
    CHECK(none.json()["matched"].empty());
    // Running instances have not finished, so they never match, whatever --status says.
    auto now = f.cli({"purge", "--completed-before", "0s", "--status", "running,completed",
                      "--dry-run", "--json"});
    REQUIRE_EXIT(now, 0);
    CHECK(now.json()["matched"] == Json::array({"hello-1", "hello-2", "hello-3"}));

    // Exclusive: an instance that finished at the time given is kept.
    auto s = f.open();
    auto third = s->read_instance("hello-3");
    REQUIRE(third->completed_at);
    std::vector<std::string> earlier;
    for (const char* id : {"hello-1", "hello-2"}) {
      if (*s->read_instance(id)->completed_at < *third->completed_at) earlier.push_back(id);
    }
    s.reset();
    auto purged =
        f.cli({"purge", "--completed-before", cli::iso_time(*third->completed_at), "--json"});
    REQUIRE_EXIT(purged, 0);
    CHECK(purged.json()["deleted"].get<std::vector<std::string>>() == earlier);
    CHECK(f.open()->read_instance("hello-3"));
  }
}

TEST_SUITE("cli: export and import") {
  TEST_CASE(
      "a finished instance exported from one store imports into another with the same history") {
    Filled f;
    auto file = f.dir.sub("hello-1.json");
    auto exported = f.cli({"export", "hello-1", "-o", file});
    REQUIRE_EXIT(exported, 0);
    CHECK(
        contains(exported.out, "exported hello-1 to " + file + ": 1 execution, 5 history events"));
    auto to_stdout = f.cli({"export", "hello-1"});
    auto document = Json::parse(to_stdout.out);
    CHECK(document["format"] == "duractor-export");
    CHECK(document["version"] == 1);
    CHECK(document["instance"]["id"] == "hello-1");
    CHECK(document["instance"]["output"] == "Hello, ada!");
    CHECK(document["executions"][0]["events"][1]["input"] == "ada");
    CHECK(document["executions"][0]["events"][1]["record"].is_string());

    auto other = f.dir.sub("other");
    auto imported = run_cli({"--store", other, "import", file, "--create-store", "--json"});
    REQUIRE_EXIT(imported, 0);
    CHECK(imported.json()["instance"] == "hello-1");
    CHECK(imported.json()["events"] == 5);
    auto copy = run_cli({"--store", other, "import", file, "--as", "hello-copy"});
    REQUIRE_EXIT(copy, 0);
    CHECK(contains(copy.out, "imported hello-1 as hello-copy into " + other));

    auto source = f.open();
    LmdbOptions o;
    o.path = other;
    o.read_only = true;
    auto target = LmdbStore::open(o);
    REQUIRE(target);
    for (const char* id : {"hello-1", "hello-copy"}) {
      CAPTURE(id);
      CHECK(*(*target)->read_history(id, 1) == *source->read_history("hello-1", 1));
      CHECK(*(*target)->read_executions(id) == *source->read_executions("hello-1"));
      auto info = (*target)->read_instance(id);
      auto original = *source->read_instance("hello-1");
      original.id = id;
      CHECK(*info == original);
    }
  }

  TEST_CASE("import refuses a taken id and malformed files, naming what is wrong") {
    Filled f;
    auto file = f.dir.sub("approve-1.json");
    REQUIRE_EXIT(f.cli({"export", "approve-1", "-o", file}), 0);
    auto taken = f.cli({"import", file});
    CHECK_EXIT(taken, 5);
    CHECK(contains(taken.err, "instance 'approve-1' already exists"));

    auto good = Json::parse(std::ifstream(file));
    auto write = [&](const std::string& name, const std::string& text) {
      auto path = f.dir.sub(name);
      std::ofstream(path) << text;
      return path;
    };
    struct Case {
      std::string name;
      std::string text;
      std::string expected;
    };
    std::vector<Case> cases;
    cases.push_back({"not-json", "{\"format\": ", "bad JSON in"});
    auto wrong_format = good;
    wrong_format["format"] = "something-else";
    cases.push_back({"format", wrong_format.dump(), "format: expected \"duractor-export\""});
    auto newer = good;
    newer["version"] = 2;
    cases.push_back({"version", newer.dump(), "has version 2, newer than this duractor reads"});
    auto not_base64 = good;
    not_base64["executions"][0]["events"][0]["record"] = "%%%";
    cases.push_back({"base64", not_base64.dump(), "executions[0].events[0].record: not base64"});
    auto edited = good;
    edited["executions"][0]["events"][1]["kind"] = "TimerFired";
    cases.push_back({"edited", edited.dump(), "executions[0].events[1].kind: is \"TimerFired\""});
    auto no_record = good;
    no_record["instance"].erase("record");
    cases.push_back({"no-record", no_record.dump(), "instance.record: missing"});
    auto renamed = good;
    renamed["instance"]["id"] = "other";
    cases.push_back({"renamed", renamed.dump(), "use --as"});
    for (const auto& c : cases) {
      CAPTURE(c.name);
      auto run = f.cli({"import", write(c.name + ".json", c.text), "--as", "fresh"});
      CHECK_EXIT(run, 2);
      CHECK_MESSAGE(contains(run.err, c.expected), run.err);
    }
    CHECK_EXIT(f.cli({"import", f.dir.sub("missing.json")}), 2);
    CHECK(f.open()->read_instance("fresh").error().code == ErrorCode::kNotFound);
    CHECK_EXIT(f.cli({"export", "nobody"}), 3);
  }
}

namespace {

const Activity<int, int> Charge{"Charge"};
const Orchestration<int, int> Order{"Order", 1};
std::atomic<int> charge_calls{0};
std::atomic<int> charge_failures{0};  // Charge fails while this is above 0

// The CLI registry and Order: Greet, then Charge (which fails while charge_failures > 0).
Registry order_registry() {
  auto r = testing::cli_registry();
  r.add(Charge, [](ActivityContext&, int x) {
    ++charge_calls;
    if (charge_failures-- > 0) throw std::runtime_error("card declined");
    return x * 2;
  });
  r.add(Order, [](OrchestrationContext& ctx, int x) -> Task<int> {
    co_await ctx.call(testing::Greet, std::string("order"));
    co_return co_await ctx.call(Charge, x);
  });
  return r;
}

}  // namespace

TEST_SUITE("cli: rewind and fork") {
  TEST_CASE("rewind runs a failed instance on from its failure in the runtime that starts next") {
    TempDir dir;
    auto registry = order_registry();
    auto path = dir.sub("store");
    auto cli = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"--store", path});
      return run_cli(args);
    };
    charge_failures = 1;
    charge_calls = 0;
    {
      auto host = testing::start_host(registry, testing::test_host_options(path));
      auto client = host->client();
      REQUIRE(client.start(Order, "order-1", 21));
      REQUIRE(client.start(Approve, "waiting-1", 1));
      auto failed = client.wait("order-1", 20s);
      REQUIRE(failed);
      REQUIRE(failed->status == InstanceStatus::kFailed);
    }
    CHECK(charge_calls == 1);
    auto running = cli({"rewind", "waiting-1"});
    CHECK_EXIT(running, 5);
    CHECK(running.err ==
          "duractor: cannot rewind instance 'waiting-1': it is running; only a failed instance "
          "can be rewound\n");
    CHECK_EXIT(cli({"rewind", "nobody"}), 3);
    auto history_before = cli({"history", "order-1", "--json"});
    REQUIRE_EXIT(history_before, 0);

    auto rewound = cli({"rewind", "order-1"});
    REQUIRE_EXIT(rewound, 0);
    CHECK(rewound.out ==
          "rewound order-1 execution 1: kept 4 events, dropped 2; 1 activity to run created\n");
    auto again = cli({"rewind", "order-1", "--json"});
    CHECK_EXIT(again, 5);  // running now
    CHECK(contains(again.err, "it is running"));
    auto shown = cli({"show", "order-1", "--json"});
    REQUIRE_EXIT(shown, 0);
    CHECK(shown.json()["instance"]["status"] == "running");
    CHECK(shown.json()["instance"]["failure"].is_null());

    auto host = testing::start_host(registry, testing::test_host_options(path));
    auto client = host->client();
    auto out = client.wait_output<int>("order-1", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == 42);
    CHECK(charge_calls == 2);
    auto history = client.history("order-1");
    REQUIRE(history);
    CHECK(history->size() == 6);  // Started, Greet (2), Charge (2), completed
  }

  TEST_CASE("rewind --json lists what it created") {
    TempDir dir;
    auto registry = order_registry();
    auto path = dir.sub("store");
    charge_failures = 1;
    {
      auto host = testing::start_host(registry, testing::test_host_options(path));
      auto client = host->client();
      REQUIRE(client.start(Order, "order-2", 1));
      REQUIRE(client.wait("order-2", 20s));
    }
    auto rewound = run_cli({"--store", path, "--json", "rewind", "order-2"});
    REQUIRE_EXIT(rewound, 0);
    auto j = rewound.json();
    CHECK(j["instance"] == "order-2");
    CHECK(j["execution"] == 1);
    CHECK(j["kept"] == 4);
    CHECK(j["dropped"] == 2);
    REQUIRE(j["work"].size() == 1);
    CHECK(j["work"][0]["activity"] == "Charge");
    CHECK(j["work"][0]["scheduled_id"] == 4);
    CHECK(j["timers"].empty());
    CHECK(j["rewound"] == Json::array({"order-2"}));
    CHECK(j["woken"].empty());
  }

  TEST_CASE("fork copies the first steps into a new instance that a runtime runs on") {
    Filled f;
    auto forked = f.cli({"fork", "hello-1", "--at", "2", "--into", "hello-copy"});
    REQUIRE_EXIT(forked, 0);
    CHECK(forked.out ==
          "forked hello-1 execution 1 at step 2 into hello-copy (events 1-2 copied); 1 activity "
          "to run created\n");
    auto shown = f.cli({"show", "hello-copy"});
    REQUIRE_EXIT(shown, 0);
    CHECK(contains(shown.out, "Forked from"));
    CHECK(contains(shown.out, "hello-1/1 at step 2"));
    auto json = f.cli({"show", "hello-copy", "--json"});
    REQUIRE_EXIT(json, 0);
    CHECK(json.json()["instance"]["forked_from"] ==
          Json{{"instance", "hello-1"}, {"execution", 1}, {"step", 2}});
    CHECK(f.cli({"show", "hello-1", "--json"}).json()["instance"]["forked_from"].is_null());
    auto exported = f.cli({"export", "hello-copy"});
    REQUIRE_EXIT(exported, 0);
    CHECK(exported.json()["instance"]["forked_from"]["step"] == 2);
    auto forked_json = f.cli({"--json", "fork", "hello-2", "--at", "2", "--into", "hello-copy2"});
    REQUIRE_EXIT(forked_json, 0);
    CHECK(forked_json.json()["forked_from"] ==
          Json{{"instance", "hello-2"}, {"execution", 1}, {"step", 2}});
    CHECK(forked_json.json()["work"][0]["activity"] == "Greet");

    auto host = testing::start_host(f.registry, testing::test_host_options(f.path));
    auto client = host->client();
    auto out = testing::Hello.wait(client, "hello-copy", 20s);
    REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
    CHECK(*out == "Hello, ada!");
    CHECK(client.status("hello-1")->status == InstanceStatus::kCompleted);
  }

  TEST_CASE("fork refuses a bad step, a taken id and an unknown source, and changes nothing") {
    Filled f;
    struct Case {
      std::vector<std::string> args;
      int exit_code;
      std::string says;
    };
    for (const auto& c : std::vector<Case>{
             {{"fork", "hello-1", "--at", "0", "--into", "x"},
              2,
              "duractor: cannot fork instance 'hello-1' at step 0 of execution 1: the execution "
              "has 5 events (steps 1..5)\n"},
             {{"fork", "hello-1", "--at", "6", "--into", "x"}, 2, "has 5 events (steps 1..5)"},
             {{"fork", "hello-1", "--at", "3", "--into", "x"},
              2,
              "it cuts inside one step of the code: events 4..5 were recorded together, in "
              "response to event 3 (ActivityCompleted); fork at 2 instead"},
             {{"fork", "hello-1", "--at", "two", "--into", "x"}, 2, "--at two: expected a step"},
             {{"fork", "hello-1", "--into", "x"}, 2, "--at is required"},
             {{"fork", "hello-1", "--at", "2"}, 2, "--into is required"},
             {{"fork", "hello-1", "--at", "2", "--into", "hello-2"},
              5,
              "cannot fork into instance 'hello-2': it already exists"},
             {{"fork", "nobody", "--at", "2", "--into", "x"}, 3, "no instance 'nobody'"},
             {{"fork", "hello-1", "--at", "2", "--execution", "2", "--into", "x"},
              3,
              "instance 'hello-1' has no execution 2"},
             {{"fork", "family-1", "--at", "2", "--into", "x"},
              2,
              "sub-orchestration 'Approve' (instance 'family-1-kid', event 2) would be "
              "outstanding"}}) {
      CAPTURE(c.args);
      auto run = f.cli(c.args);
      CHECK_EXIT(run, c.exit_code);
      CHECK_MESSAGE(contains(run.err, c.says), run.err);
      CHECK(run.out.empty());
    }
    auto listed = f.cli({"list", "--json", "--limit", "0"});
    REQUIRE_EXIT(listed, 0);
    CHECK(listed.json()["instances"].size() == 9);  // no x
  }
}

TEST_SUITE("cli: usage") {
  TEST_CASE(
      "a missing store, a directory that is no store, and no store at all have their own exit "
      "codes") {
    TempDir dir;
    auto missing = run_cli({"--store", dir.sub("none"), "list"});
    CHECK_EXIT(missing, 4);
    CHECK(contains(missing.err, "store " + dir.sub("none") + " does not exist"));
    std::filesystem::create_directory(dir.sub("empty"));
    auto empty = run_cli({"--store", dir.sub("empty"), "raise", "x", "E"});
    CHECK_EXIT(empty, 4);
    CHECK(contains(empty.err, "is not a duractor store (it has no data.mdb)"));
    CHECK_FALSE(std::filesystem::exists(dir.sub("empty") + "/data.mdb"));  // not created
    std::ofstream(dir.sub("empty") + "/data.mdb") << std::string(8192, 'x');
    auto garbage = run_cli({"--store", dir.sub("empty"), "stats"});
    CHECK_EXIT(garbage, 4);
    CHECK(contains(garbage.err, "not an LMDB file"));
    auto none = run_cli({"list"});
    CHECK_EXIT(none, 2);
    CHECK(contains(none.err, "no store given"));
    auto from_env = run_cli({"list", "--json"},
                            testing::CliOptions{.env = {{"DURACTOR_STORE", dir.sub("none")}}});
    CHECK_EXIT(from_env, 4);
    auto json_error = run_cli({"--store", dir.sub("none"), "--json", "list"});
    CHECK(json_error.out.empty());
    auto error = Json::parse(json_error.err);
    CHECK(error["error"]["exit_code"] == 4);
    CHECK(contains(error["error"]["message"].get<std::string>(), "does not exist"));
  }

  TEST_CASE(
      "bad flags and durations are usage errors, and --help lists the commands and exit codes") {
    TempDir dir;
    for (auto args :
         std::vector<std::vector<std::string>>{{},
                                               {"frobnicate"},
                                               {"list", "--bogus"},
                                               {"list", "--status", "done"},
                                               {"list", "--older-than", "7x"},
                                               {"--lock-timeout", "soon", "raise", "a", "E"},
                                               {"--lock-timeout", "soon", "list"},
                                               {"--lock-timeout", "10ms", "raise", "a", "E"},
                                               {"show"}}) {
      args.insert(args.begin(), {"--store", dir.path()});
      auto run = run_cli(args);
      CHECK_EXIT(run, 2);
      CHECK(run.out.empty());
      CHECK(contains(run.err, "duractor: "));
    }
    auto short_wait = run_cli({"--store", dir.path(), "--lock-timeout", "10ms", "list"});
    CHECK(
        contains(short_wait.err, "--lock-timeout 10ms is too short: a write needs at least 100ms"));
    auto help = run_cli({"--help"});
    CHECK_EXIT(help, 0);
    for (const char* part : {"list", "show", "history", "raise", "cancel", "delete", "purge",
                             "prune", "rewind", "fork", "queues", "stats", "export", "import",
                             "Exit codes:", "6  another process holds the store's writer lock"}) {
      CHECK_MESSAGE(contains(help.out, part), part);
    }
    auto version = run_cli({"--version"});
    CHECK_EXIT(version, 0);
    // The version comes from CMake's project() alone, through the library.
    CHECK(std::string(duractor::version()) == DURACTOR_PROJECT_VERSION);
    CHECK(contains(version.out, std::string("duractor ") + DURACTOR_PROJECT_VERSION));
  }
}

}  // namespace duractor
