#include "tests/support/mqtt_broker.h"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/program.h"

namespace duractor::testing {
namespace {

std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

MqttBroker::MqttBroker(std::string dir) : dir_(std::move(dir)) {
  port_ = free_loopback_port();
  std::ofstream conf(dir_ + "/mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence true\n"
       << "persistence_location " << dir_ << "/\n"
       << "autosave_interval 1\n"
       << "max_queued_messages 0\n"
       << "max_inflight_messages 1000\n"
       << "log_dest file " << dir_ << "/mosquitto.log\n";
  // As root, mosquitto would switch to the mosquitto user, who cannot write `dir`.
  if (::geteuid() == 0) conf << "user root\n";
  conf.close();
  start();
}

MqttBroker::~MqttBroker() {
  if (process_) process_->kill();
}

void MqttBroker::start() {
  REQUIRE_FALSE(process_);
  process_ = std::make_unique<Program>("/usr/sbin/mosquitto",
                                       std::vector<std::string>{"-c", dir_ + "/mosquitto.conf"});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!accepts(port_)) {
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("mosquitto did not listen on 127.0.0.1:" << port_ << "; its log:\n"
                                                    << read_file(dir_ + "/mosquitto.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void MqttBroker::stop() {
  REQUIRE(process_);
  ::kill(process_->pid(), SIGTERM);
  CHECK(process_->wait(std::chrono::seconds(10)) == 0);
  process_.reset();
}

struct MqttTestClient::State {
  std::mutex mutex;
  std::condition_variable changed;
  bool connected = false;
  std::map<int, std::size_t> in_flight;  // mid -> index of publish_all's message
  std::vector<bool> acked;
  std::size_t acked_count = 0;
  std::deque<std::size_t> to_send;
  std::vector<MqttMessage> received;
  std::vector<std::string> subscriptions;
};

MqttTestClient::MqttTestClient(std::uint16_t port, std::string client_id)
    : state_(std::make_unique<State>()) {
  mosquitto_lib_init();
  mosq_ = mosquitto_new(client_id.c_str(), false, state_.get());
  REQUIRE(mosq_ != nullptr);
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_v5_callback_set(
      mosq_, [](mosquitto* m, void* p, int rc, int, const mosquitto_property*) {
        auto* s = static_cast<State*>(p);
        std::lock_guard lock(s->mutex);
        if (rc != 0) return;
        s->connected = true;
        for (const auto& filter : s->subscriptions)
          mosquitto_subscribe_v5(m, nullptr, filter.c_str(), 1, 0, nullptr);
        s->changed.notify_all();
      });
  mosquitto_disconnect_v5_callback_set(mosq_,
                                       [](mosquitto*, void* p, int, const mosquitto_property*) {
                                         auto* s = static_cast<State*>(p);
                                         std::lock_guard lock(s->mutex);
                                         s->connected = false;
                                         // Whatever was not acknowledged is published again after
                                         // the reconnect.
                                         for (const auto& [mid, index] : s->in_flight) {
                                           if (!s->acked[index]) s->to_send.push_front(index);
                                         }
                                         s->in_flight.clear();
                                         s->changed.notify_all();
                                       });
  mosquitto_publish_v5_callback_set(
      mosq_, [](mosquitto*, void* p, int mid, int, const mosquitto_property*) {
        auto* s = static_cast<State*>(p);
        std::lock_guard lock(s->mutex);
        auto at = s->in_flight.find(mid);
        if (at == s->in_flight.end()) return;
        if (!s->acked[at->second]) {
          s->acked[at->second] = true;
          ++s->acked_count;
        }
        s->in_flight.erase(at);
        s->changed.notify_all();
      });
  mosquitto_message_v5_callback_set(mosq_, [](mosquitto*, void* p, const mosquitto_message* m,
                                              const mosquitto_property* props) {
    auto* s = static_cast<State*>(p);
    MqttMessage message;
    message.topic = m->topic;
    message.payload.assign(static_cast<const char*>(m->payload),
                           static_cast<std::size_t>(m->payloadlen));
    char* name = nullptr;
    char* value = nullptr;
    auto* at =
        mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &name, &value, false);
    while (at != nullptr) {
      message.user_properties[name] = value;
      std::free(name);
      std::free(value);
      at = mosquitto_property_read_string_pair(at, MQTT_PROP_USER_PROPERTY, &name, &value, true);
    }
    std::lock_guard lock(s->mutex);
    s->received.push_back(std::move(message));
    s->changed.notify_all();
  });
  mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
  mosquitto_property* properties = nullptr;
  mosquitto_property_add_int32(&properties, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
  REQUIRE(mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, 10, nullptr, properties) ==
          MOSQ_ERR_SUCCESS);
  mosquitto_property_free_all(&properties);
  REQUIRE(mosquitto_loop_start(mosq_) == MOSQ_ERR_SUCCESS);
  std::unique_lock lock(state_->mutex);
  REQUIRE(
      state_->changed.wait_for(lock, std::chrono::seconds(10), [&] { return state_->connected; }));
}

MqttTestClient::~MqttTestClient() {
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  mosquitto_destroy(mosq_);
}

void MqttTestClient::subscribe(const std::string& filter) {
  {
    std::lock_guard lock(state_->mutex);
    state_->subscriptions.push_back(filter);
  }
  REQUIRE(mosquitto_subscribe_v5(mosq_, nullptr, filter.c_str(), 1, 0, nullptr) ==
          MOSQ_ERR_SUCCESS);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the SUBACK
}

void MqttTestClient::publish_all(const std::vector<std::pair<std::string, std::string>>& messages,
                                 const std::vector<std::string>& message_ids, std::size_t window,
                                 std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->acked.assign(messages.size(), false);
  state_->acked_count = 0;
  state_->in_flight.clear();
  state_->to_send.clear();
  for (std::size_t i = 0; i < messages.size(); ++i) state_->to_send.push_back(i);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (state_->acked_count < messages.size()) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    "the broker acknowledged " << state_->acked_count << " of " << messages.size());
    while (state_->connected && state_->in_flight.size() < window && !state_->to_send.empty()) {
      auto index = state_->to_send.front();
      if (state_->acked[index]) {
        state_->to_send.pop_front();
        continue;
      }
      mosquitto_property* properties = nullptr;
      if (!message_ids[index].empty()) {
        mosquitto_property_add_string_pair(&properties, MQTT_PROP_USER_PROPERTY, "message-id",
                                           message_ids[index].c_str());
      }
      int mid = 0;
      const auto& [topic, payload] = messages[index];
      int rc = mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                    payload.data(), 1, false, properties);
      mosquitto_property_free_all(&properties);
      if (rc != MOSQ_ERR_SUCCESS) break;
      state_->in_flight[mid] = index;
      state_->to_send.pop_front();
    }
    state_->changed.wait_for(lock, std::chrono::milliseconds(50));
  }
}

void MqttTestClient::publish(const std::string& topic, const std::string& payload,
                             const std::string& message_id) {
  publish_all({{topic, payload}}, {message_id});
}

std::vector<MqttMessage> MqttTestClient::received() {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}

bool MqttTestClient::wait_received(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return state_->received.size() >= count; });
}

}  // namespace duractor::testing
