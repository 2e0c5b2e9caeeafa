// saga: a business transaction across services with compensation. Booking a trip books a
// flight, a hotel and a car, one after the other. If a step fails for good (after its
// retries), the steps already done are undone in reverse order — cancel the hotel, then
// the flight — and the trip fails with the original reason. Every step and every
// compensation is recorded, so a crash in the middle of undoing resumes the undoing.
//
// C++ forbids co_await inside a catch handler: the handler only notes the failure, and the
// compensation runs after it.
//
//   saga [store-directory]      (default: ./duractor-saga-store)

#include <msgpack.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::OrchestrationContext;
using duractor::Task;

struct Trip {
  std::string traveller;
  std::string city;
  bool cars_sold_out = false;  // makes the car rental fail
  MSGPACK_DEFINE(traveller, city, cars_sold_out)
};

const duractor::Activity<Trip, std::string> BookFlight{"BookFlight"};
const duractor::Activity<Trip, std::string> BookHotel{"BookHotel"};
const duractor::Activity<Trip, std::string> RentCar{"RentCar"};
const duractor::Activity<std::string, void> CancelFlight{"CancelFlight"};
const duractor::Activity<std::string, void> CancelHotel{"CancelHotel"};
const duractor::Orchestration<Trip, std::vector<std::string>> BookTrip{"BookTrip", 1};

std::string book_flight(ActivityContext&, Trip t) {
  std::printf("  flight to %s booked for %s\n", t.city.c_str(), t.traveller.c_str());
  return "FL-" + t.traveller;
}
std::string book_hotel(ActivityContext&, Trip t) {
  std::printf("  hotel in %s booked for %s\n", t.city.c_str(), t.traveller.c_str());
  return "HO-" + t.traveller;
}
std::string rent_car(ActivityContext& ctx, Trip t) {
  if (t.cars_sold_out) {
    std::printf("  car rental in %s: sold out (attempt %u)\n", t.city.c_str(), ctx.attempt());
    throw std::runtime_error("no cars left in " + t.city);
  }
  std::printf("  car in %s rented for %s\n", t.city.c_str(), t.traveller.c_str());
  return "CAR-" + t.traveller;
}
void cancel_flight(ActivityContext&, std::string booking) {
  std::printf("  cancelled flight %s\n", booking.c_str());
}
void cancel_hotel(ActivityContext&, std::string booking) {
  std::printf("  cancelled hotel %s\n", booking.c_str());
}

Task<std::vector<std::string>> book_trip(OrchestrationContext& ctx, Trip trip) {
  // Each undo step, pushed once its step has succeeded; run in reverse on failure.
  std::vector<std::pair<duractor::Activity<std::string, void>, std::string>> undo;
  std::vector<std::string> bookings;
  std::optional<std::string> failure;
  try {
    bookings.push_back(co_await ctx.call(BookFlight, trip));
    undo.emplace_back(CancelFlight, bookings.back());
    bookings.push_back(co_await ctx.call(BookHotel, trip));
    undo.emplace_back(CancelHotel, bookings.back());
    auto retry = duractor::RetryPolicy::exponential(3, 100ms, 2.0, 1s);
    bookings.push_back(co_await ctx.call(RentCar, trip, retry));
  } catch (const duractor::ActivityFailed& e) {
    failure = e.what();  // no co_await here: compensate below
  }
  if (!failure) co_return bookings;

  ctx.set_custom_status("compensating");
  for (auto step = undo.rbegin(); step != undo.rend(); ++step) {
    co_await ctx.call(step->first, step->second);
  }
  throw std::runtime_error("trip for " + trip.traveller + " not booked: " + *failure);
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(BookFlight, book_flight);
  registry.add(BookHotel, book_hotel);
  registry.add(RentCar, rent_car);
  registry.add(CancelFlight, cancel_flight);
  registry.add(CancelHotel, cancel_hotel);
  registry.add(BookTrip, book_trip);

  auto host = samples::or_exit(
      duractor::Host::start(registry, samples::options(argc > 1 ? argv[1] : "duractor-saga-store")),
      "start");
  auto client = host->client();

  auto ok = samples::or_exit(BookTrip.run(client, "trip-ada", Trip{"ada", "Lisbon", false}, 30s),
                             "trip-ada");
  std::printf("trip-ada booked:");
  for (const auto& b : ok) std::printf(" %s", b.c_str());
  std::printf("\n");

  auto failed = BookTrip.run(client, "trip-linus", Trip{"linus", "Oslo", true}, 30s);
  if (failed) {
    std::printf("trip-linus booked?\n");
    return 1;
  }
  std::printf("trip-linus failed and was compensated: %s\n", failed.error().message.c_str());
  return 0;
}
