// Embedding: a service with its own CAF actor system hosts the runtime; one of its actors
// starts instances through the client protocol and receives their results as messages.

#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "duractor/actors/client_protocol.h"
#include "duractor/pubsub/caf_errors.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;

const Activity<std::string, std::string> Shout{"Shout"};
const Orchestration<std::string, std::string> Greeting{"Greeting", 1};

Registry greeting_registry() {
  Registry registry;
  registry.add(Shout, [](ActivityContext&, std::string s) { return s + "!"; });
  registry.add(Greeting, [](OrchestrationContext& ctx, std::string name) -> Task<std::string> {
    co_return "hello " + co_await ctx.call(Shout, name);
  });
  return registry;
}

using report_atom = caf::atom_constant<caf::atom("report")>;

struct UserState {
  ClientActor runtime;  // the host's client actor
  caf::actor reporter;  // the test, waiting for results
  int pending = 0;
};

// A user actor: asks the runtime to start greetings, watches them, and reports each
// result it receives as a message.
caf::behavior user_actor(caf::stateful_actor<UserState>* self, ClientActor runtime,
                         caf::actor reporter) {
  self->state.runtime = runtime;
  self->state.reporter = reporter;
  return {
      [=](start_atom, const std::string& name) {
        auto id = "greet-" + name;
        self->request(self->state.runtime, 10s, start_atom::value, std::string("Greeting"), id,
                      encode(name))
            .then(
                [=](ok_atom, const std::string& started) {
                  self->send(self->state.runtime, watch_atom::value, started);
                },
                [=](caf::error& e) {
                  self->send(self->state.reporter, report_atom::value, from_caf_error(e).message);
                });
      },
      [=](finished_atom, const InstanceInfo& info) {
        auto out = decode<std::string>(info.output);
        self->send(self->state.reporter, report_atom::value,
                   info.id + "=" + (out ? *out : std::string("?")));
      },
  };
}

}  // namespace

TEST_SUITE("runtime: embedding") {
  TEST_CASE(
      "a service's own actor system hosts the runtime and its actors get results as messages") {
    testing::TempDir dir;
    auto registry = greeting_registry();
    caf::actor_system_config config;
    caf::actor_system system{config};
    auto host = Host::start(system, registry, testing::test_host_options(dir.sub("store")));
    REQUIRE(host);

    caf::scoped_actor test{system};
    auto user =
        system.spawn(user_actor, (*host)->client_actor(), caf::actor_cast<caf::actor>(test));
    for (auto name : {"ada", "grace", "unknown"})
      test->send(user, start_atom::value, std::string(name));
    std::set<std::string> reports;
    for (int i = 0; i < 3; ++i) {
      test->receive([&](report_atom, const std::string& r) { reports.insert(r); },
                    caf::after(std::chrono::seconds(20)) >> [&] { FAIL("no report"); });
    }
    CHECK(reports.count("greet-ada=hello ada!") == 1);
    CHECK(reports.count("greet-grace=hello grace!") == 1);
    CHECK(reports.count("greet-unknown=hello unknown!") == 1);

    // Errors come back as caf::error carrying duractor's error.
    test->request((*host)->client_actor(), 10s, start_atom::value, std::string("NoSuchFlow"),
                  std::string("x"), encode(1))
        .receive([](ok_atom, const std::string&) { FAIL("should not start"); },
                 [](caf::error& e) {
                   auto error = from_caf_error(e);
                   CHECK(error.code == ErrorCode::kNotRegistered);
                   CHECK(error.message == "orchestration 'NoSuchFlow' is not registered");
                 });
    // The same checks as Client::start: an input over the payload limit is refused.
    test->request((*host)->client_actor(), 10s, start_atom::value, std::string("Greeting"),
                  std::string("too-big"), encode(std::string(5 << 20, 'x')))
        .receive([](ok_atom, const std::string&) { FAIL("should not start"); },
                 [](caf::error& e) { CHECK(from_caf_error(e).code == ErrorCode::kLimitExceeded); });
    test->request((*host)->client_actor(), 10s, status_atom::value, std::string("greet-ada"))
        .receive([](const InstanceInfo& info) { CHECK(info.status == InstanceStatus::kCompleted); },
                 [](caf::error&) { FAIL("status failed"); });
    // Pause and resume, as Client::pause / resume: a finished instance is refused.
    test->request((*host)->client_actor(), 10s, pause_atom::value, std::string("greet-ada"),
                  std::string("why"))
        .receive(
            [](ok_atom, const std::string&) { FAIL("a finished instance was paused"); },
            [](caf::error& e) {
              auto error = from_caf_error(e);
              CHECK(error.code == ErrorCode::kFailedPrecondition);
              CHECK(error.message == "instance 'greet-ada' has completed; it cannot be paused");
            });
    test->request((*host)->client_actor(), 10s, resume_atom::value, std::string("nobody"))
        .receive([](ok_atom, const std::string&) { FAIL("an unknown instance was resumed"); },
                 [](caf::error& e) { CHECK(from_caf_error(e).code == ErrorCode::kNotFound); });
    caf::anon_send_exit(user, caf::exit_reason::user_shutdown);
    (*host)->stop();  // the service's actor system keeps running: it is not the host's
  }

  TEST_CASE("a watch on an instance that does not exist is answered with kNotFound at once") {
    testing::TempDir dir;
    auto registry = greeting_registry();
    caf::actor_system_config config;
    caf::actor_system system{config};
    auto host = Host::start(system, registry, testing::test_host_options(dir.sub("store")));
    REQUIRE(host);
    caf::scoped_actor test{system};
    auto began = std::chrono::steady_clock::now();
    test->request((*host)->client_actor(), 10s, watch_atom::value, std::string("no-such-instance"))
        .receive([](finished_atom, const InstanceInfo&) { FAIL("an unknown instance finished"); },
                 [](caf::error& e) {
                   auto error = from_caf_error(e);
                   CHECK(error.code == ErrorCode::kNotFound);
                   CHECK(error.message == "no instance 'no-such-instance'");
                 });
    CHECK(std::chrono::steady_clock::now() - began < 5s);

    // A watch sent as a request is answered with the final information.
    REQUIRE((*host)->client().start(Greeting, "greet-req", std::string("req")));
    test->request((*host)->client_actor(), 20s, watch_atom::value, std::string("greet-req"))
        .receive(
            [](finished_atom, const InstanceInfo& info) {
              CHECK(info.status == InstanceStatus::kCompleted);
              CHECK(*decode<std::string>(info.output) == "hello req!");
            },
            [](caf::error& e) { FAIL(from_caf_error(e).to_string()); });
    (*host)->stop();
  }
}

}  // namespace duractor
