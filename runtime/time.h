#pragma once
// Time in duractor: millisecond time points on the system clock, and an injectable Clock so
// that tests can skip time (a 30-day timer fires in milliseconds of test time).

#include <atomic>
#include <chrono>
#include <cstdint>

namespace duractor {

using Milliseconds = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Milliseconds>;

inline std::int64_t to_unix_ms(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint from_unix_ms(std::int64_t ms) {
  return TimePoint(Milliseconds(ms));
}

// A source of the current time. Thread-safe: now() may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
  }
  // A process-wide instance, for callers that do not inject a clock.
  static const SystemClock& instance();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = from_unix_ms(1'700'000'000'000))
      : now_ms_(to_unix_ms(start)) {}
  TimePoint now() const override { return from_unix_ms(now_ms_.load()); }
  void advance(Milliseconds d) { now_ms_ += d.count(); }
  void set(TimePoint t) { now_ms_ = to_unix_ms(t); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

}  // namespace duractor
