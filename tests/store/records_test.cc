// The store's own records and key encodings.

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/records.h"
#include "tests/support/history_builders.h"

namespace duractor {

TEST_SUITE("store records") {
  TEST_CASE("work items and timers round-trip") {
    WorkItem w{7, "order-1", 2, 5, "Charge", encode(std::string("card")), 3, testing::test_time(9)};
    auto dw = decode_work_item(encode_work_item(w));
    REQUIRE(dw);
    CHECK(*dw == w);
    TimerEntry t{TimerKey{testing::test_time(-5), 11}, "order-1", 2, 6};
    auto dt = decode_timer(encode_timer(t));
    REQUIRE(dt);
    CHECK(*dt == t);
  }

  TEST_CASE("damaged work and timer records are errors, never crashes") {
    std::mt19937_64 rng(7);
    std::vector<std::string> records = {
        encode_work_item(WorkItem{7, "o", 2, 5, "Charge", encode(1), 3, testing::test_time()}),
        encode_timer(TimerEntry{TimerKey{testing::test_time(), 1}, "o", 1, 2})};
    for (int i = 0; i < 5000; ++i) {
      auto bytes = records[static_cast<std::size_t>(i) % records.size()];
      if (rng() % 2) {
        bytes.resize(rng() % bytes.size());
      } else {
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      auto w = decode_work_item(bytes);
      auto t = decode_timer(bytes);
      if (!w) CHECK_FALSE(w.error().message.empty());
      if (!t) CHECK_FALSE(t.error().message.empty());
    }
  }

  TEST_CASE("timer keys sort in fire-time order, before and after the epoch") {
    std::vector<std::int64_t> times = {-5000, -1, 0, 1, 1'700'000'000'000, 4'000'000'000'000};
    std::vector<std::string> keys;
    for (auto t : times) keys.push_back(detail::timer_key(from_unix_ms(t), 1));
    CHECK(std::is_sorted(keys.begin(), keys.end()));
    CHECK(detail::timer_key(from_unix_ms(5), 1) < detail::timer_key(from_unix_ms(5), 2));
    CHECK(detail::time_from_bits(detail::time_bits(from_unix_ms(-42))) == from_unix_ms(-42));
  }

  TEST_CASE("history keys sort by instance, then execution, then event, numerically") {
    CHECK(detail::history_key("a", 1, 2) < detail::history_key("a", 1, 10));
    CHECK(detail::history_key("a", 1, 999) < detail::history_key("a", 2, 1));
    CHECK(detail::history_key("a", 9, 9) < detail::history_key("a0", 1, 1));
    CHECK(detail::history_key("a", 9, 9) < detail::history_key("ab", 1, 1));
    auto k = detail::history_key("inst", 3, 77);
    CHECK(detail::id_of_key(k) == "inst");
  }
}

}  // namespace duractor
