#pragma once
// duractor::http::Server: the runtime over HTTP. A JSON API under /api/v1 (docs/http.md) to
// list and inspect instances, start orchestrations, raise events, publish, cancel, terminate
// and delete, for systems that are not C++ code in the same process.
//
//   auto host = duractor::Host::start(registry, options);
//   duractor::http::ServerOptions http;
//   http.port = 8080;
//   http.token = std::getenv("DURACTOR_HTTP_TOKEN");
//   auto server = duractor::http::serve(**host, http);   // http/host.h; serves until destroyed
//
// Security: it binds 127.0.0.1 unless told otherwise (another address only with
// allow_remote), and on loopback it answers only requests addressed to loopback (no DNS
// rebinding); every request needs "Authorization: Bearer <token>" (compared in constant
// time), except GET requests when anonymous_reads is set, which only a loopback bind allows,
// and the page at /, which holds no data; bodies must be JSON with a Content-Length of at
// most max_body_bytes (413 past it); header lines are limited to 8 KiB. The token never
// appears in a log or an error message.
//
// The handlers reach the runtime only through a Backend: http/host.h has the one for a
// running host, cli/serve.cc the one for a bare store (`duractor serve`). Every handler is
// shared by both.

#include <cstdint>
#include <memory>
#include <string>

#include <optional>
#include <string_view>

#include "duractor/runtime/error.h"
#include "duractor/store/store.h"

namespace duractor {
class RuntimeMetrics;
}  // namespace duractor

namespace duractor::http {

struct ServerOptions {
  std::string bind = "127.0.0.1";  // an IPv4 or IPv6 address (not a host name)
  // A bind outside loopback (127.0.0.0/8, ::1) serves plain HTTP to the network: refused
  // unless this is set (put a TLS-terminating proxy in front).
  bool allow_remote = false;
  std::uint16_t port = 0;  // 0: any free port (Server::port() tells which)
  // The bearer token every request must carry. Required (at least 16 bytes) unless
  // anonymous_reads is set, and then writes are refused with 403.
  std::string token;
  // GET requests without a token. Only with a loopback bind (127.0.0.0/8 or ::1).
  bool anonymous_reads = false;
  std::size_t max_body_bytes = 1 << 20;  // request bodies; larger ones get 413
  std::size_t threads = 4;               // requests served at once
};

// What the handlers read and write. Reads go to the store; writes go through the runtime
// when there is one (Host), so that they reach the instances at once.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Store& store() = 0;
  virtual Result<InstanceId> start(std::string_view name, InstanceId id, Bytes input,
                                   std::uint32_t version) = 0;
  // With a message id (not empty), idempotent: see Store::enqueue_once and publish_once.
  virtual Status raise_event(const InstanceId& id, std::string_view name, Bytes payload,
                             const MessageId& message_id) = 0;
  virtual Result<PublishReceipt> publish(std::string topic, Bytes payload,
                                         const MessageId& message_id) = 0;
  virtual Status cancel(const InstanceId& id, std::string reason, bool terminate) = 0;
  virtual Status pause(const InstanceId& id, std::string reason) = 0;
  virtual Status resume(const InstanceId& id) = 0;
  virtual Result<DeleteSummary> remove(const InstanceId& id, bool force) = 0;
  // Figures only a running host has (live instance actors, queued activities); none
  // without one.
  struct RuntimeFigures {
    std::size_t live_instances = 0;
    std::size_t queued_activities = 0;
    // The host's counters and histograms, for /metrics (HostOptions::metrics, when it is
    // a RuntimeMetrics); null if it has none.
    const RuntimeMetrics* metrics = nullptr;
  };
  virtual std::optional<RuntimeFigures> runtime() = 0;
};

class Server {
 public:
  // Binds and starts serving on threads of its own. Errors: kInvalidArgument (a bad option:
  // no token, a short token, anonymous reads on a non-loopback address, 0 threads), kIo (the
  // address cannot be bound, naming it and why).
  static Result<std::unique_ptr<Server>> start(std::shared_ptr<Backend> backend,
                                               ServerOptions options);
  // Stops (see stop()).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port it listens on.
  std::uint16_t port() const;
  // Stops accepting, lets requests in flight finish and joins the threads. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace duractor::http
