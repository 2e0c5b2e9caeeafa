#pragma once
// The HTTP API (http/server.h) on a running host: reads from its store, writes through its
// Client, so that they reach the instances at once.
//
//   auto server = duractor::http::serve(*host, options);   // the host must outlive it
//
// Header-only, so that duractor's HTTP library needs no CAF and a program that does not
// serve a host (duractor serve) does not link the actors.

#include <memory>

#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "duractor/http/server.h"
#include "duractor/runtime/metrics.h"

namespace duractor::http {

class HostBackend final : public Backend {
 public:
  explicit HostBackend(Host& host) : host_(host), client_(host.client()) {}
  Store& store() override { return host_.store(); }
  Result<InstanceId> start(std::string_view name, InstanceId id, Bytes input,
                           std::uint32_t version) override {
    return client_.start(name, std::move(id), std::move(input), version);
  }
  Status raise_event(const InstanceId& id, std::string_view name, Bytes payload,
                     const MessageId& message_id) override {
    if (message_id.empty()) return client_.raise_event(id, name, std::move(payload));
    return client_.raise_event(id, name, std::move(payload), message_id);
  }
  Result<PublishReceipt> publish(std::string topic, Bytes payload,
                                 const MessageId& message_id) override {
    if (message_id.empty()) return client_.publish(std::move(topic), std::move(payload));
    return client_.publish(std::move(topic), std::move(payload), message_id);
  }
  Status cancel(const InstanceId& id, std::string reason, bool terminate) override {
    return client_.cancel(id, std::move(reason), terminate);
  }
  Status pause(const InstanceId& id, std::string reason) override {
    return client_.pause(id, std::move(reason));
  }
  Status resume(const InstanceId& id) override { return client_.resume(id); }
  Result<DeleteSummary> remove(const InstanceId& id, bool force) override {
    return client_.remove(id, force);
  }
  std::optional<RuntimeFigures> runtime() override {
    return RuntimeFigures{host_.live_instances(), host_.queued_activities(),
                          dynamic_cast<const RuntimeMetrics*>(host_.options().metrics.get())};
  }

 private:
  Host& host_;
  Client client_;
};

// Serves `host` (see Server::start for the errors).
inline Result<std::unique_ptr<Server>> serve(Host& host, ServerOptions options) {
  return Server::start(std::make_shared<HostBackend>(host), std::move(options));
}

}  // namespace duractor::http
