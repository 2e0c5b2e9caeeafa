// Compiles messages against the typed protocols of the client and broker actors. Built as
// it is, it must compile (every message below is part of a protocol). Built with
// DURACTOR_WRONG_MESSAGE=n, it adds one message a protocol does not take, and must fail
// to compile: tests/CMakeLists.txt checks both (the "typed protocol" tests).

#include <chrono>
#include <string>

#include <caf/event_based_actor.hpp>

#include "duractor/duractor.h"

namespace {

using namespace std::chrono_literals;

[[maybe_unused]] void send_all(caf::event_based_actor* self, duractor::ClientActor client,
                               duractor::BrokerActor broker) {
  const duractor::InstanceId id = "order-1";
  self->request(client, 1s, duractor::start_atom::value, std::string("Order"), id,
                duractor::encode(1));
  self->request(client, 1s, duractor::status_atom::value, id);
  self->send(client, duractor::watch_atom::value, id);
  self->request(client, 1s, duractor::pause_atom::value, id, std::string("why"));
  self->request(client, 1s, duractor::resume_atom::value, id);
  self->request(broker, 1s, duractor::raise_atom::value, id, std::string("Approval"),
                duractor::encode(true));
  self->request(broker, 1s, duractor::cancel_atom::value, id, std::string("why"), false);
  self->request(broker, 1s, duractor::publish_atom::value, std::string("prices"),
                duractor::encode(3));
  self->request(broker, 1s, duractor::unsubscribe_atom::value, std::uint64_t{7});
#if DURACTOR_WRONG_MESSAGE == 1
  // The broker takes events, not starts.
  self->request(broker, 1s, duractor::start_atom::value, std::string("Order"), id,
                duractor::encode(1));
#elif DURACTOR_WRONG_MESSAGE == 2
  // An event's payload is Bytes, not an int.
  self->request(broker, 1s, duractor::raise_atom::value, id, std::string("Approval"), 42);
#elif DURACTOR_WRONG_MESSAGE == 3
  // The client has no cancel: cancellation goes to the broker.
  self->request(client, 1s, duractor::cancel_atom::value, id, std::string("why"), false);
#endif
}

}  // namespace

int main() {
  return 0;
}
