// The bridge's connection loop. One thread owns the libmosquitto handle (threaded mode, its
// own loop rather than mosquitto_loop_start) so that it decides when packets are written:
// libmosquitto queues the PUBACK of a QoS 1 message as it reads it, and this loop writes
// the queue (mosquitto_loop_write) only after the writes of every message read so far are
// durable. When a write fails for want of the store, the socket is shut down instead, and
// the queued PUBACKs are thrown away with it (a new connect clears the queue): the broker
// delivers those messages again.
//
// This relies on how libmosquitto 2.0 behaves, which its API does not promise (a manual
// acknowledgement is an open feature request upstream): handle__publish queues the PUBACK
// through packet__queue, which writes at once only when the handle is not threaded; in
// threaded mode only mosquitto_loop_write writes (not loop_read, loop_misc, publish or
// subscribe); and mosquitto__reconnect (every connect) runs packet__cleanup_all, which
// discards the queue. tests/bridges/ fails if a version behaves otherwise; the build and
// Bridge::start refuse any major version but 2.

#include "duractor/bridges/mqtt/bridge.h"

#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "duractor/bridges/mqtt/detail/inbound.h"
#include "duractor/ops/detail/json_view.h"
#include "duractor/pubsub/broker.h"

static_assert(LIBMOSQUITTO_MAJOR == 2, "the bridge relies on libmosquitto 2.x (see above)");

namespace duractor::mqtt {
namespace {

// Errors that say the message is wrong (a malformed id or name, no such or a finished
// instance, too large, an id reused): the message is dead-lettered and acknowledged. Any
// other error (I/O, a full store, shutting down, a timeout whose write may still commit)
// leaves the whole batch unacknowledged, to be delivered again.
bool message_at_fault(const Error& error) {
  return error.category == ErrorCategory::kConfiguration;
}

void init_library() {
  static const int once = [] { return mosquitto_lib_init(); }();
  (void)once;
}

struct Outgoing {
  std::string topic;
  std::string payload;
  std::string message_id;
};

// The writes of one batch, answered by the store's callbacks on other threads.
struct BatchState {
  std::mutex mutex;
  std::condition_variable done;
  std::size_t outstanding = 0;
  std::vector<std::optional<Error>> errors;
};

// The kind as one word, for topics and messages: "custom_status", "completed", ...
std::string kind_name(LifecycleKind kind) {
  std::string name(to_string(kind));
  std::replace(name.begin(), name.end(), ' ', '_');
  return name;
}

// A publication is named by its history event and that event's time: the same however
// often its turn replays, new when a rewind runs the code again at the same position or an
// instance of the same id starts anew. Other notifications by their commit time.
std::string lifecycle_message_id(const LifecycleEvent& e) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch()).count();
  if (e.kind == LifecycleKind::kPublished) {
    return fmt::format("{}:{}:published:{}:{}", e.instance, e.execution, e.event, ms);
  }
  return fmt::format("{}:{}:{}:{}", e.instance, e.execution, kind_name(e.kind), ms);
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

struct Bridge::Impl {
  Impl(Broker& target, BridgeOptions given)
      : broker(target),
        options(std::move(given)),
        log(options.logger ? options.logger : spdlog::default_logger()) {}

  ~Impl() {
    if (mosq != nullptr) mosquitto_destroy(mosq);
    for (int fd : wake) {
      if (fd >= 0) ::close(fd);
    }
  }

  Status open();
  void run();
  void stop();

  // ---- the loop thread's ----
  bool connect();
  void serve();
  // Writes the batch; false if the store failed one of its writes (nothing may be
  // acknowledged).
  bool apply_batch();
  void dead_letter(const detail::InboundMessage& message, const std::string& reason,
                   std::optional<std::size_t> rule, const std::string& message_id);
  bool publish(const Outgoing& out);
  void send_outgoing();
  void pause(std::chrono::milliseconds how_long);
  void drain_wake();  // empties the self-pipe
  void drop_connection();
  void warn_lost() const {
    log->warn("mqtt bridge: lost the connection to {}:{}", options.host, options.port);
  }
  void on_connect(int rc);
  void on_message(const mosquitto_message* message, const mosquitto_property* properties);
  void notify(const OutboundRule& rule, const LifecycleEvent& event);
  void wake_up();

  Broker& broker;
  const BridgeOptions options;
  std::shared_ptr<spdlog::logger> log;

  mosquitto* mosq = nullptr;
  int wake[2] = {-1, -1};  // a self-pipe: stop() and outbound notifications wake the loop
  std::thread thread;
  std::mutex stop_mutex;  // stop() from several threads at once
  std::atomic<bool> stopping{false};

  // Owned by the loop thread.
  std::vector<detail::InboundMessage> batch;  // read, not yet written
  bool session_up = false;                    // CONNACK accepted
  bool store_failed = false;                  // the connection ended for want of the store

  // Outbound notifications, from the lifecycle hub's threads to the loop thread.
  std::mutex out_mutex;
  std::deque<Outgoing> outgoing;  // guarded by out_mutex
  static constexpr std::size_t kMaxOutgoing = 10'000;
  std::vector<std::shared_ptr<LifecycleSubscription>> subscriptions;

  std::atomic<std::uint64_t> received{0}, applied{0}, dead_lettered{0}, published{0}, connects{0},
      outbound_dropped{0};
  std::atomic<bool> connected{false};
};

Status Bridge::Impl::open() {
  init_library();
  int major = 0, minor = 0, revision = 0;
  mosquitto_lib_version(&major, &minor, &revision);
  if (major != 2) {
    return fail(ErrorCode::kUnsupported,
                fmt::format("mqtt bridge: libmosquitto {}.{}.{} is loaded; the bridge needs 2.x, "
                            "whose acknowledgements it knows how to hold back",
                            major, minor, revision));
  }
  if (::pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    return fail(ErrorCode::kInternal, std::string("mqtt bridge: pipe: ") + std::strerror(errno));
  }
  mosq = mosquitto_new(options.client_id.c_str(), /*clean_session=*/false, this);
  if (mosq == nullptr) {
    return fail(ErrorCode::kInternal,
                std::string("mqtt bridge: mosquitto_new: ") + std::strerror(errno));
  }
  mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(mosq, MOSQ_OPT_RECEIVE_MAXIMUM,
                       static_cast<int>(std::min<std::size_t>(options.batch, 65535)));
  mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_threaded_set(mosq, true);
  if (!options.username.empty()) {
    mosquitto_username_pw_set(mosq, options.username.c_str(),
                              options.password.empty() ? nullptr : options.password.c_str());
  }
  mosquitto_connect_v5_callback_set(
      mosq, [](mosquitto*, void* self, int rc, int, const mosquitto_property*) {
        static_cast<Impl*>(self)->on_connect(rc);
      });
  mosquitto_message_v5_callback_set(
      mosq, [](mosquitto*, void* self, const mosquitto_message* m, const mosquitto_property* p) {
        static_cast<Impl*>(self)->on_message(m, p);
      });
  for (const auto& rule : options.out) {
    LifecycleFilter filter{rule.kinds, rule.orchestration, std::nullopt};
    subscriptions.push_back(broker.lifecycle().subscribe(
        filter, [this, &rule](const LifecycleEvent& e) { notify(rule, e); }));
  }
  thread = std::thread([this] { run(); });
  return {};
}

void Bridge::Impl::wake_up() {
  char byte = 1;
  [[maybe_unused]] auto n = ::write(wake[1], &byte, 1);  // a full pipe wakes the loop already
}

void Bridge::Impl::stop() {
  std::lock_guard lock(stop_mutex);
  for (auto& s : subscriptions) s->unsubscribe();
  stopping = true;
  wake_up();
  if (thread.joinable()) thread.join();
}

void Bridge::Impl::drain_wake() {
  char drain[64];
  while (::read(wake[0], drain, sizeof drain) > 0) {
  }
}

void Bridge::Impl::pause(std::chrono::milliseconds how_long) {
  pollfd fd{wake[0], POLLIN, 0};
  ::poll(&fd, 1, static_cast<int>(how_long.count()));
  drain_wake();
}

void Bridge::Impl::run() {
  auto backoff = options.reconnect_min;
  while (!stopping) {
    if (connect()) {
      store_failed = false;
      serve();
      // It had been up: start over, unless the store failed (backing off then spares the
      // broker a redelivery of the batch every reconnect_min).
      if (connected && !store_failed) backoff = options.reconnect_min;
      connected = false;
      session_up = false;
      batch.clear();
    }
    if (stopping) break;
    pause(backoff);
    backoff = std::min(backoff * 2, options.reconnect_max);
  }
  if (mosquitto_socket(mosq) >= 0) {
    // Say goodbye, after the PUBACKs of what was applied and the notifications taken. The
    // session stays at the broker (its expiry), and with it every unacknowledged message.
    mosquitto_disconnect(mosq);
    mosquitto_loop_write(mosq, 1);
  }
}

bool Bridge::Impl::connect() {
  // Every connect sends the session expiry: libmosquitto's own reconnect would send none,
  // and the broker would end the session when the connection ends.
  mosquitto_property* properties = nullptr;
  mosquitto_property_add_int32(&properties, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                               static_cast<std::uint32_t>(options.session_expiry.count()));
  int rc =
      mosquitto_connect_bind_v5(mosq, options.host.c_str(), options.port,
                                static_cast<int>(options.keepalive.count()), nullptr, properties);
  mosquitto_property_free_all(&properties);
  if (rc != MOSQ_ERR_SUCCESS) {
    log->warn("mqtt bridge: cannot connect to {}:{}: {}", options.host, options.port,
              rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
    return false;
  }
  return true;
}

void Bridge::Impl::on_connect(int rc) {
  if (rc != 0) {
    log->error("mqtt bridge: {}:{} refused the connection: {}", options.host, options.port,
               mosquitto_reason_string(rc));
    return;
  }
  session_up = true;
  connected = true;
  ++connects;
  log->info("mqtt bridge: connected to {}:{} as '{}'", options.host, options.port,
            options.client_id);
  for (const auto& rule : options.in) {
    // Retained messages only for a new subscription: a resumed session has had them.
    int subscribed = mosquitto_subscribe_v5(mosq, nullptr, rule.filter.c_str(), 1,
                                            MQTT_SUB_OPT_SEND_RETAIN_NEW, nullptr);
    if (subscribed != MOSQ_ERR_SUCCESS) {
      log->error("mqtt bridge: cannot subscribe to '{}': {}", rule.filter,
                 mosquitto_strerror(subscribed));
    }
  }
}

void Bridge::Impl::on_message(const mosquitto_message* message,
                              const mosquitto_property* properties) {
  ++received;
  detail::InboundMessage m;
  m.topic = message->topic;
  m.payload.assign(static_cast<const char*>(message->payload),
                   static_cast<std::size_t>(message->payloadlen));
  char* name = nullptr;
  char* value = nullptr;
  const mosquitto_property* at = mosquitto_property_read_string_pair(
      properties, MQTT_PROP_USER_PROPERTY, &name, &value, false);
  while (at != nullptr) {
    m.user_properties.emplace_back(name, value);
    std::free(name);
    std::free(value);
    at = mosquitto_property_read_string_pair(at, MQTT_PROP_USER_PROPERTY, &name, &value, true);
  }
  batch.push_back(std::move(m));
}

void Bridge::Impl::drop_connection() {
  // Not a DISCONNECT: that would write the queued PUBACKs first.
  int fd = mosquitto_socket(mosq);
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

void Bridge::Impl::serve() {
  while (!stopping) {
    int fd = mosquitto_socket(mosq);
    if (fd < 0) return;
    short events = POLLIN;
    if (mosquitto_want_write(mosq)) events |= POLLOUT;
    pollfd fds[2] = {{fd, events, 0}, {wake[0], POLLIN, 0}};
    int ready = ::poll(fds, 2, 1000);
    if (ready < 0 && errno != EINTR) return;
    if (fds[1].revents & POLLIN) drain_wake();
    if (stopping) {
      if (session_up) send_outgoing();  // run() writes them with the DISCONNECT
      return;
    }
    bool lost = false;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      // Take what has arrived, up to a batch, before writing it.
      for (;;) {
        if (mosquitto_loop_read(mosq, 1) != MOSQ_ERR_SUCCESS) {
          lost = true;
          break;
        }
        if (batch.size() >= options.batch) break;
        pollfd more{fd, POLLIN, 0};
        if (::poll(&more, 1, 0) <= 0) break;
      }
    }
    if (!batch.empty()) {
      bool durable = apply_batch();
      batch.clear();
      if (!durable) {
        store_failed = true;
        drop_connection();
        return;
      }
    }
    if (lost) return warn_lost();
    if (session_up) send_outgoing();
    if (mosquitto_want_write(mosq) && mosquitto_loop_write(mosq, 1) != MOSQ_ERR_SUCCESS) {
      return warn_lost();
    }
    if (mosquitto_loop_misc(mosq) != MOSQ_ERR_SUCCESS) return;
  }
}

bool Bridge::Impl::apply_batch() {
  auto state = std::make_shared<BatchState>();
  state->errors.resize(batch.size());
  // Per message: why it cannot be applied, or the rule and id of its write.
  std::vector<detail::InboundRejection> rejected(batch.size());
  std::vector<bool> written(batch.size(), false);
  {
    std::lock_guard lock(state->mutex);
    state->outstanding = batch.size();
  }
  auto answer = [state](std::size_t i, Status s) {
    std::lock_guard lock(state->mutex);
    if (!s) state->errors[i] = s.error();
    if (--state->outstanding == 0) state->done.notify_all();
  };
  // Submitted in the order read: the store applies them in that order, so that two
  // messages to one instance reach it in the order the broker sent them.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto write = detail::interpret(options.in, batch[i], options.max_payload_bytes);
    if (!write) {
      rejected[i] = std::move(write.error());
      answer(i, {});
      continue;
    }
    written[i] = true;
    rejected[i].rule = write->rule;
    rejected[i].message_id = write->id.value.substr(detail::kMessageIdPrefix.size());
    if (auto* event = std::get_if<detail::EventWrite>(&write->target)) {
      broker.raise_event_async(
          event->instance, event->name, std::move(write->payload),
          [answer, i](Status s) { answer(i, std::move(s)); }, write->id);
    } else {
      auto& topic = std::get<detail::PublishWrite>(write->target).topic;
      broker.publish_async(
          topic, std::move(write->payload),
          [answer, i](Result<PublishReceipt> r) {
            answer(i, r ? Status{} : Status(std::unexpected(r.error())));
          },
          write->id);
    }
  }
  {
    std::unique_lock lock(state->mutex);
    // The store answers every write (kShutdown when the host stops); stop() only stops
    // waiting for it, and the answers then go to `state`, which they keep alive.
    while (state->outstanding > 0 && !stopping) {
      state->done.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (state->outstanding > 0) return false;
  }
  if (options.fault_injector) {
    if (auto injected = options.fault_injector("mqtt.written"); !injected) {
      log->warn("mqtt bridge: {}; acknowledging none of the {} messages of the batch",
                injected.error().to_string(), batch.size());
      return false;
    }
  }
  for (const auto& error : state->errors) {
    if (error && !message_at_fault(*error)) {
      log->warn(
          "mqtt bridge: the store could not take a message ({}); acknowledging none of "
          "the {} in its batch, so that the broker delivers them again",
          error->to_string(), batch.size());
      return false;
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!written[i] || state->errors[i]) {
      const auto& why = written[i] ? state->errors[i]->message : rejected[i].reason;
      dead_letter(batch[i], why, rejected[i].rule, rejected[i].message_id);
    } else {
      ++applied;
    }
  }
  return true;
}

void Bridge::Impl::dead_letter(const detail::InboundMessage& message, const std::string& reason,
                               std::optional<std::size_t> rule, const std::string& message_id) {
  ++dead_lettered;
  log->warn("mqtt bridge: dead letter from '{}'{}: {}", message.topic,
            message_id.empty() ? "" : " (message id '" + message_id + "')", reason);
  if (options.dead_letter_topic.empty()) return;
  json::Json letter;
  letter["reason"] = reason;
  letter["topic"] = message.topic;
  letter["rule"] = rule ? json::Json(*rule) : json::Json(nullptr);
  letter["message_id"] = message_id.empty() ? json::Json(nullptr) : json::Json(message_id);
  letter["payload_base64"] = json::base64(message.payload);
  publish({options.dead_letter_topic,
           letter.dump(-1, ' ', false, json::Json::error_handler_t::replace), message_id});
}

bool Bridge::Impl::publish(const Outgoing& out) {
  mosquitto_property* properties = nullptr;
  if (!out.message_id.empty()) {
    mosquitto_property_add_string_pair(&properties, MQTT_PROP_USER_PROPERTY, "message-id",
                                       out.message_id.c_str());
  }
  int rc =
      mosquitto_publish_v5(mosq, nullptr, out.topic.c_str(), static_cast<int>(out.payload.size()),
                           out.payload.data(), 1, false, properties);
  mosquitto_property_free_all(&properties);
  if (rc != MOSQ_ERR_SUCCESS) {
    log->warn("mqtt bridge: cannot publish on '{}': {}", out.topic, mosquitto_strerror(rc));
  }
  return rc == MOSQ_ERR_SUCCESS;
}

void Bridge::Impl::send_outgoing() {
  std::deque<Outgoing> ready;
  {
    std::lock_guard lock(out_mutex);
    ready.swap(outgoing);
  }
  for (const auto& out : ready) {
    if (publish(out)) ++published;
  }
}

void Bridge::Impl::notify(const OutboundRule& rule, const LifecycleEvent& e) {
  if (e.kind == LifecycleKind::kPublished && !rule.topics.empty() &&
      std::find(rule.topics.begin(), rule.topics.end(), e.topic) == rule.topics.end()) {
    return;
  }
  Outgoing out;
  out.message_id = lifecycle_message_id(e);
  out.topic = replace_all(replace_all(replace_all(replace_all(rule.topic, "{instance}", e.instance),
                                                  "{orchestration}", e.orchestration),
                                      "{kind}", kind_name(e.kind)),
                          "{topic}", e.topic);
  if (out.topic.find_first_of("+#") != std::string::npos || out.topic.empty()) {
    log->warn(
        "mqtt bridge: a notification of '{}' would go to '{}', which MQTT refuses for a "
        "publication; not sent",
        e.instance, out.topic);
    ++outbound_dropped;
    return;
  }
  json::Json body;
  body["message_id"] = out.message_id;
  body["instance"] = e.instance;
  body["orchestration"] = e.orchestration;
  body["execution"] = e.execution;
  body["kind"] = kind_name(e.kind);
  body["at"] = json::iso_time(e.at);
  if (e.kind == LifecycleKind::kCompleted) body["output"] = json::payload_json(e.output);
  if (e.failure) body["failure"] = json::failure_json(*e.failure);
  if (e.kind == LifecycleKind::kCustomStatus) body["custom_status"] = e.custom_status;
  if (!e.reason.empty()) body["reason"] = e.reason;
  if (e.kind == LifecycleKind::kPublished) {
    body["topic"] = e.topic;
    body["payload"] = json::payload_json(e.payload);
  }
  out.payload = body.dump(-1, ' ', false, json::Json::error_handler_t::replace);
  {
    std::lock_guard lock(out_mutex);
    if (outgoing.size() >= kMaxOutgoing) {
      if (outbound_dropped++ == 0) {
        log->warn("mqtt bridge: {} notifications wait for the broker; dropping newer ones",
                  kMaxOutgoing);
      }
      return;
    }
    outgoing.push_back(std::move(out));
  }
  wake_up();
}

Result<std::unique_ptr<Bridge>> Bridge::start(Broker& broker, BridgeOptions options) {
  if (options.client_id.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "mqtt bridge: client_id is empty; the broker keeps the session under it");
  }
  if (options.batch == 0) return fail(ErrorCode::kInvalidArgument, "mqtt bridge: batch is 0");
  if (options.keepalive < std::chrono::seconds(5)) {
    return fail(ErrorCode::kInvalidArgument, "mqtt bridge: keepalive under 5 seconds");
  }
  if (options.in.empty() && options.out.empty()) {
    return fail(ErrorCode::kInvalidArgument, "mqtt bridge: no inbound and no outbound rule");
  }
  if (auto ok = validate(options.in, options.out); !ok) {
    return fail(ok.error().with_context("mqtt bridge"));
  }
  auto impl = std::make_unique<Impl>(broker, std::move(options));
  if (auto ok = impl->open(); !ok) return fail(ok.error());
  return std::unique_ptr<Bridge>(new Bridge(std::move(impl)));
}

Bridge::Bridge(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Bridge::~Bridge() {
  stop();
}

void Bridge::stop() {
  if (impl_) impl_->stop();
}

BridgeStats Bridge::stats() const {
  return BridgeStats{.received = impl_->received,
                     .applied = impl_->applied,
                     .dead_lettered = impl_->dead_lettered,
                     .published = impl_->published,
                     .notifications_dropped = impl_->outbound_dropped,
                     .connects = impl_->connects,
                     .connected = impl_->connected};
}

}  // namespace duractor::mqtt
