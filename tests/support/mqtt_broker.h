#pragma once
// A real Mosquitto broker for tests (Debian's /usr/sbin/mosquitto, from scripts/bootstrap):
// its config, persistence and log in a directory of the test's, on a free loopback port,
// stopped by the pid it was started with. And a small MQTT 5 client (libmosquitto) that
// publishes with QoS 1 until the broker has acknowledged every message, and collects what
// arrives on the topics it subscribes to.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct mosquitto;

namespace duractor::testing {

class Program;

class MqttBroker {
 public:
  // Writes the config into `dir` and starts the broker; fails the test if it does not
  // listen within 10 s.
  explicit MqttBroker(std::string dir);
  ~MqttBroker();
  MqttBroker(const MqttBroker&) = delete;
  MqttBroker& operator=(const MqttBroker&) = delete;

  std::uint16_t port() const { return port_; }
  // SIGTERM (the broker saves its sessions and queues), and waits for its exit.
  void stop();
  // Starts it again on the same port with the same persistence.
  void start();

 private:
  std::string dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Program> process_;
};

struct MqttMessage {
  std::string topic;
  std::string payload;
  std::map<std::string, std::string> user_properties;
};

class MqttTestClient {
 public:
  // Connects (MQTT 5, a persistent session under `client_id`) and runs libmosquitto's
  // network thread, which reconnects by itself.
  MqttTestClient(std::uint16_t port, std::string client_id);
  ~MqttTestClient();
  MqttTestClient(const MqttTestClient&) = delete;
  MqttTestClient& operator=(const MqttTestClient&) = delete;

  void subscribe(const std::string& filter);
  // Publishes each message with QoS 1 (the message id, if not empty, as the user property
  // "message-id") and returns once the broker acknowledged all of them, publishing again
  // what was unacknowledged when the connection was lost (as a real publisher would:
  // at-least-once). At most `window` in flight. Fails the test after `timeout`.
  void publish_all(const std::vector<std::pair<std::string, std::string>>& topics_payloads,
                   const std::vector<std::string>& message_ids, std::size_t window = 100,
                   std::chrono::milliseconds timeout = std::chrono::minutes(3));
  void publish(const std::string& topic, const std::string& payload,
               const std::string& message_id = {});
  // Messages received so far on the subscribed topics.
  std::vector<MqttMessage> received();
  // Waits until at least `count` messages were received (false after `timeout`).
  bool wait_received(std::size_t count, std::chrono::milliseconds timeout);

  struct State;

 private:
  mosquitto* mosq_ = nullptr;
  std::unique_ptr<State> state_;
};

}  // namespace duractor::testing
