// Export files and the store as replay-check's inputs: instances run by a real host,
// exported with the CLI's writer (the code path of `duractor export`), read back with the
// library's reader, and checked; bad files give clear errors.

#include <doctest/doctest.h>

#include <fstream>

#include "duractor/cli/transfer.h"
#include "duractor/ops/export_file.h"
#include "duractor/ops/replay_check.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

const Activity<int, int> Reserve{"reserve"};
const Activity<int, int> Charge{"charge"};
const Activity<int, int> Bill{"bill"};
const Orchestration<int, int> Order{"Order", 1};
const Orchestration<int, int> Counter{"Counter", 1};

Task<int> order(OrchestrationContext& ctx, int n) {
  int a = co_await ctx.call(Reserve, n);
  int b = co_await ctx.call(Charge, n);
  co_return a + b;
}
Task<int> counter(OrchestrationContext& ctx, int n) {
  co_await ctx.call(Reserve, n);
  if (n < 3) co_await ctx.continue_as_new(n + 1);
  co_return n;
}

Registry production() {
  Registry r;
  r.add(Reserve, [](ActivityContext&, int n) { return n + 1; });
  r.add(Charge, [](ActivityContext&, int n) { return n * 10; });
  r.add(Order, order);
  r.add(Counter, counter);
  return r;
}

// The new code: bills instead of charging. Counter is unchanged.
Registry changed() {
  Registry r;
  r.add(Order, [](OrchestrationContext& ctx, int n) -> Task<int> {
    int a = co_await ctx.call(Reserve, n);
    int b = co_await ctx.call(Bill, n);
    co_return a + b;
  });
  r.add(Counter, counter);
  return r;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  REQUIRE(file);
}

// Runs order-1 and counter-1 on a real host in `dir`, exports both into `dir`/exports.
void run_and_export(const TempDir& dir) {
  auto registry = production();
  auto host = testing::start_host(registry, testing::test_host_options(dir.sub("store")));
  auto client = host->client();
  REQUIRE(Order.run(client, "order-1", 1, 20s) == 12);
  REQUIRE(Counter.run(client, "counter-1", 1, 20s) == 3);
  std::filesystem::create_directories(dir.sub("exports"));
  for (const auto* id : {"order-1", "counter-1"}) {
    auto image = host->store().export_instance(id);
    REQUIRE(image);
    auto document = cli::export_document(*image, dir.sub("store"), from_unix_ms(0));
    write_file(dir.sub("exports") + "/" + id + ".json", document.dump(2) + "\n");
  }
}

}  // namespace

TEST_SUITE("replay check inputs") {
  TEST_CASE("exported instances read back and replay-check against old and new code") {
    TempDir dir("replay-check");
    run_and_export(dir);

    auto image = read_export_file(dir.sub("exports") + "/counter-1.json");
    REQUIRE_MESSAGE(image, (image ? "" : image.error().message));
    CHECK(image->info.id == "counter-1");
    CHECK(image->executions.size() == 3);

    auto same = replay_check_files(production(), {dir.sub("exports")});
    REQUIRE_MESSAGE(same, (same ? "" : same.error().message));
    CHECK(same->ok());
    REQUIRE(same->instances.size() == 2);
    // In name order: counter-1.json, order-1.json.
    CHECK(same->instances[0].instance == "counter-1");
    CHECK(same->instances[0].source == dir.sub("exports") + "/counter-1.json");
    CHECK(same->instances[0].executions.size() == 3);
    CHECK(same->instances[1].instance == "order-1");
    CHECK(same->instances[1].executions[0].state == "completed");

    auto other = replay_check_files(
        changed(), {dir.sub("exports") + "/order-1.json", dir.sub("exports") + "/counter-1.json"});
    REQUIRE(other);
    CHECK_FALSE(other->ok());
    CHECK(other->instances[0].verdict == ReplayVerdict::kNondeterministic);
    CHECK(other->instances[0].message ==
          "execution 1, event 4: recorded ActivityScheduled 'charge', the code now schedules "
          "activity 'bill'");
    CHECK(other->instances[1].verdict == ReplayVerdict::kOk);
  }

  TEST_CASE("a store's instances replay-check in place, filtered by the query") {
    TempDir dir("replay-check");
    auto registry = production();
    auto host = testing::start_host(registry, testing::test_host_options(dir.sub("store")));
    auto client = host->client();
    REQUIRE(Order.run(client, "order-1", 1, 20s) == 12);
    REQUIRE(Order.run(client, "order-2", 2, 20s) == 23);
    REQUIRE(Counter.run(client, "counter-1", 1, 20s) == 3);

    InstanceQuery all;
    all.limit = 1;  // every page is read
    auto report = replay_check(changed(), host->store(), all);
    REQUIRE(report);
    REQUIRE(report->instances.size() == 3);
    CHECK(report->count(ReplayVerdict::kNondeterministic) == 2);
    CHECK(report->count(ReplayVerdict::kOk) == 1);

    InstanceQuery counters;
    counters.name = "Counter";
    auto only = replay_check(changed(), host->store(), counters);
    REQUIRE(only);
    REQUIRE(only->instances.size() == 1);
    CHECK(only->ok());
  }

  TEST_CASE("files that cannot be read or are not export files give errors naming them") {
    TempDir dir("replay-check");
    auto registry = production();

    auto missing = replay_check_files(registry, {dir.sub("nope.json")});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::kNotFound);
    CHECK(missing.error().message ==
          "cannot read export file " + dir.sub("nope.json") + ": no such file");

    std::filesystem::create_directories(dir.sub("empty"));
    auto empty = replay_check_files(registry, {dir.sub("empty")});
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message == "no export files (*.json) in directory " + dir.sub("empty"));

    write_file(dir.sub("bad.json"), "{\"format\": \"duractor-export\"");
    auto bad = read_export_file(dir.sub("bad.json"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::kInvalidArgument);
    CHECK(bad.error().message.find("export file " + dir.sub("bad.json") + ": bad JSON: ") == 0);

    write_file(dir.sub("other.json"), "{\"format\": \"something-else\"}");
    auto other = replay_check_files(registry, {dir.sub("other.json")});
    REQUIRE_FALSE(other);
    CHECK(other.error().message == "export file " + dir.sub("other.json") +
                                       ": format: expected \"duractor-export\" (not a duractor "
                                       "export file?)");

    auto text = read_export_text("{\"format\": \"duractor-export\", \"version\": 9}");
    REQUIRE_FALSE(text);
    CHECK(text.error().message.find("newer than this duractor reads (1)") != std::string::npos);
  }
}

}  // namespace duractor
