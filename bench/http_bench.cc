// The HTTP API, durable (sync on), through the real host:
//   http.api     start and raise requests per second from 64 concurrent HTTP clients over
//                loopback (keep-alive connections), next to the in-process Client's rate
//                from 64 threads, measured in the same run
//   http.scrape  the time of one GET /metrics with 100,000 instances in the store, next to
//                the store's stats() alone

#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench/bench.h"
#include "bench/runtime_support.h"
#include "duractor/actors/client.h"
#include "duractor/http/host.h"
#include "duractor/store/lmdb_store.h"

namespace duractor::bench {
namespace {

constexpr int kClients = 64;
const std::string kToken = "bench-token-0123456789abcdef";

// Runs `body(client, i)` for i in [0, n) on kClients threads, each with its own keep-alive
// connection; returns the rate in calls per second.
template <class Body>
double over_http(std::uint16_t port, int n, Body body) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kClients; ++t) {
    pool.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(std::chrono::seconds(60));
      client.set_default_headers({{"Authorization", "Bearer " + kToken}});
      for (int i = next++; i < n && !failed; i = next++) {
        if (!body(client, i)) failed = true;
      }
    });
  }
  for (auto& t : pool) t.join();
  if (failed) throw std::runtime_error("an HTTP request failed");
  return n / seconds_since(start);
}

template <class Body>
double in_process(int n, Body body) {
  auto start = std::chrono::steady_clock::now();
  parallel(n, kClients, body);
  return n / seconds_since(start);
}

void api(const Options& o, Report& report) {
  auto registry = event_waiter_registry();
  const int n = o.quick ? 2'000 : 10'000;

  double client_start = 0, client_raise = 0;
  {
    ScratchDir dir(o, "http-client");
    auto host = start_host(registry, host_options(dir.path(), n));
    auto client = host->client();
    client_start = in_process(n, [&](int i) { check(EventWaiter.start(client, waiter_id(i), 0)); });
    client_raise = in_process(n, [&](int i) { check(client.raise(waiter_id(i), "go", i)); });
    parallel(n, 8, [&](int i) {
      check(EventWaiter.wait(client, waiter_id(i), std::chrono::seconds(600)));
    });
  }

  double http_start = 0, http_raise = 0;
  {
    ScratchDir dir(o, "http-api");
    auto host = start_host(registry, host_options(dir.path(), n));
    http::ServerOptions options;
    options.token = kToken;
    options.threads = kClients;  // httplib serves a connection on one thread at a time
    auto server = http::serve(*host, options);
    check(server);
    auto port = (*server)->port();
    http_start = over_http(port, n, [](httplib::Client& c, int i) {
      auto r = c.Post("/api/v1/instances",
                      R"({"name": "Waiter", "id": ")" + waiter_id(i) + R"(", "input": 0})",
                      "application/json");
      if (!r || r->status != 201) {
        std::fprintf(stderr, "start %d: %s\n", i,
                     r ? (std::to_string(r->status) + " " + r->body).c_str()
                       : httplib::to_string(r.error()).c_str());
      }
      return r && r->status == 201;
    });
    http_raise = over_http(port, n, [](httplib::Client& c, int i) {
      auto r = c.Post(("/api/v1/instances/" + waiter_id(i) + "/events/go").c_str(),
                      std::to_string(i), "application/json");
      if (!r || r->status != 200) {
        std::fprintf(stderr, "raise %d: %s\n", i,
                     r ? (std::to_string(r->status) + " " + r->body).c_str()
                       : httplib::to_string(r.error()).c_str());
      }
      return r && r->status == 200;
    });
    auto client = host->client();
    parallel(n, 8, [&](int i) {
      auto out = EventWaiter.wait(client, waiter_id(i), std::chrono::seconds(600));
      check(out);
      if (*out != i) throw std::runtime_error("wrong event");
    });
  }

  std::string what = std::to_string(n) + " instances, 64 clients over loopback";
  report.add({"http.api", "start requests (" + what + ")", http_start, "requests/s", client_start,
              "Client::start, 64 threads"});
  report.add({"http.api", "raise requests (" + what + ")", http_raise, "requests/s", client_raise,
              "Client::raise, 64 threads"});
}

// The server on a bare store, for reads only (the scrape needs no writes).
class ReadOnlyBackend final : public http::Backend {
 public:
  explicit ReadOnlyBackend(Store& store) : store_(store) {}
  Store& store() override { return store_; }
  Result<InstanceId> start(std::string_view, InstanceId, Bytes, std::uint32_t) override {
    return refuse();
  }
  Status raise_event(const InstanceId&, std::string_view, Bytes, const MessageId&) override {
    return refuse();
  }
  Result<PublishReceipt> publish(std::string, Bytes, const MessageId&) override { return refuse(); }
  Status cancel(const InstanceId&, std::string, bool) override { return refuse(); }
  Status pause(const InstanceId&, std::string) override { return refuse(); }
  Status resume(const InstanceId&) override { return refuse(); }
  Result<DeleteSummary> remove(const InstanceId&, bool) override { return refuse(); }
  std::optional<RuntimeFigures> runtime() override { return std::nullopt; }

 private:
  static std::unexpected<Error> refuse() {
    return std::unexpected(Error::make(ErrorCode::kFailedPrecondition, "read-only bench"));
  }
  Store& store_;
};

void scrape(const Options& o, Report& report) {
  const int n = o.quick ? 10'000 : 100'000;
  ScratchDir dir(o, "http-scrape");
  LmdbOptions lo;
  lo.path = dir.path();
  lo.sync = false;  // filling the store is not what is measured
  lo.initial_map_size = std::uint64_t{1} << 30;
  auto opened = LmdbStore::open(lo);
  check(opened);
  auto& store = **opened;
  parallel(n, 64, [&](int i) {
    NewInstance r;
    r.id = "i-" + std::to_string(i);
    r.name = "Bench";
    r.input = encode(i);
    check(store.create_instance(r));
  });
  http::ServerOptions options;
  options.token = kToken;
  auto server = http::Server::start(std::make_shared<ReadOnlyBackend>(store), options);
  check(server);
  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_read_timeout(std::chrono::seconds(60));
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  std::vector<double> scrapes, stats;
  for (int k = 0; k < 7; ++k) {
    auto start = std::chrono::steady_clock::now();
    auto r = client.Get("/metrics", auth);
    scrapes.push_back(seconds_since(start) * 1000);
    if (!r || r->status != 200) throw std::runtime_error("the scrape failed");
    start = std::chrono::steady_clock::now();
    check(store.stats());
    stats.push_back(seconds_since(start) * 1000);
  }
  report.add({"http.scrape", "GET /metrics, " + std::to_string(n) + " instances (median of 7)",
              quantile(scrapes, 0.5), "ms", quantile(stats, 0.5), "Store::stats() alone"});
}

Register http_scrape("http.scrape",
                     "the time of a GET /metrics with 100,000 instances in the store", scrape);

Register http_api("http.api",
                  "start and raise requests/s from 64 HTTP clients over loopback, against the "
                  "in-process Client",
                  api);

}  // namespace
}  // namespace duractor::bench
