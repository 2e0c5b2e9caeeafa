// chaining: function chaining. An order goes through four activities, each taking the
// previous one's result: validate, reserve stock, charge the card, ship. If the process
// dies between two steps, the next run continues with the step that had not finished;
// the steps already recorded are not done again.
//
//   chaining [store-directory]      (default: ./duractor-chaining-store)

#include <msgpack.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::OrchestrationContext;
using duractor::Task;

struct Order {
  std::string id;
  std::string sku;
  int quantity = 0;
  int unit_price_cents = 0;
  std::string address;
  MSGPACK_DEFINE(id, sku, quantity, unit_price_cents, address)
};

struct Reservation {
  std::string order;
  std::string warehouse;
  int total_cents = 0;
  MSGPACK_DEFINE(order, warehouse, total_cents)
};

const duractor::Activity<Order, Order> Validate{"Validate"};
const duractor::Activity<Order, Reservation> Reserve{"Reserve"};
const duractor::Activity<Reservation, std::string> Charge{"Charge"};           // -> payment id
const duractor::Activity<std::vector<std::string>, std::string> Ship{"Ship"};  // -> tracking
const duractor::Orchestration<Order, std::string> Fulfil{"Fulfil", 1};

Order validate(ActivityContext&, Order order) {
  if (order.quantity <= 0)
    throw std::invalid_argument("order " + order.id + ": quantity must be positive");
  std::printf("  validated %s: %d x %s\n", order.id.c_str(), order.quantity, order.sku.c_str());
  return order;
}

Reservation reserve(ActivityContext&, Order order) {
  std::printf("  reserved %d x %s in warehouse berlin-2\n", order.quantity, order.sku.c_str());
  return {order.id, "berlin-2", order.quantity * order.unit_price_cents};
}

std::string charge(ActivityContext&, Reservation r) {
  std::printf("  charged %d.%02d EUR for %s\n", r.total_cents / 100, r.total_cents % 100,
              r.order.c_str());
  return "pay-" + r.order;
}

std::string ship(ActivityContext&, std::vector<std::string> what) {
  std::printf("  shipped %s from %s to %s\n", what[0].c_str(), what[1].c_str(), what[2].c_str());
  return "TRACK-" + what[0];
}

// Each step's input is the previous step's output.
Task<std::string> fulfil(OrchestrationContext& ctx, Order order) {
  auto valid = co_await ctx.call(Validate, order);
  ctx.set_custom_status("validated");
  auto reservation = co_await ctx.call(Reserve, valid);
  ctx.set_custom_status("reserved");
  auto payment = co_await ctx.call(Charge, reservation);
  ctx.set_custom_status("charged: " + payment);
  std::vector<std::string> shipment;
  shipment.push_back(valid.id);
  shipment.push_back(reservation.warehouse);
  shipment.push_back(valid.address);
  co_return co_await ctx.call(Ship, shipment);
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(Validate, validate);
  registry.add(Reserve, reserve);
  registry.add(Charge, charge);
  registry.add(Ship, ship);
  registry.add(Fulfil, fulfil);

  auto host = samples::or_exit(
      duractor::Host::start(registry,
                            samples::options(argc > 1 ? argv[1] : "duractor-chaining-store")),
      "start");
  auto client = host->client();

  Order order{"order-1001", "kettle", 2, 3450, "Rue de Rivoli 1, Paris"};
  auto tracking = samples::or_exit(Fulfil.run(client, order.id, order, 30s), "fulfil");
  std::printf("%s fulfilled, tracking number %s\n", order.id.c_str(), tracking.c_str());

  // A bad order fails in its first step; the failure names the cause.
  Order bad{"order-1002", "kettle", 0, 3450, "nowhere"};
  auto refused = Fulfil.run(client, bad.id, bad, 30s);
  std::printf("%s: %s\n", bad.id.c_str(), refused ? "fulfilled?" : refused.error().message.c_str());
  return refused ? 1 : 0;
}
