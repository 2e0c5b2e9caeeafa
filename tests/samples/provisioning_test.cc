// The provisioning sample as a user runs it: a real process, killed with SIGKILL in the
// middle and started again on the same store, resumes and finishes; every cloud resource
// is created once. And the rollback paths: a resource that cannot be created, a refused
// approval and a missed deadline tear down what was made, in reverse.

#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "tests/support/program.h"
#include "tests/support/temp_dir.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::Program;

// Fast but not instant: every step takes long enough to be killed in the middle of.
std::vector<std::string> args(const std::string& store, std::vector<std::string> more = {}) {
  std::vector<std::string> a{store, "--latency-ms", "30", "--boot-ms", "300", "--approve-after-ms", "50"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

nlohmann::json cloud_state(const std::string& store) {
  std::ifstream in(store + "-cloud.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

int count_lines(const Program& p, const std::string& text) {
  int n = 0;
  for (const auto& l : p.lines()) n += l.find(text) != std::string::npos;
  return n;
}

}  // namespace

TEST_SUITE("samples: provisioning") {
  TEST_CASE("killed with SIGKILL twice mid-run, it resumes each time and creates every resource once") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    {
      Program first(PROVISIONING_BIN, args(store));
      REQUIRE(first.read_until("progress provision-demo: creating database and 3 VMs", 30s));
      first.kill();  // the network exists and is recorded; the database and VMs are under way
      CHECK(count_lines(first, "cloud: created network demo-net") == 1);
    }
    {
      Program second(PROVISIONING_BIN, args(store));
      auto resumed = second.read_until("resuming provision-demo", 30s);
      REQUIRE(resumed);
      CHECK(resumed->find("creating database and 3 VMs") != std::string::npos);
      REQUIRE(second.read_until("progress provision-demo: waiting for 3 VMs to pass health checks", 30s));
      second.kill();
      CHECK(count_lines(second, "create network") == 0);  // recorded before the first kill
    }
    Program third(PROVISIONING_BIN, args(store));
    int status = third.wait(60s);
    INFO(third.output());
    REQUIRE(status == 0);
    CHECK(count_lines(third, "resuming provision-demo, which was at: waiting for 3 VMs") == 1);
    CHECK(count_lines(third, "cloud: created") == 0);  // everything was created before
    CHECK(count_lines(third, "environment demo is ready at https://demo.example.internal") == 1);

    auto cloud = cloud_state(store);
    std::map<std::string, int> kinds;
    for (const auto& [id, r] : cloud["resources"].items()) {
      ++kinds[r["kind"]];
      if (r["kind"] == "vm") CHECK(r["release"] == "v1.0");
    }
    CHECK(kinds == std::map<std::string, int>{{"database", 1}, {"dns", 1}, {"network", 1}, {"vm", 3}});
    for (const auto& [name, n] : cloud["creations"].items()) {
      INFO(name);
      CHECK(n == 1);
    }
    CHECK(cloud["creations"].size() == 6);
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
      if (auto at = l.find("cloud: deleted "); at != std::string::npos) deleted.push_back(l.substr(at + 15));
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
    Program late(PROVISIONING_BIN,
                 args(store, {"--env", "late", "--approval", "manual", "--approval-deadline-ms", "300"}));
    CHECK(late.wait(60s) == 3);
    CHECK(count_lines(late, "approve with:  duractor") == 1);
    CHECK(count_lines(late, "rolled back: no approval within the deadline") == 1);
    CHECK(cloud_state(store)["resources"].empty());
  }

  TEST_CASE("a manual approval raised with the duractor CLI while the sample runs lets it finish") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    Program sample(PROVISIONING_BIN,
                   args(store, {"--env", "cli", "--approval", "manual", "--approval-deadline-ms", "60000"}));
    auto hint = sample.read_until("approve with:", 30s);
    REQUIRE(hint);
    // The command the sample prints is the one that works.
    CHECK(hint->find("duractor --store " + store + " raise provision-cli Approval '{") != std::string::npos);
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
}

}  // namespace duractor
