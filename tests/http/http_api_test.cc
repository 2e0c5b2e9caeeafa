// The HTTP API (docs/http.md) against the real runtime on a real store, over loopback TCP
// with a real HTTP client: authentication, every route, and every error the API documents.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "duractor/http/host.h"
#include "tests/support/host_fixture.h"

namespace duractor {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using testing::eventually;

namespace {

const Orchestration<std::string, std::string> Echo{"Echo", 1};
const Orchestration<int, bool> Approval{"Approval", 1};
const Orchestration<int, int> Watcher{"Watcher", 1};
const Orchestration<int, int> Parent{"Parent", 1};
const Orchestration<int, int> Adder{"Adder", 1};

const std::string kToken = "s3cret-token-0123456789";

Registry registry() {
  Registry r;
  r.add(Echo, [](OrchestrationContext&, std::string s) -> Task<std::string> { co_return s; });
  r.add(Approval, [](OrchestrationContext& ctx, int) -> Task<bool> {
    co_return co_await ctx.wait_event<bool>("decision");
  });
  r.add(Watcher, [](OrchestrationContext& ctx, int) -> Task<int> {
    ctx.subscribe("prices");
    co_return co_await ctx.next_message<int>("prices");
  });
  r.add(Adder, [](OrchestrationContext& ctx, int) -> Task<int> {  // the sum of two messages
    ctx.subscribe("numbers");
    int a = co_await ctx.next_message<int>("numbers");
    int b = co_await ctx.next_message<int>("numbers");
    co_return a + b;
  });
  r.add(Parent, [](OrchestrationContext& ctx, int x) -> Task<int> {
    bool approved = co_await ctx.call(Approval, x, "parent/child");
    co_return approved ? 1 : 0;
  });
  return r;
}

struct Api {
  explicit Api(http::ServerOptions options = with_token()) {
    auto host_options = testing::test_host_options(dir.sub("store"));
    host_options.metrics = metrics;
    host = testing::start_host(reg, host_options);
    auto s = http::serve(*host, std::move(options));
    REQUIRE_MESSAGE(s, (s ? "" : s.error().to_string()));
    server = std::move(*s);
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(20s);
  }
  static http::ServerOptions with_token() {
    http::ServerOptions o;
    o.token = kToken;
    return o;
  }
  httplib::Headers auth(const std::string& token = kToken) const {
    return {{"Authorization", "Bearer " + token}};
  }
  // The answer's status and JSON body.
  std::pair<int, Json> get(const std::string& path) const {
    return parse(client->Get(path.c_str(), auth()));
  }
  std::pair<int, Json> post(const std::string& path, const std::string& body) const {
    return parse(client->Post(path.c_str(), auth(), body, "application/json"));
  }
  std::pair<int, Json> post_once(const std::string& path, const std::string& body,
                                 const std::string& key) const {
    auto headers = auth();
    headers.emplace("Idempotency-Key", key);
    return parse(client->Post(path.c_str(), headers, body, "application/json"));
  }
  std::pair<int, Json> del(const std::string& path) const {
    return parse(client->Delete(path.c_str(), auth()));
  }
  static std::pair<int, Json> parse(const httplib::Result& r) {
    REQUIRE_MESSAGE(r, "no answer: " << httplib::to_string(r.error()));
    INFO(r->body);
    auto type = r->get_header_value("Content-Type");
    CHECK(type == "application/json");
    return {r->status, Json::parse(r->body)};
  }
  // Starts `name` as `id` through the API and waits until it runs.
  void start_running(const std::string& name, const std::string& id, int input) const {
    auto body = Json{{"name", name}, {"id", id}, {"input", input}}.dump();
    REQUIRE(post("/api/v1/instances", body).first == 201);
    wait_status(id, "running");
  }
  // Waits until the instance's status is `status`.
  void wait_status(const std::string& id, const std::string& status) const {
    REQUIRE(eventually([&] {
      auto [code, body] = get("/api/v1/instances/" + id);
      return code == 200 && body["status"] == status;
    }));
  }

  testing::TempDir dir;
  Registry reg = registry();
  std::shared_ptr<RuntimeMetrics> metrics = std::make_shared<RuntimeMetrics>(reg);
  std::unique_ptr<Host> host;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<httplib::Client> client;
};

// The error body every refusal carries.
void check_error(const std::pair<int, Json>& answer, int status, int exit_code,
                 const std::string& words) {
  INFO(answer.second.dump());
  CHECK(answer.first == status);
  CHECK(answer.second["error"]["status"] == status);
  CHECK(answer.second["error"]["exit_code"] == exit_code);
  CHECK(answer.second["error"]["message"].get<std::string>().find(words) != std::string::npos);
}

// Sends `request` as it is on a new connection to the server and reads the answer until
// the server closes the connection.
std::string raw_request(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(port);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, got);
  ::close(fd);
  return answer;
}

}  // namespace

TEST_SUITE("http: the JSON API") {
  TEST_CASE("the server refuses options that would leave it open, naming the option") {
    testing::TempDir dir;
    auto reg = registry();
    auto host = testing::start_host(reg, testing::test_host_options(dir.sub("store")));
    auto refused = [&](http::ServerOptions o, const std::string& words) {
      auto s = http::serve(*host, o);
      REQUIRE_FALSE(s);
      CHECK(s.error().code == ErrorCode::kInvalidArgument);
      INFO(s.error().message);
      CHECK(s.error().message.find(words) != std::string::npos);
      // The token itself is never in the message.
      if (!o.token.empty()) CHECK(s.error().message.find(o.token) == std::string::npos);
    };
    refused({}, "no token");
    refused({.token = "short-secret"}, "at least 16");
    refused({.bind = "0.0.0.0", .token = kToken}, "allow_remote");  // plain HTTP to the network
    refused({.bind = "0.0.0.0", .allow_remote = true, .anonymous_reads = true},
            "only on a loopback");
    refused({.bind = "localhost", .token = kToken}, "not an IPv4 or IPv6 address");
    refused({.token = kToken, .threads = 0}, "threads");

    // A port that is taken: kIo, naming the address.
    auto first = http::serve(*host, {.token = kToken});
    REQUIRE(first);
    auto second = http::serve(*host, {.port = (*first)->port(), .token = kToken});
    REQUIRE_FALSE(second);
    CHECK(second.error().code == ErrorCode::kIo);
    CHECK(second.error().message.find("127.0.0.1:" + std::to_string((*first)->port())) !=
          std::string::npos);
  }

  TEST_CASE("every call needs the bearer token, and a wrong one is refused without being named") {
    Api api;
    auto none = api.client->Get("/api/v1/instances");
    REQUIRE(none);
    CHECK(none->status == 401);
    CHECK(none->get_header_value("WWW-Authenticate") == "Bearer");
    check_error(Api::parse(none), 401, 1, "missing Authorization");

    auto basic = api.client->Get("/api/v1/instances", {{"Authorization", "Basic abc"}});
    check_error(Api::parse(basic), 401, 1, "must be 'Bearer <token>'");

    std::string wrong = kToken.substr(0, kToken.size() - 1) + "X";
    auto bad = api.client->Get("/api/v1/instances", api.auth(wrong));
    REQUIRE(bad);
    CHECK(bad->body.find(wrong) == std::string::npos);
    CHECK(bad->body.find(kToken) == std::string::npos);
    check_error(Api::parse(bad), 401, 1, "not valid");
    // A prefix of the token, and the token with more after it, are wrong too.
    CHECK(api.client->Get("/api/v1/instances", api.auth(kToken.substr(0, 8)))->status == 401);
    CHECK(api.client->Get("/api/v1/instances", api.auth(kToken + "x"))->status == 401);
    // Writes too, and nothing is started.
    auto post =
        api.client->Post("/api/v1/instances", R"({"name": "Echo", "id": "e"})", "application/json");
    CHECK(post->status == 401);
    CHECK(api.host->client().status("e").error().code == ErrorCode::kNotFound);

    CHECK(api.get("/api/v1/instances").first == 200);

    // A refused request's body is read and dropped: the next request on the same keep-alive
    // connection is the client's, not that body taken for a request.
    httplib::Client keep("127.0.0.1", api.server->port());
    keep.set_keep_alive(true);
    std::string smuggle = "GET /api/v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    auto refused = keep.Post("/api/v1/topics/t", api.auth(wrong), smuggle, "application/json");
    REQUIRE(refused);
    CHECK(refused->status == 401);
    auto next = keep.Get("/api/v1/instances", api.auth());
    REQUIRE(next);
    CHECK(next->status == 200);
    CHECK(Json::parse(next->body).contains("instances"));  // the listing, not the stats

    // The page holds no data, so it is served without the token; it is compiled in, with a
    // policy that lets it reach only this server.
    auto page = api.client->Get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(page->get_header_value("Content-Security-Policy").find("connect-src 'self'") !=
          std::string::npos);
    CHECK(page->body.find("<title>duractor</title>") != std::string::npos);
    CHECK(page->body.find(kToken) == std::string::npos);
    CHECK(api.client->Get("/page.html", api.auth())->status == 404);  // no files are served

    // On loopback, a request addressed to another name (DNS rebinding) is refused.
    auto rebound = api.client->Get(
        "/api/v1/instances", {{"Authorization", "Bearer " + kToken}, {"Host", "evil.example"}});
    check_error(Api::parse(rebound), 421, 1, "only requests to 127.0.0.1");
    auto localhost = api.client->Get(
        "/api/v1/instances", {{"Authorization", "Bearer " + kToken}, {"Host", "localhost:1234"}});
    CHECK(localhost->status == 200);
  }

  TEST_CASE("64 clients connecting at once are all answered") {
    // Debian's httplib listens with a backlog of 5; the server raises it.
    http::ServerOptions options = Api::with_token();
    options.threads = 64;
    Api api(options);
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 64; ++i) {
      clients.emplace_back([&] {
        httplib::Client c("127.0.0.1", api.server->port());
        c.set_keep_alive(true);
        c.set_read_timeout(20s);
        for (int k = 0; k < 10; ++k) {
          auto r = c.Post("/api/v1/topics/t", api.auth(), "1", "application/json");
          if (r && r->status == 200) ++answered;
        }
      });
    }
    for (auto& t : clients) t.join();
    CHECK(answered == 640);
  }

  TEST_CASE("bodies must be JSON with a Content-Length: forms and chunked bodies are refused") {
    Api api;
    api.start_running("Approval", "d-1", 1);
    // A form (curl -d's default type) would be merged into the query parameters: force=true.
    auto form = api.client->Delete("/api/v1/instances/d-1", api.auth(), "force=true",
                                   "application/x-www-form-urlencoded");
    check_error(Api::parse(form), 415, 2, "Content-Type: application/json");
    CHECK(api.get("/api/v1/instances/d-1").second["status"] == "running");  // not deleted
    check_error(Api::parse(api.client->Post("/api/v1/topics/t", api.auth(), "1", "text/plain")),
                415, 2, "got 'text/plain'");
    // A chunked body has no length to check against the limit before it is read: refused on
    // its headers, and the connection closed.
    auto answer = raw_request(api.server->port(),
                              "POST /api/v1/topics/t HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Authorization: Bearer " +
                                  kToken +
                                  "\r\nContent-Type: application/json\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n");
    CHECK(answer.starts_with("HTTP/1.1 411"));
    CHECK(answer.find("Connection: close") != std::string::npos);
    CHECK(answer.find("not Transfer-Encoding") != std::string::npos);
    // A POST with neither (curl -X POST with no -d) is one httplib cannot read: the answer
    // says what it needs.
    answer = raw_request(api.server->port(),
                         "POST /api/v1/instances/d-1/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Authorization: Bearer " +
                             kToken + "\r\nConnection: close\r\n\r\n");
    CHECK(answer.starts_with("HTTP/1.1 400"));
    CHECK(answer.find("a POST needs a Content-Length header") != std::string::npos);
    CHECK(answer.find("longer than 8192 bytes") != std::string::npos);
    // No body at all is fine (a null payload).
    CHECK(api.post("/api/v1/instances/d-1/events/decision", "").first == 200);
  }

  TEST_CASE("anonymous reads on loopback: GETs without a token, writes forbidden") {
    Api api(http::ServerOptions{.anonymous_reads = true});
    auto list = api.client->Get("/api/v1/instances");
    REQUIRE(list);
    CHECK(list->status == 200);
    auto post = api.client->Post("/api/v1/instances", R"({"name": "Echo"})", "application/json");
    check_error(Api::parse(post), 403, 1, "only reads");
  }

  TEST_CASE("start, show, history, executions and list, with payloads as JSON") {
    Api api;
    auto started = api.post("/api/v1/instances", R"({"name": "Echo", "id": "e-1", "input": "hi"})");
    CHECK(started.first == 201);
    CHECK(started.second["id"] == "e-1");
    api.wait_status("e-1", "completed");
    auto [code, info] = api.get("/api/v1/instances/e-1");
    CHECK(code == 200);
    CHECK(info["name"] == "Echo");
    CHECK(info["input"] == "hi");
    CHECK(info["output"] == "hi");
    CHECK(info["children"] == Json::array());

    // The same start again is idempotent; with another input it is a conflict.
    CHECK(api.post("/api/v1/instances", R"({"name": "Echo", "id": "e-1", "input": "hi"})").first ==
          201);
    check_error(api.post("/api/v1/instances", R"({"name": "Echo", "id": "e-1", "input": "no"})"),
                409, 5, "different input");

    // A generated id.
    auto generated = api.post("/api/v1/instances", R"({"name": "Echo", "input": "x"})");
    CHECK(generated.first == 201);
    CHECK_FALSE(generated.second["id"].get<std::string>().empty());

    auto history = api.get("/api/v1/instances/e-1/history");
    CHECK(history.first == 200);
    const auto& events = history.second["events"];
    REQUIRE(events.size() >= 2);
    CHECK(events.front()["kind"] == "ExecutionStarted");
    CHECK(events.front()["input"] == "hi");
    CHECK(events.back()["kind"] == "ExecutionCompleted");
    CHECK(events.back()["output"] == "hi");

    auto executions = api.get("/api/v1/instances/e-1/executions");
    CHECK(executions.first == 200);
    CHECK(executions.second["executions"].size() == 1);

    // Listing with filters and pages.
    api.start_running("Approval", "a-1", 1);
    auto running = api.get("/api/v1/instances?status=running");
    REQUIRE(running.first == 200);
    REQUIRE(running.second["instances"].size() == 1);
    CHECK(running.second["instances"][0]["id"] == "a-1");
    auto both = api.get("/api/v1/instances?status=running,completed&name=Echo");
    CHECK(both.second["instances"].size() == 2);
    auto page = api.get("/api/v1/instances?limit=1");
    REQUIRE(page.second["instances"].size() == 1);
    REQUIRE(page.second["next"].is_string());
    auto rest =
        api.get("/api/v1/instances?limit=10&after=" + page.second["next"].get<std::string>());
    CHECK(rest.second["instances"].size() == 2);
    CHECK(rest.second["next"].is_null());
    auto future = api.get("/api/v1/instances?created_after=2999-01-01T00:00:00Z");
    CHECK(future.second["instances"].empty());
    auto past = api.get("/api/v1/instances?created_after=2000-01-01T00:00:00.000Z");
    CHECK(past.second["instances"].size() == 3);
  }

  TEST_CASE("bad input is 400 naming the field or parameter, and unknown names and ids too") {
    Api api;
    check_error(api.post("/api/v1/instances", "{nope"), 400, 2, "not JSON");
    check_error(api.post("/api/v1/instances", "[1]"), 400, 2, "JSON object");
    check_error(api.post("/api/v1/instances", R"({"input": 1})"), 400, 2, "field 'name'");
    check_error(api.post("/api/v1/instances", R"({"name": 7})"), 400, 2, "field 'name'");
    check_error(api.post("/api/v1/instances", R"({"name": "Echo", "id": 7})"), 400, 2,
                "field 'id'");
    check_error(api.post("/api/v1/instances", R"({"name": "Echo", "version": -1})"), 400, 2,
                "field 'version'");
    check_error(api.post("/api/v1/instances", R"({"name": "Nope"})"), 400, 2, "Nope");
    check_error(api.post("/api/v1/instances", R"({"name": "Echo", "id": "bad\u0001id"})"), 400, 2,
                "control character");
    check_error(api.get("/api/v1/instances?status=asleep"), 400, 2, "parameter 'status'");
    check_error(api.get("/api/v1/instances?limit=0"), 400, 2, "parameter 'limit'");
    check_error(api.get("/api/v1/instances?limit=ten"), 400, 2, "parameter 'limit'");
    check_error(api.get("/api/v1/instances?created_before=yesterday"), 400, 2,
                "parameter 'created_before'");
    check_error(api.get("/api/v1/instances/nobody"), 404, 3, "nobody");
    check_error(api.get("/api/v1/instances/nobody/history"), 404, 3, "nobody");
    check_error(api.post("/api/v1/instances/nobody/events/decision", "true"), 404, 3, "nobody");
    check_error(api.post("/api/v1/instances/nobody/cancel", ""), 404, 3, "nobody");
    check_error(api.get("/api/v1/nothing-here"), 404, 3, "no such route");
    // Nothing was created by any of them.
    auto list = api.get("/api/v1/instances");
    CHECK(list.second["instances"].empty());
  }

  TEST_CASE("raise an event, publish to a topic, cancel, terminate and delete") {
    Api api;
    api.start_running("Approval", "a-1", 1);
    auto raised = api.post("/api/v1/instances/a-1/events/decision", "true");
    CHECK(raised.first == 200);
    api.wait_status("a-1", "completed");
    CHECK(api.get("/api/v1/instances/a-1").second["output"] == true);
    // Raising to a finished instance is refused as the runtime refuses it.
    auto late = api.post("/api/v1/instances/a-1/events/decision", "false");
    CHECK(late.first == 409);

    REQUIRE(
        api.post("/api/v1/instances", R"({"name": "Watcher", "id": "w-1", "input": 0})").first ==
        201);
    REQUIRE(eventually([&] { return api.host->store().subscriptions("w-1")->size() == 1; }));
    auto published = api.post("/api/v1/topics/prices", "42");
    CHECK(published.first == 200);
    CHECK(published.second["delivered"] == Json::array({"w-1"}));
    api.wait_status("w-1", "completed");
    CHECK(api.get("/api/v1/instances/w-1").second["output"] == 42);

    api.start_running("Approval", "c-1", 1);
    check_error(api.post("/api/v1/instances/c-1/cancel", "[]"), 400, 2, "JSON object");
    CHECK(api.post("/api/v1/instances/c-1/cancel", R"({"reason": "changed my mind"})").first ==
          200);
    api.wait_status("c-1", "cancelled");
    CHECK(api.get("/api/v1/instances/c-1")
              .second["failure"]["message"]
              .get<std::string>()
              .find("changed my mind") != std::string::npos);
    check_error(api.post("/api/v1/instances/c-1/cancel", ""), 409, 5, "has cancelled");

    api.start_running("Approval", "t-1", 1);
    CHECK(api.post("/api/v1/instances/t-1/terminate", "").first == 200);
    api.wait_status("t-1", "terminated");

    // Pause and resume.
    api.start_running("Approval", "p-1", 1);
    CHECK(api.post("/api/v1/instances/p-1/pause", R"({"reason": "maintenance"})").first == 200);
    api.wait_status("p-1", "paused");
    CHECK(api.post("/api/v1/instances/p-1/events/decision", "true").first == 200);
    check_error(api.post("/api/v1/instances/p-1/pause", ""), 409, 5, "paused");
    CHECK(api.post("/api/v1/instances/p-1/resume", "").first == 200);
    api.wait_status("p-1", "completed");
    check_error(api.post("/api/v1/instances/p-1/resume", ""), 409, 5, "completed");

    // Delete: a running instance only with force.
    api.start_running("Approval", "d-1", 1);
    check_error(api.del("/api/v1/instances/d-1"), 409, 5, "force");
    check_error(api.del("/api/v1/instances/d-1?force=yes"), 400, 2, "parameter 'force'");
    auto deleted = api.del("/api/v1/instances/d-1?force=true");
    CHECK(deleted.first == 200);
    CHECK(deleted.second["deleted"] == Json::array({"d-1"}));
    check_error(api.get("/api/v1/instances/d-1"), 404, 3, "d-1");
    CHECK(api.del("/api/v1/instances/a-1").first == 200);
  }

  TEST_CASE("with an Idempotency-Key, a retried event or publication is applied once") {
    Api api;
    api.start_running("Approval", "a-1", 1);
    auto first = api.post_once("/api/v1/instances/a-1/events/decision", "true", "hook-1");
    CHECK(first.first == 200);
    CHECK(first.second["message_id"] == "hook-1");
    CHECK(api.post_once("/api/v1/instances/a-1/events/decision", "true", "hook-1") == first);
    api.wait_status("a-1", "completed");
    // The sender retries after the instance finished: the same answer, not "finished".
    CHECK(api.post_once("/api/v1/instances/a-1/events/decision", "true", "hook-1") == first);
    // The same key for another request is refused.
    check_error(api.post_once("/api/v1/instances/a-1/events/decision", "false", "hook-1"), 409, 5,
                "different request");
    auto history = api.get("/api/v1/instances/a-1/history").second["events"];
    int raised = 0;
    for (const auto& e : history) raised += e["kind"] == "EventRaised";
    CHECK(raised == 1);
    // Without a key, a finished instance refuses the event.
    CHECK(api.post("/api/v1/instances/a-1/events/decision", "true").first == 409);

    REQUIRE(api.post("/api/v1/instances", R"({"name": "Adder", "id": "sum", "input": 0})").first ==
            201);
    REQUIRE(eventually([&] { return api.host->store().subscriptions("sum")->size() == 1; }));
    auto once = api.post_once("/api/v1/topics/numbers", "1", "pub-1");
    CHECK(once.second["delivered"] == Json::array({"sum"}));
    CHECK(api.post_once("/api/v1/topics/numbers", "1", "pub-1") == once);
    CHECK(api.post_once("/api/v1/topics/numbers", "2", "pub-2").first == 200);
    api.wait_status("sum", "completed");
    CHECK(api.get("/api/v1/instances/sum").second["output"] == 3);  // 1 + 2, not 1 + 1
    CHECK(api.get("/api/v1/stats").second["message_ids"] == 3);

    check_error(api.post_once("/api/v1/topics/numbers", "1", std::string(300, 'k')), 400, 2,
                "Idempotency-Key");
  }

  TEST_CASE("/metrics: the store's and the runtime's figures in Prometheus text, with the token") {
    Api api;
    CHECK(api.client->Get("/metrics")->status == 401);
    REQUIRE(api.post("/api/v1/instances", R"({"name": "Echo", "id": "e-1", "input": "x"})").first ==
            201);
    REQUIRE(
        api.post("/api/v1/instances", R"({"name": "Approval", "id": "a-1", "input": 1})").first ==
        201);
    api.wait_status("e-1", "completed");
    api.wait_status("a-1", "running");
    CHECK(api.get("/api/v1/nothing").first == 404);
    // The actors record a turn just after its commit, which the API may see first.
    REQUIRE(eventually([&] {
      return api.metrics->ended("Echo", InstanceStatus::kCompleted) == 1 &&
             api.metrics->started("Approval") == 1;
    }));
    auto r = api.client->Get("/metrics", api.auth());
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    // name{labels} value, per line; every family has its HELP and TYPE.
    std::map<std::string, double> samples;
    std::set<std::string> helped, typed;
    std::istringstream lines(r->body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("# HELP ", 0) == 0) helped.insert(line.substr(7, line.find(' ', 7) - 7));
      if (line.rfind("# TYPE ", 0) == 0) typed.insert(line.substr(7, line.find(' ', 7) - 7));
      if (line.empty() || line[0] == '#') continue;
      auto space = line.rfind(' ');
      auto series = line.substr(0, space);
      INFO(line);
      CHECK(samples.count(series) == 0);  // no series twice
      auto family = series.substr(0, series.find('{'));
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!typed.count(family) && family.ends_with(suffix)) {
          family.resize(family.size() - std::string(suffix).size());
        }
      }
      CHECK(helped.count(family) == 1);
      CHECK(typed.count(family) == 1);
      samples[series] = std::stod(line.substr(space + 1));
    }
    CHECK(samples.at("duractor_instances{status=\"completed\"}") == 1);
    CHECK(samples.at("duractor_instances{status=\"running\"}") == 1);
    CHECK(samples.at("duractor_instances{status=\"failed\"}") == 0);
    CHECK(samples.at("duractor_timers") == 0);
    CHECK(samples.at("duractor_store_file_bytes") > 0);
    CHECK(samples.at("duractor_live_instance_actors") >= 1);
    CHECK(samples.at("duractor_http_requests_total{code=\"2xx\"}") >= 4);
    CHECK(samples.at("duractor_http_requests_total{code=\"4xx\"}") >= 2);  // the 401, the 404
    CHECK(r->body.find("# TYPE duractor_instances gauge") != std::string::npos);
    CHECK(r->body.find("# TYPE duractor_http_requests_total counter") != std::string::npos);
    // The host's RuntimeMetrics (HostOptions::metrics), after the store's figures.
    CHECK(samples.at(R"(duractor_orchestrations_started_total{orchestration="Echo"})") == 1);
    CHECK(samples.at(R"(duractor_orchestrations_started_total{orchestration="Approval"})") == 1);
    CHECK(samples.at(
              R"(duractor_orchestrations_ended_total{orchestration="Echo",status="completed"})") ==
          1);
    CHECK(samples.at("duractor_turn_duration_seconds_count") >= 2);
    CHECK(samples.at("duractor_store_commit_duration_seconds_count") >= 1);
    CHECK(samples.at("duractor_instance_activations_total") >= 2);
    CHECK(r->body.find("# TYPE duractor_turn_duration_seconds histogram") != std::string::npos);
  }

  TEST_CASE("a write after the host stopped gets 503, saying so") {
    Api api;
    api.host->stop();
    check_error(api.post("/api/v1/instances", R"({"name": "Echo", "id": "late", "input": "x"})"),
                503, 1, "the runtime has stopped");
  }

  TEST_CASE("purge deletes what its filters match, a limit at a time, and refuses the unfinished") {
    Api api;
    for (const char* id : {"e-1", "e-2", "e-3"}) {
      auto body = Json{{"name", "Echo"}, {"id", id}, {"input", "x"}}.dump();
      REQUIRE(api.post("/api/v1/instances", body).first == 201);
      api.wait_status(id, "completed");
    }
    api.start_running("Approval", "a-1", 1);
    api.start_running("Approval", "a-2", 1);

    auto none = api.client->Post("/api/v1/purge?name=Echo", "", "application/json");
    check_error(Api::parse(none), 401, 1, "missing Authorization");
    check_error(api.post("/api/v1/purge", ""), 400, 2, "purge needs a filter");
    check_error(api.post("/api/v1/purge?name=Echo&force=yes", ""), 400, 2, "parameter 'force'");
    check_error(api.post("/api/v1/purge?name=Echo&limit=0", ""), 400, 2, "parameter 'limit'");
    check_error(api.post("/api/v1/purge?completed_before=soon", ""), 400, 2,
                "parameter 'completed_before'");
    // They finished now, not before 2020.
    auto [code0, early] = api.post("/api/v1/purge?name=Echo&completed_before=2020-01-01", "");
    CHECK(code0 == 200);
    CHECK(early["deleted"].empty());
    CHECK(api.get("/api/v1/instances?name=Echo").second["instances"].size() == 3);

    auto [code, first] = api.post("/api/v1/purge?name=Echo&limit=2", "");
    CHECK(code == 200);
    CHECK(first["deleted"] == Json{"e-1", "e-2"});
    CHECK(first["limit_reached"] == true);
    CHECK(first["next"] == "e-2");
    auto [code2, second] = api.post("/api/v1/purge?name=Echo&limit=2&after=e-2", "");
    CHECK(code2 == 200);
    CHECK(second["deleted"] == Json{"e-3"});
    CHECK(second["limit_reached"] == false);
    CHECK(second["next"].is_null());
    CHECK(second["events"].get<int>() > 0);
    CHECK(api.get("/api/v1/instances/e-3").first == 404);

    // Not finished: matched by status, refused unless forced. Refusals have the limit too,
    // and `next` moves past them, so that asking again never meets the same ones.
    auto [code3, refused] = api.post("/api/v1/purge?status=running&limit=1", "");
    CHECK(code3 == 200);
    CHECK(refused["deleted"].empty());
    REQUIRE(refused["refused"].size() == 1);
    CHECK(refused["refused"][0]["id"] == "a-1");
    CHECK(refused["refused"][0]["reason"] == "it is running");
    CHECK(refused["limit_reached"] == true);
    REQUIRE(refused["next"] == "a-1");
    auto [code4, rest] = api.post("/api/v1/purge?status=running&limit=1&after=a-1", "");
    CHECK(code4 == 200);
    REQUIRE(rest["refused"].size() == 1);
    CHECK(rest["refused"][0]["id"] == "a-2");
    CHECK(rest["limit_reached"] == false);
    CHECK(api.get("/api/v1/instances/a-1").first == 200);
    auto [code5, forced] = api.post("/api/v1/purge?status=running&force=true", "");
    CHECK(code5 == 200);
    CHECK(forced["deleted"] == Json{"a-1", "a-2"});
    CHECK(api.get("/api/v1/instances/a-1").first == 404);
  }

  TEST_CASE("ids with slashes, children and stats") {
    Api api;
    REQUIRE(api.post("/api/v1/instances", R"({"name": "Parent", "id": "p", "input": 1})").first ==
            201);
    api.wait_status("parent%2Fchild", "running");
    auto parent = api.get("/api/v1/instances/p");
    CHECK(parent.second["children"] == Json::array({"parent/child"}));
    auto children = api.get("/api/v1/instances/p/children");
    REQUIRE(children.second["instances"].size() == 1);
    CHECK(children.second["instances"][0]["id"] == "parent/child");
    CHECK(api.get("/api/v1/instances/parent/child/history").first == 200);
    CHECK(api.post("/api/v1/instances/parent%2Fchild/events/decision", "true").first == 200);
    api.wait_status("p", "completed");

    auto stats = api.get("/api/v1/stats");
    CHECK(stats.first == 200);
    CHECK(stats.second["instances"] == 2);
    CHECK(stats.second["instances_by_status"]["completed"] == 2);
    CHECK(stats.second["runtime"].contains("live_instances"));
    CHECK(stats.second["runtime"].contains("queued_activities"));
  }

  TEST_CASE("bodies over the limit get 413 and huge headers are refused, and the server goes on") {
    http::ServerOptions options = Api::with_token();
    options.max_body_bytes = 1024;
    Api api(options);
    std::string big = "\"" + std::string(2000, 'x') + "\"";
    auto refused = api.client->Post("/api/v1/topics/t", api.auth(), big, "application/json");
    REQUIRE(refused);
    check_error(Api::parse(refused), 413, 2, "larger");

    // The runtime's own payload limit is 413 as well.
    auto huge = Api::with_token();
    huge.max_body_bytes = 8 << 20;
    Api roomy(huge);
    std::string input = R"({"name": "Echo", "id": "big", "input": ")" +
                        std::string(kDefaultMaxPayloadBytes + 10, 'x') + "\"}";
    check_error(roomy.post("/api/v1/instances", input), 413, 2, "limit");

    auto headers = api.auth();
    headers.emplace("X-Padding", std::string(16 * 1024, 'p'));
    check_error(Api::parse(api.client->Get("/api/v1/instances", headers)), 400, 2,
                "header longer than 8192 bytes");
    CHECK(api.get("/api/v1/instances").first == 200);
  }
}

}  // namespace duractor
