#pragma once
// duractor::mqtt::Bridge: other systems publish into workflows through an MQTT broker, and
// workflows' lifecycle goes out to it. libmosquitto from Debian; MQTT 5.
//
//   duractor::mqtt::BridgeOptions options;
//   options.port = 1883;
//   options.client_id = "orders-runtime";          // the broker keeps this session
//   options.in.push_back({.filter = "approvals/+/decision", .instance = "{1}",
//                         .event = "decision"});
//   options.dead_letter_topic = "duractor/dead-letter";
//   auto bridge = duractor::mqtt::Bridge::start(host->broker(), options);
//
// In: it subscribes to each inbound rule's filter with QoS 1 in a persistent session
// (clean start off, a session expiry), turns each message into an event or a publication
// (rules.h) written with the message's id (Store::enqueue_once, publish_once), and
// acknowledges it (PUBACK) only once that write is durable. A message delivered again —
// after a crash of this process, a lost connection, a restart of the broker — finds its id
// taken and changes nothing: at-least-once from the broker, exactly once in the workflow.
// A message that cannot be applied (no rule, bad JSON, no id, too large, no such or a
// finished instance, a malformed id or name) is published to the dead-letter topic with
// the reason, logged, counted and acknowledged: it never blocks the messages behind it.
// When the store cannot take a write (I/O, shutting down), nothing of that batch is
// acknowledged: the connection is dropped and made again, and the broker delivers again.
//
// Out: lifecycle notifications matching an outbound rule are published with QoS 1, as JSON
// carrying the instance id and a message id. They come from the broker's lifecycle hub, so
// they are sent at most once (a notification the hub dropped, or one in flight when this
// process dies, is not sent); a consumer that must not miss a completion reads the store.
//
// The broker connection is made on a thread of the bridge's own and made again with
// backoff when it is lost; the runtime keeps running meanwhile. docs/mqtt.md has the
// configuration, the guarantees and where the acknowledgement happens. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "duractor/bridges/mqtt/rules.h"
#include "duractor/runtime/limits.h"

namespace spdlog {
class logger;
}

namespace duractor {
class Broker;
}

namespace duractor::mqtt {

struct BridgeOptions {
  std::string host = "127.0.0.1";  // the broker's address
  std::uint16_t port = 1883;
  // The session's name at the broker: what it delivers again after a reconnect. Give each
  // runtime its own, and keep it across restarts. Required.
  std::string client_id;
  std::string username;  // empty: none
  std::string password;  // never logged
  std::chrono::seconds keepalive{30};
  // How long the broker keeps the session (and queues messages for it) while the bridge is
  // away.
  std::chrono::seconds session_expiry{24 * 3600};

  std::vector<InboundRule> in;
  std::vector<OutboundRule> out;
  // Where messages that cannot be applied go (QoS 1); empty: they are logged, counted and
  // acknowledged only.
  std::string dead_letter_topic;
  std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;
  // Messages taken from the connection before their writes are awaited together (and
  // then acknowledged together); also the MQTT 5 receive maximum the bridge asks for.
  std::size_t batch = 256;
  // Reconnect backoff: doubles from min to max after each failed attempt.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  std::shared_ptr<spdlog::logger> logger;  // null: spdlog's default logger
  // Tests only: called on the bridge's thread at "mqtt.written", after a batch's writes
  // are durable and before their acknowledgements go out. An error it returns makes the
  // bridge treat the batch as unwritten (it drops the connection unacknowledged, so the
  // broker delivers the batch again); it may also kill the process there (crash tests).
  std::function<Status(std::string_view step)> fault_injector;
};

// What the bridge did since it started.
struct BridgeStats {
  std::uint64_t received = 0;       // inbound messages taken from the broker (repeats too)
  std::uint64_t applied = 0;        // written durably (a repeat of an applied id counts again)
  std::uint64_t dead_lettered = 0;  // could not be applied
  std::uint64_t published = 0;      // lifecycle notifications handed to libmosquitto to send
  // Not sent: 10,000 were waiting for the broker, or the topic template gave a topic with
  // '+' or '#'.
  std::uint64_t notifications_dropped = 0;
  std::uint64_t connects = 0;  // connections made (the first one included)
  bool connected = false;
};

class Bridge {
 public:
  // Validates the options and starts connecting (it does not wait for the broker: a broker
  // that is down is retried with backoff). Errors: kInvalidArgument (a bad rule, naming it;
  // no client_id; batch 0; keepalive under 5 s), kUnsupported (a libmosquitto other than
  // 2.x is loaded), kInternal (libmosquitto could not be set up). `broker` (the host) must
  // outlive the bridge: stop the bridge first. libmosquitto ignores SIGPIPE in the whole
  // process from here on.
  [[nodiscard]] static Result<std::unique_ptr<Bridge>> start(Broker& broker, BridgeOptions options);
  // Stops (see stop()).
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  BridgeStats stats() const;
  // Disconnects and joins the thread: messages taken but not yet written are not
  // acknowledged (the broker delivers them again to the next session); notifications not
  // yet handed to the bridge are not sent. Idempotent. Call it before the host stops. It
  // may wait for a connect in progress (a blocking TCP connect: quick on loopback, up to
  // the system's connect timeout for a remote broker that does not answer).
  void stop();

  struct Impl;

 private:
  explicit Bridge(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace duractor::mqtt
