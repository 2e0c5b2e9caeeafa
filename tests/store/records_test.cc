// The store's own records and key encodings. The fuzz tests feed every decoder that a
// store runs when it opens and reads (work items, timers, journal records and their
// headers, and the events inside journal records) stacked mutations of real records, each
// as an exactly sized heap copy (run under the sanitizer build to catch over-reads); what
// decodes must round-trip. The seed changes from run to run and is printed;
// DURACTOR_FUZZ_SEED=<seed> repeats a run.

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/records.h"
#include "tests/support/fuzz.h"
#include "tests/support/history_builders.h"

namespace duractor {
namespace {

using testing::on_exact_heap_copy;

// A journal record as a store writes one for a turn: the turn's events, encoded.
JournalRecord journal_record(const InstanceId& instance, EventId first,
                             const std::vector<HistoryEvent>& events) {
  JournalRecord r{instance, 1, first, {}};
  for (const auto& e : events) r.events.push_back(encode_event(e));
  return r;
}

std::vector<std::string> real_records() {
  using namespace testing;
  std::vector<std::string> out = {
      encode_work_item(
          WorkItem{7, "order-1", 2, 5, "Charge", encode(std::string("card")), 3, test_time(9)}),
      encode_work_item(WorkItem{1, "", 1, 1, "", {}, 1, test_time(-9)}),
      encode_timer(TimerEntry{TimerKey{test_time(-5), 11}, "order-1", 2, 6}),
      encode_timer(TimerEntry{TimerKey{test_time(5), 1}, "o", 1, 2}),
      encode_journal_record(
          journal_record("order-1", 1,
                         {started(1, "Order", encode(17)),
                          activity_scheduled(2, "Charge", encode(std::string("card")))})),
      encode_journal_record(journal_record(
          "order-1", 3,
          {activity_completed(3, 2, encode(std::string("ok"))), timer_created(4, test_time(100)),
           event_raised(5, "Approval", encode(true)), completed(6, encode(42))})),
      encode_journal_record(journal_record("empty", 9, {})),
      // Boundary values: ids past 32 bits, the largest execution number.
      encode_journal_record(
          JournalRecord{"long-lived",
                        4'294'967'295u,
                        5'000'000'000,
                        {encode_event(activity_scheduled(5'000'000'000, "Step"))}}),
      encode_work_item(WorkItem{5'000'000'000,
                                "long-lived",
                                4'294'967'295u,
                                5'000'000'001,
                                "Step",
                                {},
                                4'000'000'000u,
                                test_time()}),
  };
  return out;
}

bool same(const JournalRecord& a, const JournalRecord& b) {
  return a.instance == b.instance && a.execution == b.execution && a.first_event == b.first_event &&
         a.events == b.events;
}

// Runs every store record decoder over an exactly sized heap copy of `bytes`: each
// succeeds or names the cause; what decodes round-trips; a journal record's header agrees
// with the record, and its events go through the event decoder too. Returns how many
// decoders accepted the bytes.
int decode_store_records(std::string_view bytes) {
  int decoded = 0;
  decoded += testing::check_round_trip(
      bytes, [](std::string_view b) { return decode_work_item(b); },
      [](const auto& v) { return encode_work_item(v); });
  decoded += testing::check_round_trip(
      bytes, [](std::string_view b) { return decode_timer(b); },
      [](const auto& v) { return encode_timer(v); });
  auto header =
      on_exact_heap_copy(bytes, [](std::string_view b) { return decode_journal_header(b); });
  if (!header) CHECK_FALSE(header.error().message.empty());
  if (auto j =
          on_exact_heap_copy(bytes, [](std::string_view b) { return decode_journal_record(b); })) {
    ++decoded;
    auto again = decode_journal_record(encode_journal_record(*j));
    REQUIRE_MESSAGE(again, again.error().to_string());
    CHECK(same(*again, *j));
    // The commit path trusts the header alone: it must read what the record holds.
    REQUIRE_MESSAGE(header, header.error().to_string());
    CHECK(header->instance == j->instance);
    CHECK(header->execution == j->execution);
    CHECK(header->first_event == j->first_event);
    CHECK(header->event_count == j->events.size());
    for (const auto& event_bytes : j->events) {
      auto e = on_exact_heap_copy(event_bytes, [](std::string_view b) { return decode_event(b); });
      if (!e) {
        CHECK_FALSE(e.error().message.empty());
        continue;
      }
      auto e_again = decode_event(encode_event(*e));
      REQUIRE_MESSAGE(e_again, e_again.error().to_string());
      CHECK(*e_again == *e);
    }
  }
  return decoded;
}

}  // namespace

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

  TEST_CASE("journal records and their headers round-trip") {
    for (const auto& bytes : real_records()) {
      CHECK(decode_store_records(bytes) == 1);  // each is exactly one kind of record
    }
    auto record = journal_record("order-1", 3, {testing::activity_completed(3, 2)});
    auto header = decode_journal_header(encode_journal_record(record));
    REQUIRE(header);
    CHECK(header->event_count == 1);
  }

  TEST_CASE("stacked mutations of real records are errors or round-trip, never crashes") {
    auto seed = testing::fuzz_seed();
    MESSAGE("seed " << seed);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto records = real_records();
    int decoded_ok = 0, rejected = 0;
    constexpr int kInputs = 20000;
    for (int i = 0; i < kInputs; ++i) {
      auto bytes = testing::mutate(records[rng() % records.size()], rng, records);
      CAPTURE(i);
      if (decode_store_records(bytes) > 0) {
        ++decoded_ok;
      } else {
        ++rejected;
      }
    }
    MESSAGE(decoded_ok << " of " << kInputs << " mutated records decoded (and round-tripped)");
    CHECK(decoded_ok > kInputs / 50);
    CHECK(rejected > kInputs / 2);
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
