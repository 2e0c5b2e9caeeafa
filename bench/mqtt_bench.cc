// The MQTT bridge, durable end to end (sync on; a message is acknowledged to the broker only
// after its event is committed):
//   mqtt.events  events per second from MQTT into waiting instances — a publisher sends
//                one QoS 1 message per instance through a real Mosquitto (started here on a
//                free loopback port), the bridge writes each as an event — next to the
//                in-process Client::raise rate from 64 threads, measured in the same run

#include <arpa/inet.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "bench/bench.h"
#include "bench/runtime_support.h"
#include "duractor/actors/client.h"
#include "duractor/bridges/mqtt/bridge.h"

extern char** environ;

namespace duractor::bench {
namespace {

bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Mosquitto on a free loopback port, its files in `dir`, stopped by its pid.
class Broker {
 public:
  explicit Broker(const std::string& dir) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
    ::close(fd);
    port_ = ntohs(a.sin_port);
    std::string conf = dir + "/mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\n"
                        << "persistence false\nmax_queued_messages 0\n"
                        << "max_inflight_messages 1000\nlog_dest file " << dir
                        << "/mosquitto.log\nlog_type all\n"
                        << (::geteuid() == 0 ? "user root\n" : "");
    const char* argv[] = {"/usr/sbin/mosquitto", "-c", conf.c_str(), nullptr};
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      throw std::runtime_error("cannot run /usr/sbin/mosquitto (scripts/bootstrap installs it)");
    }
    for (int i = 0; i < 1000 && !accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!accepts(port_)) throw std::runtime_error("mosquitto did not listen");
  }
  ~Broker() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// Publishes one QoS 1 message per instance, each with its message id, and returns once the
// broker has acknowledged them all.
void publish_all(std::uint16_t port, int n) {
  mosquitto_lib_init();
  std::atomic<int> acked{0};
  auto* mosq = mosquitto_new("bench-publisher", true, &acked);
  mosquitto_publish_v5_callback_set(
      mosq, [](mosquitto*, void* count, int, int, const mosquitto_property*) {
        ++*static_cast<std::atomic<int>*>(count);
      });
  mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, 1000);
  if (mosquitto_connect(mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
    throw std::runtime_error("the publisher cannot connect");
  }
  mosquitto_loop_start(mosq);
  for (int i = 0; i < n; ++i) {
    mosquitto_property* p = nullptr;
    mosquitto_property_add_string_pair(&p, MQTT_PROP_USER_PROPERTY, "message-id",
                                       ("bench-" + std::to_string(i)).c_str());
    auto topic = "go/" + waiter_id(i);
    auto payload = std::to_string(i);
    mosquitto_publish_v5(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                         payload.data(), 1, false, p);
    mosquitto_property_free_all(&p);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (acked < n) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("no PUBACKs");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  mosquitto_disconnect(mosq);
  mosquitto_loop_stop(mosq, false);
  mosquitto_destroy(mosq);
}

void events(const Options& o, Report& report) {
  auto registry = event_waiter_registry();
  const int n = o.quick ? 2'000 : 10'000;

  double client_raise = 0;
  {
    ScratchDir dir(o, "mqtt-client");
    auto host = start_host(registry, host_options(dir.path(), n));
    auto client = host->client();
    parallel(n, 64, [&](int i) { check(EventWaiter.start(client, waiter_id(i), 0)); });
    auto start = std::chrono::steady_clock::now();
    parallel(n, 64, [&](int i) { check(client.raise(waiter_id(i), "go", i)); });
    client_raise = n / seconds_since(start);
  }

  double mqtt_rate = 0;
  {
    ScratchDir dir(o, "mqtt-bridge");
    Broker broker(dir.path());
    auto host = start_host(registry, host_options(dir.path() + "/store", n));
    auto client = host->client();
    parallel(n, 64, [&](int i) { check(EventWaiter.start(client, waiter_id(i), 0)); });
    mqtt::BridgeOptions options;
    options.port = broker.port();
    options.client_id = "bench-runtime";
    options.logger = host->options().logger;  // the bench's, which is silent
    options.in = {{.filter = "go/+", .instance = "{1}", .event = "go"}};
    auto bridge = mqtt::Bridge::start(host->broker(), options);
    check(bridge);
    while (!(*bridge)->stats().connected) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto start = std::chrono::steady_clock::now();
    std::thread publisher([&] { publish_all(broker.port(), n); });
    while ((*bridge)->stats().applied + (*bridge)->stats().dead_lettered < std::uint64_t(n)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    mqtt_rate = n / seconds_since(start);
    publisher.join();
    if ((*bridge)->stats().dead_lettered != 0) throw std::runtime_error("dead letters");
    parallel(n, 8, [&](int i) {
      auto out = EventWaiter.wait(client, waiter_id(i), std::chrono::seconds(600));
      check(out);
      if (*out != i) throw std::runtime_error("wrong event");
    });
    (*bridge)->stop();
  }
  report.add({"mqtt.events",
              "events from MQTT into waiting instances (" + std::to_string(n) + ", QoS 1, durable)",
              mqtt_rate, "events/s", client_raise, "Client::raise, 64 threads"});
}

Register mqtt_events("mqtt.events",
                     "events per second from MQTT into waiting instances, durable, next to "
                     "Client::raise",
                     events);

}  // namespace
}  // namespace duractor::bench
