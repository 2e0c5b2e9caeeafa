// duractor serve: the HTTP API (http/, docs/http.md) on a store with no runtime in this
// process. Reads go to the store; writes are made as the other commands make them (each
// waits at most --lock-timeout for another process's writer lock), and a runtime that uses
// the store now or opens it later picks them up. Runs until SIGINT or SIGTERM.

#include <csignal>
#include <cstdlib>
#include <mutex>

#include <pthread.h>

#include "duractor/cli/detail/command_context.h"
#include "duractor/http/server.h"

namespace duractor::cli::detail {

namespace {

// The Error a CLI failure stands for, for the API's status codes.
Error error_of(const Failure& f) {
  return Error::make(f.exit_code == kExitLocked ? ErrorCode::kBusy : ErrorCode::kInternal,
                     f.message);
}

class StoreBackend final : public http::Backend {
 public:
  explicit StoreBackend(std::unique_ptr<StoreWriter> writer) : writer_(std::move(writer)) {}

  Store& store() override { return writer_->store(); }

  Result<InstanceId> start(std::string_view name, InstanceId id, Bytes input,
                           std::uint32_t version) override {
    // No registry here: the runtime that takes the instance checks the name and version;
    // the store refuses a malformed name or id.
    if (auto ok = check_size("the input", input); !ok) return fail(ok.error());
    if (id.empty()) id = random_uuid();
    NewInstance request{id, std::string(name), version, std::move(input), /*idempotent=*/true};
    auto created = write<CreateOutcome>([&](Callback<CreateOutcome> done) {
      store().create_instance_async(std::move(request), std::move(done));
    });
    if (!created) return fail(created.error());
    return id;
  }
  Status raise_event(const InstanceId& id, std::string_view name, Bytes payload,
                     const MessageId& message_id) override {
    // The store refuses malformed and reserved event names (validate_inbox_message).
    if (auto ok = check_size("the payload", payload); !ok) return ok;
    return enqueue(id, message::Event{std::string(name), std::move(payload)}, message_id);
  }
  Result<PublishReceipt> publish(std::string topic, Bytes payload,
                                 const MessageId& message_id) override {
    if (auto ok = check_size("the payload", payload); !ok) return fail(ok.error());
    return write<PublishReceipt>([&](Callback<PublishReceipt> done) {
      if (message_id.empty()) {
        return store().publish_async(std::move(topic), std::move(payload), std::move(done));
      }
      store().publish_once_async(message_id, std::move(topic), std::move(payload), std::move(done));
    });
  }
  Status cancel(const InstanceId& id, std::string reason, bool terminate) override {
    return enqueue(id, message::Cancel{std::move(reason), terminate});
  }
  Status pause(const InstanceId& id, std::string reason) override {
    return enqueue(id, message::Pause{std::move(reason)});
  }
  Status resume(const InstanceId& id) override { return enqueue(id, message::Resume{}); }
  Result<DeleteSummary> remove(const InstanceId& id, bool force) override {
    DeleteOptions options;
    options.force = force;
    return write<DeleteSummary>([&](Callback<DeleteSummary> done) {
      store().delete_instance_async(id, options, std::move(done));
    });
  }
  std::optional<RuntimeFigures> runtime() override { return std::nullopt; }

 private:
  static Status check_size(const char* what, const Bytes& bytes) {
    if (bytes.size() <= kMaxPayloadBytes) return {};
    return fail(ErrorCode::kLimitExceeded, std::string(what) + " is " +
                                               std::to_string(bytes.size()) +
                                               " bytes as msgpack, over the limit of " +
                                               std::to_string(kMaxPayloadBytes) + " bytes");
  }
  Status enqueue(const InstanceId& id, InboxMessage message, const MessageId& message_id = {}) {
    auto seq = write<std::uint64_t>([&](Callback<std::uint64_t> done) {
      if (message_id.empty()) return store().enqueue_async(id, std::move(message), std::move(done));
      store().enqueue_once_async(message_id, id, std::move(message), std::move(done));
    });
    if (!seq) return fail(seq.error());
    return {};
  }
  // One write at a time: the writer serves one command at a time. A write abandoned for
  // the lock timeout stays queued in the store's writer, held back by a gate that only the
  // next write would open again; so after one, this server takes no more writes.
  template <class T>
  Result<T> write(std::function<void(Callback<T>)> w) {
    std::lock_guard lock(mutex_);
    if (abandoned_) {
      return fail(ErrorCode::kBusy,
                  "an earlier write gave up waiting for the store's writer lock, which another "
                  "process holds; this server takes no more writes (restart duractor serve)");
    }
    std::vector<std::function<void(Callback<T>)>> writes;
    writes.push_back(std::move(w));
    auto results = writer_->run<T>(std::move(writes));
    if (!results) {
      abandoned_ = results.error().exit_code == kExitLocked;
      return fail(error_of(results.error()));
    }
    return std::move(results->front());
  }

  std::mutex mutex_;
  bool abandoned_ = false;
  std::unique_ptr<StoreWriter> writer_;
};

}  // namespace

Checked<int> serve(Context& c) {
  http::ServerOptions options;
  options.bind = c.o.bind;
  options.port = c.o.port;
  options.anonymous_reads = c.o.anonymous_reads;
  options.allow_remote = c.o.allow_remote;
  if (const char* token = std::getenv("DURACTOR_HTTP_TOKEN")) options.token = token;
  // Wait for the signals on this thread: blocked before any thread starts (the store's
  // writer, the server's), so that none of them takes one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto writer = open_writer(c);
  if (!writer) {
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
    return std::unexpected(writer.error());
  }
  auto server =
      http::Server::start(std::make_shared<StoreBackend>(std::move(*writer)), std::move(options));
  if (!server) {
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
    auto code = server.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailed;
    return failure(code, server.error().message);
  }
  auto host = c.o.bind.find(':') == std::string::npos ? c.o.bind : "[" + c.o.bind + "]";
  auto url = "http://" + host + ":" + std::to_string((*server)->port()) + "/api/v1";
  if (c.o.json) {
    c.print(Json{{"serving", url}, {"port", (*server)->port()}});
  } else {
    c.out << "serving " << c.o.store << " on " << url << " (stop with Ctrl-C)\n";
  }
  c.out.flush();
  int got = 0;
  sigwait(&stop_signals, &got);
  (*server)->stop();
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  return kExitOk;
}

}  // namespace duractor::cli::detail
