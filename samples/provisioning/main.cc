// provisioning: the flagship sample. It provisions a small environment as an operator
// would: a network; then a database and several VMs, in parallel; DNS; health checks,
// polled with backoff until every VM answers (one sub-orchestration per VM); an approval
// gate with a deadline; and a rolling deploy. The cloud is simulated (cloud.h) with
// latency, random 503s (retried with backoff) and resources that outlive the program.
// A 403 is not retried: the activity reports it as duractor::NonRetryableError.
// If a step fails for good, or the approval is refused or late, or someone cancels the
// provisioning, what was created is torn down in reverse. Progress is the instance's
// custom status, printed as lifecycle notifications arrive.
//
// Kill it at any moment — Ctrl-C, or `kill -9 <pid>` (it prints its pid) — and run the same
// command again: it resumes where it was. Steps already recorded are not repeated; an
// activity that was running when it died runs again, and the cloud's idempotent create
// returns what it had already made. tests/samples/provisioning_test.cc does exactly this.
//
//   provisioning [STORE-DIR] [--env NAME] [--vms N] [--latency-ms MS] [--failure-rate R]
//                [--approval auto|manual|reject] [--break KIND] ...     (--help for all)
//
// With --http-port PORT it also serves the HTTP API (docs/http.md) on 127.0.0.1:PORT, with
// the bearer token taken from $DURACTOR_HTTP_TOKEN: watch and drive the flow with curl.
//
// With --mqtt-port PORT it bridges to an MQTT broker on 127.0.0.1:PORT (docs/mqtt.md): the
// approval comes from MQTT topic provisioning/<instance>/approval (JSON, with a message id
// as the MQTT 5 user property message-id), and progress and the outcome go out on
// provisioning/<instance>/<kind>. Drive it with mosquitto_pub from a shell.

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "duractor/bridges/mqtt/bridge.h"
#include "duractor/duractor.h"
#include "duractor/http/host.h"
#include "samples/common.h"
#include "samples/provisioning/workflow.h"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line at a time, also into a pipe

  CLI::App app{"duractor sample: provision an environment durably"};
  std::string store = "duractor-provisioning-store";
  std::string cloud_state;
  std::string approval_mode = "auto";
  std::string approver = "alice";
  std::vector<std::string> broken;
  int http_port = -1;
  int mqtt_port = -1;
  provisioning::Spec spec;
  spec.name = "demo";
  int latency_ms = 150, boot_ms = 800, approve_after_ms = 300;
  double failure_rate = 0.1;
  app.add_option("store", store, "the store directory")->capture_default_str();
  app.add_option("--cloud-state", cloud_state,
                 "the simulated cloud's state file (default: <store>-cloud.json)");
  app.add_option("--env", spec.name, "the environment's name")->capture_default_str();
  app.add_option("--vms", spec.vms, "how many VMs")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  app.add_option("--release", spec.release, "the release to roll out")->capture_default_str();
  app.add_option("--latency-ms", latency_ms, "cloud API latency per call")->capture_default_str();
  app.add_option("--failure-rate", failure_rate, "share of cloud calls that fail with 503")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--boot-ms", boot_ms, "how long a VM takes to become healthy")
      ->capture_default_str();
  app.add_option("--approval", approval_mode,
                 "auto: approve after --approve-after-ms; manual: wait for "
                 "an Approval event (e.g. from the CLI); reject")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "manual", "reject"}));
  app.add_option("--approve-after-ms", approve_after_ms, "delay before the automatic decision")
      ->capture_default_str();
  app.add_option("--approval-deadline-ms", spec.approval_deadline_ms, "how long the gate waits")
      ->capture_default_str();
  app.add_option("--break", broken,
                 "make creating this kind of resource fail for good "
                 "(network, database, vm, dns): shows the rollback");
  app.add_option("--http-port", http_port,
                 "also serve the HTTP API on 127.0.0.1:PORT (0: any free port), with the bearer "
                 "token from $DURACTOR_HTTP_TOKEN")
      ->check(CLI::Range(0, 65535));
  app.add_option("--mqtt-port", mqtt_port,
                 "bridge to the MQTT broker on 127.0.0.1:PORT: the approval comes from topic "
                 "provisioning/<instance>/approval, progress goes out on "
                 "provisioning/<instance>/<kind>")
      ->check(CLI::Range(1, 65535));
  CLI11_PARSE(app, argc, argv);
  if (cloud_state.empty()) cloud_state = store + "-cloud.json";

  provisioning::CloudOptions cloud_options;
  cloud_options.state_file = cloud_state;
  cloud_options.latency = std::chrono::milliseconds(latency_ms);
  cloud_options.failure_rate = failure_rate;
  cloud_options.boot_time = std::chrono::milliseconds(boot_ms);
  cloud_options.broken = {broken.begin(), broken.end()};
  provisioning::Cloud cloud(cloud_options);

  duractor::Registry registry;
  provisioning::register_workflow(registry, cloud);
  auto host_options = samples::options(store);
  // The runtime's counters and histograms, served on /metrics with --http-port.
  host_options.metrics = std::make_shared<duractor::RuntimeMetrics>(registry);
  auto host = samples::or_exit(duractor::Host::start(registry, host_options), "start");
  auto client = host->client();
  const auto id = provisioning::instance_id(spec.name);

  std::unique_ptr<duractor::http::Server> http;
  if (http_port >= 0) {
    const char* token = std::getenv("DURACTOR_HTTP_TOKEN");
    if (token == nullptr || *token == 0) {
      std::fprintf(stderr, "--http-port needs a bearer token in $DURACTOR_HTTP_TOKEN\n");
      return 2;
    }
    duractor::http::ServerOptions http_options;
    http_options.port = static_cast<std::uint16_t>(http_port);
    http_options.token = token;
    http = samples::or_exit(duractor::http::serve(*host, http_options), "http");
    auto port = static_cast<unsigned>(http->port());
    std::printf(
        "HTTP API on http://127.0.0.1:%u/api/v1, web page at http://127.0.0.1:%u/ (bearer "
        "token: $DURACTOR_HTTP_TOKEN)\n",
        port, port);
  }

  std::unique_ptr<duractor::mqtt::Bridge> mqtt;
  if (mqtt_port > 0) {
    duractor::mqtt::BridgeOptions bridge;
    bridge.port = static_cast<std::uint16_t>(mqtt_port);
    bridge.client_id = "duractor-provisioning";  // the broker keeps this session across runs
    bridge.in = {{.filter = "provisioning/+/approval", .instance = "{1}", .event = "Approval"}};
    bridge.out = {
        {.kinds = {duractor::LifecycleKind::kCustomStatus, duractor::LifecycleKind::kCompleted,
                   duractor::LifecycleKind::kFailed, duractor::LifecycleKind::kCancelled},
         .orchestration = "Provision",
         .topic = "provisioning/{instance}/{kind}"}};
    bridge.dead_letter_topic = "provisioning/dead-letter";
    mqtt = samples::or_exit(duractor::mqtt::Bridge::start(host->broker(), bridge), "mqtt bridge");
    std::printf("MQTT bridge to 127.0.0.1:%d: approvals from provisioning/%s/approval\n", mqtt_port,
                id.c_str());
  }

  // Progress: custom status changes of the provisioning and its health checks.
  auto progress = host->broker().lifecycle().subscribe(
      duractor::LifecycleFilter{
          {duractor::LifecycleKind::kCustomStatus}, std::nullopt, std::nullopt},
      [&](const duractor::LifecycleEvent& e) {
        if (e.instance.rfind(id, 0) != 0) return;
        std::printf("progress %s: %s\n", e.instance.c_str(), e.custom_status.c_str());
      });

  auto before = client.status(id);
  if (before && before->status == duractor::InstanceStatus::kPaused) {
    std::printf("%s is paused (duractor resume %s lets it go on); it was at: %s\n", id.c_str(),
                id.c_str(), before->custom_status.c_str());
  } else if (before && !duractor::is_terminal(before->status)) {
    std::printf("resuming %s, which was at: %s\n", id.c_str(), before->custom_status.c_str());
  } else if (before) {
    std::printf("%s has finished already (%s); provision another with --env\n", id.c_str(),
                std::string(to_string(before->status)).c_str());
  } else {
    std::printf(
        "provisioning %s: %d VMs, release %s (pid %d: kill -9 it and run again to resume)\n",
        spec.name.c_str(), spec.vms, spec.release.c_str(), static_cast<int>(::getpid()));
  }
  // Starting an existing instance with the same input is a no-op: this line starts or resumes.
  samples::or_exit(provisioning::Provision.start(client, id, spec), "start");

  // The approver: a person, or here a stand-in that decides once the gate is reached.
  bool decided = false;
  for (;;) {
    auto finished = client.wait(id, 50ms);
    if (finished) break;
    if (finished.error().code != duractor::ErrorCode::kTimeout) samples::or_exit(finished, "wait");
    auto info = samples::or_exit(client.status(id), "status");
    if (info.custom_status != "awaiting approval" || decided) continue;
    decided = true;
    if (approval_mode == "manual") {
      std::printf(
          "approve with:  duractor --store %s raise %s Approval '{\"approved\": true, \"by\": "
          "\"you\"}'\n",
          store.c_str(), id.c_str());
      if (http) {
        std::printf(
            "or over HTTP:  curl -H \"Authorization: Bearer $DURACTOR_HTTP_TOKEN\" -H "
            "'Content-Type: application/json' -d "
            "'{\"approved\": true, \"by\": \"you\"}' "
            "http://127.0.0.1:%u/api/v1/instances/%s/events/Approval\n",
            static_cast<unsigned>(http->port()), id.c_str());
      }
      if (mqtt) {
        std::printf(
            "or over MQTT:  mosquitto_pub -p %d -V 5 -q 1 -t provisioning/%s/approval -D "
            "publish user-property message-id approval-1 -m '{\"approved\": true, \"by\": "
            "\"you\"}'\n",
            mqtt_port, id.c_str());
      }
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(approve_after_ms));
    provisioning::Approval approval{approval_mode == "auto", approver};
    std::printf("%s %s the rollout\n", approver.c_str(),
                approval.approved ? "approves" : "rejects");
    auto raised = client.raise(id, "Approval", approval);
    if (!raised)
      std::printf("could not raise the approval: %s\n", raised.error().to_string().c_str());
  }

  auto info = samples::or_exit(client.wait(id, 5s), "wait");
  progress->unsubscribe();
  if (mqtt) mqtt->stop();  // before the host: the bridge writes through its broker
  if (info.status != duractor::InstanceStatus::kCompleted) {
    std::printf("%s %s: %s\n", id.c_str(), std::string(to_string(info.status)).c_str(),
                info.failure ? info.failure->message.c_str() : "");
    std::printf("cloud resources left: %zu\n", cloud.resources().size());
    return 3;
  }
  auto env = samples::or_exit(duractor::decode<provisioning::Environment>(info.output), "output");
  std::printf("environment %s is ready at %s, running %s:\n", env.name.c_str(), env.url.c_str(),
              env.release.c_str());
  for (const auto& r : env.resources) {
    std::printf("  %-8s %-28s %-9s %s\n", r.kind.c_str(), r.name.c_str(), r.id.c_str(),
                r.address.c_str());
  }
  return 0;
}
