// The provisioning sample as a user runs it: a real process, killed with SIGKILL in the
// middle and started again on the same store, resumes and finishes, and repeats no step
// whose completion was recorded. The simulated cloud's create is idempotent by name, so the
// number of resources cannot show a repeated step; its call log (cloud.h) can, and the
// history read with the duractor CLI at each kill tells which steps were recorded and
// which were in flight. And the rollback paths: a resource that cannot be created, a
// refused approval and a missed deadline tear down what was made, in reverse.

#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "tests/support/mqtt_broker.h"
#include "tests/support/program.h"
#include "tests/support/temp_dir.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::Program;

// Fast but not instant: every step takes long enough to be killed in the middle of.
std::vector<std::string> args(const std::string& store, std::vector<std::string> more = {}) {
  std::vector<std::string> a{store, "--latency-ms",       "30", "--boot-ms",
                             "300", "--approve-after-ms", "50"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

nlohmann::json cloud_state(const std::string& store) {
  std::ifstream in(store + "-cloud.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

// The sample for environment `env`, waiting for a manual approval, serving HTTP on a free
// port.
std::vector<std::string> serving_args(const std::string& store, const std::string& env) {
  return args(store, {"--env", env, "--approval", "manual", "--approval-deadline-ms", "60000",
                      "--http-port", "0"});
}

// The port in the sample's "HTTP API on http://127.0.0.1:PORT/api/v1, ..." line.
int port_of(const std::string& line) {
  return std::stoi(line.substr(line.find("127.0.0.1:") + 10));
}

int count_lines(const Program& p, const std::string& text) {
  int n = 0;
  for (const auto& l : p.lines()) n += l.find(text) != std::string::npos;
  return n;
}

// The Create steps of provision-demo as its history holds them: by resource name, those
// whose completion is recorded, and those in flight (scheduled, neither completed nor
// failed: at-least-once allows them to run again).
struct CreateSteps {
  std::set<std::string> recorded;
  std::set<std::string> in_flight;
};

CreateSteps create_steps(const std::string& store) {
  Program cli(DURACTOR_CLI_BIN, {"--store", store, "--json", "history", "provision-demo"});
  int status = cli.wait(30s);
  INFO(cli.output());
  REQUIRE(status == 0);
  auto history = nlohmann::json::parse(cli.output());
  CreateSteps steps;
  for (const auto& execution : history.at("executions")) {
    std::map<std::int64_t, std::string> open;  // ActivityScheduled id -> resource name
    for (const auto& e : execution.at("events")) {
      const auto& kind = e.at("kind");
      if (kind == "ActivityScheduled" && e.at("name") == "Create") {
        open[e.at("id")] = e.at("input").at("name");
      } else if (kind == "ActivityCompleted" || kind == "ActivityFailed") {
        auto step = open.find(e.at("scheduled_id"));
        if (step == open.end()) continue;
        if (kind == "ActivityCompleted") steps.recorded.insert(step->second);
        open.erase(step);
      }
    }
    for (const auto& [id, name] : open) steps.in_flight.insert(name);
  }
  return steps;
}

// Create calls the cloud answered (anything but a 503, which the retry policy repeats),
// by resource name, among the calls [from, to) of its call log.
std::map<std::string, int> answered_creates(const nlohmann::json& calls, std::size_t from,
                                            std::size_t to) {
  std::map<std::string, int> n;
  for (std::size_t i = from; i < to; ++i) {
    const auto& c = calls.at(i);
    if (c.at("call") == "create" && c.at("answer") != "503") ++n[c.at("resource")];
  }
  return n;
}

}  // namespace

TEST_SUITE("samples: provisioning") {
  TEST_CASE(
      "killed with SIGKILL twice mid-run, it resumes each time and repeats no recorded step") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    std::vector<CreateSteps> at_kill;        // what the history held at each kill
    std::vector<std::size_t> calls_at_kill;  // how long the cloud's call log was then
    {
      Program first(PROVISIONING_BIN, args(store));
      REQUIRE(first.read_until("progress provision-demo: creating database and 3 VMs", 30s));
      REQUIRE(first.kill() == 128 + SIGKILL);  // ours, not a crash of its own
      INFO(first.output());
      CHECK(count_lines(first, "cloud: created network demo-net") == 1);
      at_kill.push_back(create_steps(store));
      calls_at_kill.push_back(cloud_state(store)["calls"].size());
      CHECK(at_kill.back().recorded.count("demo-net") == 1);  // the network is recorded
    }
    {
      Program second(PROVISIONING_BIN, args(store));
      auto resumed = second.read_until("resuming provision-demo", 30s);
      REQUIRE(resumed);
      CHECK(resumed->find("creating database and 3 VMs") != std::string::npos);
      REQUIRE(second.read_until("progress provision-demo: waiting for 3 VMs to pass health checks",
                                30s));
      REQUIRE(second.kill() == 128 + SIGKILL);
      at_kill.push_back(create_steps(store));
      calls_at_kill.push_back(cloud_state(store)["calls"].size());
    }
    Program third(PROVISIONING_BIN, args(store));
    int status = third.wait(60s);
    INFO(third.output());
    REQUIRE(status == 0);
    CHECK(count_lines(third, "resuming provision-demo, which was at: waiting for 3 VMs") == 1);
    CHECK(count_lines(third, "environment demo is ready at https://demo.example.internal") == 1);

    auto cloud = cloud_state(store);
    std::map<std::string, int> kinds;
    for (const auto& [id, r] : cloud["resources"].items()) {
      ++kinds[r["kind"]];
      if (r["kind"] == "vm") CHECK(r["release"] == "v1.0");
    }
    CHECK(kinds ==
          std::map<std::string, int>{{"database", 1}, {"dns", 1}, {"network", 1}, {"vm", 3}});
    CHECK(cloud["creations"].size() == 6);
    // Each run's answered create calls: run r made the calls between kill r-1 and kill r.
    const auto& calls = cloud["calls"];
    std::vector<std::size_t> bounds{0};
    bounds.insert(bounds.end(), calls_at_kill.begin(), calls_at_kill.end());
    bounds.push_back(calls.size());
    std::vector<std::map<std::string, int>> per_run;
    for (std::size_t r = 0; r + 1 < bounds.size(); ++r) {
      per_run.push_back(answered_creates(calls, bounds[r], bounds[r + 1]));
    }
    for (const auto& [name, n] : cloud["creations"].items()) {
      CAPTURE(name);
      CHECK(n == 1);
      int total = 0, allowed = 1;
      for (std::size_t r = 0; r < per_run.size(); ++r) {
        CAPTURE(r);
        total += per_run[r][name];
        CHECK(per_run[r][name] <= 1);  // no run asks twice
        if (r == 0) continue;
        // After a kill, a step runs again only if it was in flight at that kill.
        const auto& steps = at_kill[r - 1];
        if (steps.recorded.count(name)) CHECK(per_run[r][name] == 0);
        if (steps.in_flight.count(name)) ++allowed;
      }
      CHECK(total >= 1);
      CHECK(total <= allowed);
    }
  }

  TEST_CASE("a resource that cannot be created rolls back everything made, in reverse") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    Program run(PROVISIONING_BIN, args(store, {"--break", "dns"}));
    int status = run.wait(60s);
    INFO(run.output());
    CHECK(status == 3);
    CHECK(count_lines(run, "provision-demo failed: environment demo rolled back: ") == 1);
    CHECK(count_lines(run, "403 quota exceeded for dns") >= 1);
    // A 403 will be the same next time: the activity fails for good (NonRetryableError),
    // and the retry policy, which allows 6 attempts, makes no second one.
    CHECK(count_lines(run, "cloud: create dns demo.example.internal -> 403 quota exceeded") == 1);
    CHECK(count_lines(run, "cloud resources left: 0") == 1);
    // Deleted in reverse: the VMs and the database first (in reverse of their order in the
    // history), the network last.
    std::vector<std::string> deleted;
    for (const auto& l : run.lines()) {
      if (auto at = l.find("cloud: deleted "); at != std::string::npos)
        deleted.push_back(l.substr(at + 15));
    }
    REQUIRE(deleted.size() == 5);
    CHECK(deleted.back().rfind("net-", 0) == 0);
    CHECK(cloud_state(store)["resources"].empty());
  }

  TEST_CASE("a refused approval and a missed deadline both roll back") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    Program refused(PROVISIONING_BIN, args(store, {"--env", "refused", "--approval", "reject"}));
    CHECK(refused.wait(60s) == 3);
    CHECK(count_lines(refused, "rolled back: rejected by alice") == 1);
    Program late(PROVISIONING_BIN, args(store, {"--env", "late", "--approval", "manual",
                                                "--approval-deadline-ms", "300"}));
    CHECK(late.wait(60s) == 3);
    CHECK(count_lines(late, "approve with:  duractor") == 1);
    CHECK(count_lines(late, "rolled back: no approval within the deadline") == 1);
    CHECK(cloud_state(store)["resources"].empty());
  }

  TEST_CASE("a manual approval raised with the duractor CLI while the sample runs lets it finish") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    Program sample(PROVISIONING_BIN, args(store, {"--env", "cli", "--approval", "manual",
                                                  "--approval-deadline-ms", "60000"}));
    auto hint = sample.read_until("approve with:", 30s);
    REQUIRE(hint);
    // The command the sample prints is the one that works.
    CHECK(hint->find("duractor --store " + store + " raise provision-cli Approval '{") !=
          std::string::npos);
    Program cli(DURACTOR_CLI_BIN, {"--store", store, "raise", "provision-cli", "Approval",
                                   R"({"approved": true, "by": "operator"})"});
    CHECK(cli.wait(30s) == 0);
    INFO(cli.output());
    int status = sample.wait(60s);
    INFO(sample.output());
    CHECK(status == 0);
    CHECK(count_lines(sample, "approved by operator; rolling out v1.0") >= 1);
    CHECK(count_lines(sample, "environment cli is ready") == 1);
  }

  TEST_CASE("with --mqtt-port the approval comes from mosquitto_pub, and progress goes out") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    std::filesystem::create_directories(dir.sub("broker"));
    testing::MqttBroker broker(dir.sub("broker"));
    testing::MqttTestClient observer(broker.port(), "observer");
    observer.subscribe("provisioning/#");
    Program sample(PROVISIONING_BIN,
                   args(store, {"--env", "mq", "--approval", "manual", "--approval-deadline-ms",
                                "60000", "--mqtt-port", std::to_string(broker.port())}));
    REQUIRE(sample.read_until("MQTT bridge to 127.0.0.1:", 30s));
    auto hint = sample.read_until("or over MQTT:", 30s);
    REQUIRE(hint);
    // The command the sample prints is the one that works: run it as a user would.
    auto command = hint->substr(hint->find("mosquitto_pub"));
    CHECK(command.find(" -t provisioning/provision-mq/approval ") != std::string::npos);
    Program pub("/bin/sh", {"-c", command});
    CHECK(pub.wait(30s) == 0);
    INFO(pub.output());
    int status = sample.wait(60s);
    INFO(sample.output());
    CHECK(status == 0);
    CHECK(count_lines(sample, "approved by you; rolling out v1.0") >= 1);
    CHECK(count_lines(sample, "environment mq is ready") == 1);
    // The progress went out as lifecycle notifications, one message per change.
    std::set<std::string> statuses;
    for (const auto& m : observer.received()) {
      if (m.topic != "provisioning/provision-mq/custom_status") continue;
      auto body = nlohmann::json::parse(m.payload);
      CHECK(body["instance"] == "provision-mq");
      CHECK(m.user_properties.at("message-id") == body["message_id"]);
      statuses.insert(body["custom_status"].get<std::string>());
    }
    CHECK(statuses.count("awaiting approval") == 1);
    CHECK(std::count_if(statuses.begin(), statuses.end(), [](const std::string& s) {
            return s.rfind("approved by you; rolling out v1.0", 0) == 0;
          }) >= 1);
  }

  TEST_CASE("with --http-port the sample is watched and approved over HTTP") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    const std::string token = "sample-token-0123456789abcdef";
    Program sample(PROVISIONING_BIN, serving_args(store, "web"), {"DURACTOR_HTTP_TOKEN=" + token});
    auto serving = sample.read_until("HTTP API on http://127.0.0.1:", 30s);
    REQUIRE(serving);
    int port = port_of(*serving);
    CHECK(serving->find(token) == std::string::npos);  // the token is never printed
    auto hint = sample.read_until("or over HTTP:", 30s);
    REQUIRE(hint);
    CHECK(hint->find("/api/v1/instances/provision-web/events/Approval") != std::string::npos);

    httplib::Client http("127.0.0.1", port);
    httplib::Headers auth{{"Authorization", "Bearer " + token}};
    auto list = http.Get("/api/v1/instances?status=running", auth);
    REQUIRE(list);
    REQUIRE(list->status == 200);
    auto listed = nlohmann::json::parse(list->body)["instances"];
    bool found = false;
    for (const auto& i : listed) found = found || i["id"] == "provision-web";
    CHECK(found);
    auto show = http.Get("/api/v1/instances/provision-web", auth);
    REQUIRE(show);
    CHECK(nlohmann::json::parse(show->body)["custom_status"] == "awaiting approval");
    auto approve = http.Post("/api/v1/instances/provision-web/events/Approval", auth,
                             R"({"approved": true, "by": "web"})", "application/json");
    REQUIRE(approve);
    CHECK(approve->status == 200);
    int status = sample.wait(60s);
    INFO(sample.output());
    CHECK(status == 0);
    CHECK(count_lines(sample, "approved by web; rolling out v1.0") >= 1);
    CHECK(count_lines(sample, "environment web is ready") == 1);
  }

  TEST_CASE(
      "the web page in headless Chromium lists the sample, draws its timeline, and raises "
      "its approval") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    const std::string token = "page-token-0123456789abcdef";
    Program sample(PROVISIONING_BIN, serving_args(store, "page"), {"DURACTOR_HTTP_TOKEN=" + token});
    auto serving = sample.read_until("HTTP API on http://127.0.0.1:", 30s);
    REQUIRE(serving);
    int port = port_of(*serving);
    REQUIRE(sample.read_until("or over HTTP:", 30s));  // at the approval gate

    auto shot = dir.sub("page.png");
    Program browser(PYTHON3_BIN, {DRIVE_PAGE_SCRIPT, "http://127.0.0.1:" + std::to_string(port),
                                  token, "provision-page", shot});
    int driven = browser.wait(120s);
    INFO(browser.output());
    REQUIRE(driven == 0);
    auto report = nlohmann::json::parse(browser.lines().back());
    CHECK(report["listed"] == true);
    CHECK(report["token_left_in_address"] == false);  // the page took it out of the address
    // One bar per resource the flow created (more when a create was retried).
    for (std::string resource :
         {"page-net", "page-db", "page-vm-1", "page-vm-2", "page-vm-3", "page.example.internal"}) {
      int bars = 0;
      for (const auto& b : report["bars"]) {
        auto label = b["label"].get<std::string>();
        bars += b["class"].get<std::string>().starts_with("bar activity") &&
                label.starts_with("Create") && label.find(resource) != std::string::npos;
      }
      CHECK_MESSAGE(bars >= 1, resource);
    }
    // At the gate it waits for the approval's deadline.
    CHECK(report["waiting"].get<std::string>().find("timer until") != std::string::npos);
    CHECK(report["history_rows"].get<int>() > 10);
    CHECK(report["final_status"] == "completed");
    CHECK(std::filesystem::file_size(shot) > 10'000);

    int status = sample.wait(60s);
    INFO(sample.output());
    CHECK(status == 0);
    CHECK(count_lines(sample, "approved by the web page; rolling out v1.0") >= 1);
    CHECK(count_lines(sample, "environment page is ready") == 1);
  }
}

}  // namespace duractor
