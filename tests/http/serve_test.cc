// `duractor serve`, the real binary: the HTTP API on a bare store, with no runtime in its
// process. What it writes, a runtime that opens the store concurrently picks up and runs;
// what that runtime records, the server reads.

#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/support/host_fixture.h"
#include "tests/support/program.h"

namespace duractor {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using testing::eventually;
using testing::Program;

namespace {

const Orchestration<std::string, std::string> Echo{"Echo", 1};
const Orchestration<int, bool> Approval{"Approval", 1};

const std::string kToken = "serve-token-0123456789abcdef";

Registry registry() {
  Registry r;
  r.add(Echo, [](OrchestrationContext&, std::string s) -> Task<std::string> { co_return s; });
  r.add(Approval, [](OrchestrationContext& ctx, int) -> Task<bool> {
    co_return co_await ctx.wait_event<bool>("decision");
  });
  return r;
}

// The port in "serving STORE on http://127.0.0.1:PORT/api/v1 ...".
int port_of(const std::string& line) {
  auto at = line.find("127.0.0.1:");
  REQUIRE(at != std::string::npos);
  return std::stoi(line.substr(at + 10));
}

}  // namespace

TEST_SUITE("http: duractor serve") {
  TEST_CASE("serve writes to a bare store, and a runtime that opens it runs what was started") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    auto reg = registry();
    testing::start_host(reg, testing::test_host_options(store)).reset();  // creates the store

    Program serve(DURACTOR_CLI_BIN, {"--store", store, "serve", "--port", "0"},
                  {"DURACTOR_HTTP_TOKEN=" + kToken});
    auto serving = serve.read_until("serving ", 30s);
    REQUIRE_MESSAGE(serving, serve.output());
    CHECK(serving->find(kToken) == std::string::npos);
    httplib::Client http("127.0.0.1", port_of(*serving));
    http.set_read_timeout(20s);
    httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
    auto call = [&](const httplib::Result& r) {
      REQUIRE(r);
      INFO(r->body);
      return std::pair<int, Json>{r->status, Json::parse(r->body)};
    };
    auto status_of = [&](const std::string& id) {
      return call(http.Get(("/api/v1/instances/" + id).c_str(), auth)).second["status"];
    };

    CHECK(call(http.Get("/api/v1/instances")).first == 401);
    CHECK(call(http.Post("/api/v1/instances", auth,
                         R"({"name": "Echo", "id": "s-1", "input": "hi"})", "application/json"))
              .first == 201);
    CHECK(call(http.Post("/api/v1/instances", auth,
                         R"({"name": "Approval", "id": "a-1", "input": 1})", "application/json"))
              .first == 201);
    // Nobody runs them yet.
    CHECK(status_of("s-1") == "pending");
    auto stats = call(http.Get("/api/v1/stats", auth)).second;
    CHECK(stats["instances"] == 2);
    CHECK_FALSE(stats.contains("runtime"));

    // A runtime opens the store while the server runs.
    auto host = testing::start_host(reg, testing::test_host_options(store));
    REQUIRE(eventually([&] { return status_of("s-1") == "completed"; }));
    CHECK(call(http.Get("/api/v1/instances/s-1", auth)).second["output"] == "hi");
    REQUIRE(eventually([&] { return status_of("a-1") == "running"; }));
    CHECK(call(http.Post("/api/v1/instances/a-1/events/decision", auth, "true", "application/json"))
              .first == 200);
    REQUIRE(eventually([&] { return status_of("a-1") == "completed"; }));
    CHECK(*host->client().wait_output<bool>("a-1", 0s) == true);
    // An event with an Idempotency-Key through the bare store: applied once.
    REQUIRE(call(http.Post("/api/v1/instances", auth,
                           R"({"name": "Approval", "id": "k-1", "input": 1})", "application/json"))
                .first == 201);
    REQUIRE(eventually([&] { return status_of("k-1") == "running"; }));
    auto keyed = auth;
    keyed.emplace("Idempotency-Key", "hook-9");
    auto once =
        call(http.Post("/api/v1/instances/k-1/events/decision", keyed, "true", "application/json"));
    CHECK(once.first == 200);
    CHECK(call(http.Post("/api/v1/instances/k-1/events/decision", keyed, "true",
                         "application/json")) == once);
    REQUIRE(eventually([&] { return status_of("k-1") == "completed"; }));
    CHECK(call(http.Get("/api/v1/stats", auth)).second["message_ids"] == 1);
    // Refusals come from the store as they would from the runtime.
    CHECK(call(http.Post("/api/v1/instances/a-1/events/decision", auth, "true", "application/json"))
              .first == 409);
    CHECK(call(http.Post("/api/v1/instances/nobody/cancel", auth, "", "application/json")).first ==
          404);
    CHECK(call(http.Delete("/api/v1/instances/s-1", auth)).second["deleted"] ==
          Json::array({"s-1"}));

    ::kill(serve.pid(), SIGTERM);
    CHECK(serve.wait(20s) == 0);
  }

  TEST_CASE("serve refuses to start without a token or a store, naming why") {
    testing::TempDir dir;
    auto store = dir.sub("store");
    auto reg = registry();
    testing::start_host(reg, testing::test_host_options(store)).reset();
    Program no_token(DURACTOR_CLI_BIN, {"--store", store, "serve", "--port", "0"},
                     {"DURACTOR_HTTP_TOKEN="});
    CHECK(no_token.wait(20s) == 2);
    CHECK(no_token.output().find("no token") != std::string::npos);
    Program remote(DURACTOR_CLI_BIN,
                   {"--store", store, "serve", "--port", "0", "--bind", "0.0.0.0"},
                   {"DURACTOR_HTTP_TOKEN=" + kToken});
    CHECK(remote.wait(20s) == 2);
    CHECK(remote.output().find("allow_remote") != std::string::npos);
    Program open(DURACTOR_CLI_BIN, {"--store", store, "serve", "--port", "0", "--bind", "0.0.0.0",
                                    "--allow-remote", "--anonymous-reads"});
    CHECK(open.wait(20s) == 2);
    CHECK(open.output().find("only on a loopback") != std::string::npos);
    Program no_store(DURACTOR_CLI_BIN, {"--store", dir.sub("nothing"), "serve", "--port", "0"},
                     {"DURACTOR_HTTP_TOKEN=" + kToken});
    CHECK(no_store.wait(20s) == 4);
  }
}

}  // namespace duractor
