// The HTTP API from an installed duractor: a host serves it on a free loopback port, and a
// request with the token lists the instances. Prints the status of that request.
#include <cstdio>

#include <httplib.h>

#include <duractor/duractor.h>
#include <duractor/http/host.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer_http STORE_DIR\n");
    return 2;
  }
  duractor::Registry registry;
  duractor::HostOptions options;
  options.lmdb.path = argv[1];
  auto host = duractor::Host::start(registry, options);
  if (!host) {
    std::fprintf(stderr, "start: %s\n", host.error().to_string().c_str());
    return 1;
  }
  duractor::http::ServerOptions http;
  http.token = "consumer-token-0123456789";
  auto server = duractor::http::serve(**host, http);
  if (!server) {
    std::fprintf(stderr, "http: %s\n", server.error().to_string().c_str());
    return 1;
  }
  httplib::Client client("127.0.0.1", (*server)->port());
  auto answer = client.Get("/api/v1/instances", {{"Authorization", "Bearer " + http.token}});
  if (!answer) {
    std::fprintf(stderr, "request: %s\n", httplib::to_string(answer.error()).c_str());
    return 1;
  }
  std::printf("http: %d\n", answer->status);
  return 0;
}
