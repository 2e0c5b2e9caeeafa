#pragma once
// Builders that keep tests short: `started(1, "Hello", encode(std::string("ada")))`,
// `activity_scheduled(2, "Greet", input)`, `activity_completed(3, 2, output)`, ...
// Each returns a HistoryEvent with the given id and a fixed timestamp.

#include <string>

#include "duractor/runtime/history.h"
#include "duractor/runtime/payload.h"

namespace duractor::testing {

inline TimePoint test_time(std::int64_t offset_ms = 0) {
  return from_unix_ms(1'700'000'000'000 + offset_ms);
}

inline HistoryEvent make_event(EventId id, EventBody body) {
  return HistoryEvent{id, test_time(static_cast<std::int64_t>(id)), std::move(body)};
}

inline HistoryEvent started(EventId id, std::string name, Bytes input = encode(Unit{}),
                            std::uint32_t version = 1) {
  return make_event(id,
                    event::ExecutionStarted{std::move(name), version, std::move(input), {}, {}});
}
inline HistoryEvent activity_scheduled(EventId id, std::string name, Bytes input = encode(Unit{}),
                                       std::uint32_t attempt = 1) {
  return make_event(id, event::ActivityScheduled{std::move(name), std::move(input), attempt});
}
inline HistoryEvent activity_completed(EventId id, EventId scheduled,
                                       Bytes output = encode(Unit{})) {
  return make_event(id, event::ActivityCompleted{scheduled, std::move(output)});
}
inline HistoryEvent activity_failed(EventId id, EventId scheduled, std::string message,
                                    std::string type = "std::runtime_error") {
  return make_event(
      id, event::ActivityFailed{scheduled, FailureDetails{ErrorCategory::kApplication,
                                                          std::move(type), std::move(message)}});
}
inline HistoryEvent timer_created(EventId id, TimePoint fire_at) {
  return make_event(id, event::TimerCreated{fire_at});
}
inline HistoryEvent timer_fired(EventId id, EventId scheduled, TimePoint fire_at) {
  return make_event(id, event::TimerFired{scheduled, fire_at});
}
inline HistoryEvent event_raised(EventId id, std::string name, Bytes payload = encode(Unit{})) {
  return make_event(id, event::EventRaised{std::move(name), std::move(payload)});
}
inline HistoryEvent completed(EventId id, Bytes output = encode(Unit{})) {
  return make_event(id, event::ExecutionCompleted{std::move(output)});
}

}  // namespace duractor::testing
