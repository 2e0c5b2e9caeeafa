// embedding: duractor inside an actor-based service. The service owns its CAF actor
// system; the runtime starts inside it (Host::start(system, ...)). A service actor, the
// order desk, takes orders as messages, starts a workflow for each through the client
// actor, asks to be told when it ends (watch) and receives the result as a message — no
// thread blocks anywhere. It also subscribes to lifecycle notifications through the
// broker actor, so it sees progress (custom status) as it happens.
//
//   embedding [store-directory]      (default: ./duractor-embedding-store)

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdio>
#include <string>

#include "duractor/duractor.h"
#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::OrchestrationContext;
using duractor::Task;

const duractor::Activity<std::string, int> PriceOf{"PriceOf"};
const duractor::Activity<int, std::string> Invoice{"Invoice"};
const duractor::Orchestration<std::string, std::string> Checkout{"Checkout", 1};

int price_of(ActivityContext&, std::string item) {
  return static_cast<int>(item.size()) * 100;
}
std::string invoice(ActivityContext&, int cents) {
  return "invoice over " + std::to_string(cents) + " cents";
}

Task<std::string> checkout(OrchestrationContext& ctx, std::string item) {
  int price = co_await ctx.call(PriceOf, item);
  ctx.set_custom_status("priced at " + std::to_string(price));
  co_return co_await ctx.call(Invoice, price);
}

// ---- the service's own actors ----

using order_atom = caf::atom_constant<caf::atom("order")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

struct DeskState {
  duractor::ClientActor client;  // the runtime's client actor (typed: actors/client_protocol.h)
  caf::actor printer;            // where results go (here: main's scoped actor)
};

caf::behavior order_desk(caf::stateful_actor<DeskState>* self, duractor::ClientActor client,
                         duractor::BrokerActor broker, caf::actor printer) {
  self->state.client = client;
  self->state.printer = printer;
  // Progress of every Checkout, as messages.
  self->request(broker, 10s, duractor::subscribe_atom::value,
                duractor::LifecycleFilter{
                    {duractor::LifecycleKind::kCustomStatus}, "Checkout", std::nullopt})
      .then([](duractor::ok_atom, std::uint64_t) {});
  return {
      [=](order_atom, const std::string& item) {
        auto id = "checkout-" + item;
        self->request(self->state.client, 10s, duractor::start_atom::value, std::string("Checkout"),
                      id, duractor::encode(item))
            .then(
                [=](duractor::ok_atom, const std::string& started) {
                  self->send(self->state.client, duractor::watch_atom::value, started);
                },
                [=](caf::error& e) {
                  self->send(self->state.printer, done_atom::value, id,
                             "refused: " + duractor::from_caf_error(e).message);
                });
      },
      [=](duractor::lifecycle_atom, const duractor::LifecycleEvent& e) {
        std::printf("  progress %s: %s\n", e.instance.c_str(), e.custom_status.c_str());
      },
      [=](duractor::finished_atom, const duractor::InstanceInfo& info) {
        auto out = duractor::decode<std::string>(info.output);
        self->send(self->state.printer, done_atom::value, info.id,
                   out ? *out : info.failure->message);
      },
  };
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(PriceOf, price_of);
  registry.add(Invoice, invoice);
  registry.add(Checkout, checkout);

  caf::actor_system_config config;  // the service's configuration
  caf::actor_system system{config};
  auto host = samples::or_exit(
      duractor::Host::start(system, registry,
                            samples::options(argc > 1 ? argv[1] : "duractor-embedding-store")),
      "start");

  caf::scoped_actor main_actor{system};
  auto desk = system.spawn(order_desk, host->client_actor(), host->broker_actor(),
                           caf::actor_cast<caf::actor>(main_actor));
  for (std::string item : {"teapot", "kettle", "mug"})
    main_actor->send(desk, order_atom::value, item);
  for (int i = 0; i < 3; ++i) {
    main_actor->receive(
        [](done_atom, const std::string& id, const std::string& result) {
          std::printf("%s: %s\n", id.c_str(), result.c_str());
        },
        caf::after(30s) >>
            [] {
              std::fprintf(stderr, "embedding: no result in 30 s\n");
              std::exit(1);
            });
  }
  caf::anon_send_exit(desk, caf::exit_reason::user_shutdown);
  host->stop();  // the runtime stops; the service's actor system goes on until main returns
  return 0;
}
