// The HTTP server: options, authentication, limits and the thread that listens. The routes
// are in api.cc.

#include "duractor/http/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "duractor/http/detail/api.h"

namespace duractor::http {

namespace {

bool is_ip_address(const std::string& address) {
  in_addr v4{};
  in6_addr v6{};
  return ::inet_pton(AF_INET, address.c_str(), &v4) == 1 ||
         ::inet_pton(AF_INET6, address.c_str(), &v6) == 1;
}

constexpr std::size_t kMinTokenBytes = 16;

Status validate(const ServerOptions& o) {
  if (!is_ip_address(o.bind)) {
    return fail(ErrorCode::kInvalidArgument,
                "http: bind '" + o.bind + "' is not an IPv4 or IPv6 address");
  }
  if (o.token.empty() && !o.anonymous_reads) {
    return fail(ErrorCode::kInvalidArgument,
                "http: no token: set ServerOptions::token (a bearer token of at least " +
                    std::to_string(kMinTokenBytes) +
                    " bytes), or anonymous_reads for a "
                    "read-only server on loopback");
  }
  if (!o.token.empty() && o.token.size() < kMinTokenBytes) {
    // The length is safe to name; the token itself never is.
    return fail(ErrorCode::kInvalidArgument,
                "http: the token is " + std::to_string(o.token.size()) +
                    " bytes; it must be at least " + std::to_string(kMinTokenBytes));
  }
  if (!detail::is_loopback(o.bind) && !o.allow_remote) {
    return fail(ErrorCode::kInvalidArgument,
                "http: bind " + o.bind +
                    " would serve plain HTTP beyond this machine; set allow_remote (and put a "
                    "TLS-terminating proxy in front) to mean it");
  }
  if (o.anonymous_reads && !detail::is_loopback(o.bind)) {
    return fail(ErrorCode::kInvalidArgument,
                "http: anonymous_reads is allowed only on a loopback address, not on " + o.bind);
  }
  if (o.threads == 0) return fail(ErrorCode::kInvalidArgument, "http: threads must be at least 1");
  if (o.max_body_bytes == 0) {
    return fail(ErrorCode::kInvalidArgument, "http: max_body_bytes must be at least 1");
  }
  return {};
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  std::shared_ptr<Backend> backend;
  httplib::Server server;
  std::thread listener;
  int port = 0;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop();
}

Result<std::unique_ptr<Server>> Server::start(std::shared_ptr<Backend> backend,
                                              ServerOptions options) {
  if (auto ok = validate(options); !ok) return std::unexpected(ok.error());
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->backend = std::move(backend);
  auto& s = impl->server;
  auto threads = impl->options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(impl->options.max_body_bytes);
  s.set_read_timeout(std::chrono::seconds(10));
  s.set_write_timeout(std::chrono::seconds(10));
  s.set_keep_alive_timeout(5);
  // httplib's default closes a connection after 5 requests; a client that keeps one open
  // (a dashboard, a bridge) would reconnect all the time.
  s.set_keep_alive_max_count(1000);
  // Answers are small and go out in one piece; without this, Nagle's algorithm holds them
  // back behind the client's delayed ACK (40 ms a request on Linux).
  s.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
  // server (another process of the same user) bind the same port and take its requests.
  auto listening = std::make_shared<int>(-1);
  s.set_socket_options([listening](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    *listening = sock;
  });
  detail::install_api(s, impl->options, impl->backend);
  const auto& bind = impl->options.bind;
  if (impl->options.port == 0) {
    impl->port = s.bind_to_any_port(bind);
  } else {
    impl->port = s.bind_to_port(bind, impl->options.port) ? impl->options.port : -1;
  }
  if (impl->port <= 0) {
    return fail(ErrorCode::kIo, "http: cannot listen on " + bind + ":" +
                                    std::to_string(impl->options.port) + ": " +
                                    std::strerror(errno));
  }
  // Debian's httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled in):
  // a burst of new connections beyond that is dropped. listen() again raises it.
  if (*listening >= 0) ::listen(*listening, SOMAXCONN);
  auto* server = &impl->server;
  impl->listener = std::thread([server] { server->listen_after_bind(); });
  // stop() only reaches a server that is running; wait until it is.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      server->stop();
      impl->listener.join();
      return fail(ErrorCode::kIo, "http: the server on " + bind + " did not start listening");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const {
  return static_cast<std::uint16_t>(impl_->port);
}

void Server::stop() {
  if (!impl_ || !impl_->listener.joinable()) return;
  impl_->server.stop();
  impl_->listener.join();
}

}  // namespace duractor::http
