// The history codec: every event and message kind round-trips, and no byte string —
// truncated, mutated or random — makes a decoder crash or read out of bounds (run this
// suite under the sanitizer build to check the second half).

#include <doctest/doctest.h>

#include <random>
#include <set>

#include "runtime/codec.h"
#include "runtime/detail/record.h"
#include "tests/support/history_builders.h"

namespace duractor {
namespace {

using testing::test_time;

FailureDetails sample_failure() {
  return {ErrorCategory::kApplication, "std::runtime_error", "disk on fire"};
}

// One event of every kind, with every field set to something non-default.
std::vector<HistoryEvent> sample_events() {
  ParentLink parent{"parent-1", 2, 7};
  std::vector<EventBody> bodies = {
      event::ExecutionStarted{"Provision",
                              3,
                              encode(std::string("net-1")),
                              parent,
                              {CarriedEvent{"Approval", encode(true)}},
                              kCurrentRules,
                              "step 2 of 3"},
      event::ActivityScheduled{"CreateVm", encode(std::vector<int>{1, 2, 3}), 2},
      event::ActivityCompleted{2, encode(std::string("vm-7"))},
      event::ActivityFailed{2, sample_failure()},
      event::ActivityCancelRequested{2, "lost the race"},
      event::TimerCreated{test_time(5000)},
      event::TimerFired{6, test_time(5000)},
      event::EventRaised{"Approval", encode(true)},
      event::EventSent{"other", "Ping", encode(42)},
      event::SubOrchestrationScheduled{"Child", 1, "child-1", encode(1.5), true},
      event::SubOrchestrationCompleted{10, encode(std::string("done"))},
      event::SubOrchestrationFailed{10, FailureDetails{ErrorCategory::kConfiguration, "T", "m"}},
      event::SubOrchestrationCancelRequested{10, "parent cancelled", true},
      event::CancelRequested{"operator", true},
      event::CancelRequested{"again", false, event::CancelDisposition::kIgnored},
      event::ContinuedAsNew{encode(99), 4},
      event::ExecutionCompleted{encode(std::string("ok"))},
      event::ExecutionFailed{FailureDetails{ErrorCategory::kInfrastructure, "io", "sync failed"}},
      event::ExecutionCancelled{"operator"},
      event::CustomStatusSet{"creating vms 2/3"},
      event::TopicSubscribed{"orders"},
      event::TopicUnsubscribed{"orders"},
  };
  std::vector<HistoryEvent> events;
  EventId id = 1;
  for (auto& b : bodies) events.push_back(HistoryEvent{id, test_time(id * 10), std::move(b)});
  return events;
}

std::vector<InboxEntry> sample_messages() {
  std::vector<InboxMessage> bodies = {
      message::Start{2,
                     "Monitor",
                     1,
                     encode(10),
                     ParentLink{"p", 1, 3},
                     {CarriedEvent{"Tick", encode(1)}},
                     "carried status"},
      message::Event{"Approval", encode(true)},
      message::Cancel{"no longer needed", false},
      message::ActivityResult{1, 2, encode(std::string("x")), std::nullopt},
      message::ActivityResult{1, 3, {}, sample_failure()},
      message::TimerFired{1, 4, test_time(77)},
      message::ChildResult{1, 5, encode(3), std::nullopt},
      message::ChildResult{1, 6, {}, sample_failure()},
  };
  std::vector<InboxEntry> entries;
  std::uint64_t seq = 100;
  for (auto& b : bodies) entries.push_back(InboxEntry{seq++, test_time(1), std::move(b)});
  return entries;
}

InstanceInfo sample_instance() {
  InstanceInfo i;
  i.id = "order-17";
  i.name = "Order";
  i.version = 2;
  i.status = InstanceStatus::kFailed;
  i.execution = 3;
  i.created_at = test_time(1);
  i.updated_at = test_time(2);
  i.completed_at = test_time(3);
  i.input = encode(std::string("in"));
  i.output = encode(std::string("out"));
  i.failure = sample_failure();
  i.custom_status = "step 3";
  i.parent = ParentLink{"batch", 1, 4};
  return i;
}

// Runs every decoder over `bytes`; each must either succeed or return an error.
void decode_everything(std::string_view bytes) {
  auto e = decode_event(bytes);
  if (!e) CHECK_FALSE(e.error().message.empty());
  auto m = decode_message(bytes);
  if (!m) CHECK_FALSE(m.error().message.empty());
  auto i = decode_instance(bytes);
  if (!i) CHECK_FALSE(i.error().message.empty());
  auto x = decode_execution(bytes);
  if (!x) CHECK_FALSE(x.error().message.empty());
  auto s = decode<std::vector<std::string>>(bytes);
  if (!s) CHECK(s.error().code == ErrorCode::kPayloadMismatch);
}

std::vector<std::string> all_sample_records() {
  std::vector<std::string> out;
  for (const auto& e : sample_events()) out.push_back(encode_event(e));
  for (const auto& m : sample_messages()) out.push_back(encode_message(m));
  out.push_back(encode_instance(sample_instance()));
  out.push_back(encode_execution(ExecutionInfo{2, 1, InstanceStatus::kCompleted, test_time(1),
                                               test_time(2), 40, true}));
  return out;
}

}  // namespace

TEST_SUITE("codec") {
  TEST_CASE("every event kind survives encoding and decoding unchanged") {
    auto events = sample_events();
    std::set<EventKind> kinds;
    for (const auto& e : events) {
      kinds.insert(e.kind());
      auto decoded = decode_event(encode_event(e));
      REQUIRE_MESSAGE(decoded, e.kind_name());
      CHECK(*decoded == e);
    }
    // A new event kind without a sample here fails this line.
    CHECK(kinds.size() == std::variant_size_v<EventBody>);
  }

  TEST_CASE("a failure marked not retryable keeps the mark, and records of retryable ones are unchanged") {
    FailureDetails final_failure{ErrorCategory::kApplication, "duractor::NonRetryableError", "403 forbidden"};
    final_failure.retryable = false;
    HistoryEvent failed{3, test_time(1), event::ActivityFailed{2, final_failure}};
    auto decoded = decode_event(encode_event(failed));
    REQUIRE(decoded);
    CHECK(*decoded == failed);
    CHECK_FALSE(std::get<event::ActivityFailed>(decoded->body).failure.retryable);
    // A retryable failure is written as before, [category, type, message]: the mark is one
    // extra element, present only when false.
    auto retryable_failure = final_failure;
    retryable_failure.retryable = true;
    HistoryEvent plain{3, test_time(1), event::ActivityFailed{2, retryable_failure}};
    auto plain_bytes = encode_event(plain);
    CHECK(plain_bytes.size() + 1 == encode_event(failed).size());
    auto plain_decoded = decode_event(plain_bytes);
    REQUIRE(plain_decoded);
    CHECK(std::get<event::ActivityFailed>(plain_decoded->body).failure.retryable);
  }

  TEST_CASE(
      "records written before rules revision 2 decode with the first rules, no carried status and "
      "cancels delivered") {
    // ExecutionStarted as earlier builds wrote it: five fields.
    detail::RecordWriter w(4);
    w.u64(static_cast<std::uint8_t>(EventKind::kExecutionStarted)).u64(1).i64(0);
    w.array(5).str("Old").u64(1).bin(encode(1)).nil().array(0);
    auto started = decode_event(std::move(w).finish());
    REQUIRE_MESSAGE(started, (started ? "" : started.error().to_string()));
    const auto& body = std::get<event::ExecutionStarted>(started->body);
    CHECK(body.rules == kFirstRules);
    CHECK(body.custom_status.empty());
    // A delivered cancel is written as before, [reason, terminate].
    HistoryEvent delivered{2, test_time(1), event::CancelRequested{"stop", false}};
    HistoryEvent ignored{2, test_time(1),
                         event::CancelRequested{"stop", false, event::CancelDisposition::kIgnored}};
    CHECK(encode_event(delivered).size() + 1 == encode_event(ignored).size());
    detail::RecordWriter c(4);
    c.u64(static_cast<std::uint8_t>(EventKind::kCancelRequested)).u64(2).i64(0);
    c.array(3).str("stop").boolean(false).u64(9);
    auto unknown = decode_event(std::move(c).finish());
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message.find("unknown cancel disposition 9") != std::string::npos);
  }

  TEST_CASE("every inbox message kind survives encoding and decoding unchanged") {
    std::set<MessageKind> kinds;
    for (const auto& m : sample_messages()) {
      kinds.insert(kind_of(m.message));
      auto decoded = decode_message(encode_message(m));
      REQUIRE(decoded);
      CHECK(*decoded == m);
    }
    CHECK(kinds.size() == std::variant_size_v<InboxMessage>);
  }

  TEST_CASE("instance and execution metadata survive encoding and decoding") {
    auto i = sample_instance();
    auto decoded = decode_instance(encode_instance(i));
    REQUIRE(decoded);
    CHECK(*decoded == i);

    InstanceInfo minimal;
    minimal.id = "x";
    minimal.name = "Y";
    auto decoded_minimal = decode_instance(encode_instance(minimal));
    REQUIRE(decoded_minimal);
    CHECK(*decoded_minimal == minimal);

    ExecutionInfo x{2, 1, InstanceStatus::kRunning, test_time(1), std::nullopt, 40, false};
    auto dx = decode_execution(encode_execution(x));
    REQUIRE(dx);
    CHECK(*dx == x);
  }

  TEST_CASE("a truncated record is an error that says it is truncated") {
    auto bytes = encode_event(sample_events()[1]);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto r = decode_event(std::string_view(bytes).substr(0, n));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kCorrupt);
      CHECK(r.error().message.find("history event") != std::string::npos);
    }
    auto r = decode_event(std::string_view(bytes).substr(0, bytes.size() - 3));
    CHECK(r.error().message.find("truncated") != std::string::npos);
  }

  TEST_CASE("a record from a newer format version is refused as unsupported") {
    auto bytes = encode_event(sample_events()[0]);
    bytes[0] = static_cast<char>(detail::kRecordFormatVersion + 1);
    auto r = decode_event(bytes);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kUnsupported);
    CHECK(r.error().message.find("newer") != std::string::npos);
  }

  TEST_CASE("a field of the wrong type is named in the error") {
    // An ActivityScheduled whose name is an integer.
    detail::RecordWriter w(4);
    w.u64(static_cast<std::uint8_t>(EventKind::kActivityScheduled)).u64(2).i64(0);
    w.array(3).u64(17).bin("x").u64(1);
    auto r = decode_event(std::move(w).finish());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kCorrupt);
    CHECK(r.error().message.find("ActivityScheduled.name") != std::string::npos);
    CHECK(r.error().message.find("expected string") != std::string::npos);
  }

  TEST_CASE("an unknown event kind is named in the error") {
    detail::RecordWriter w(4);
    w.u64(200).u64(1).i64(0).array(0);
    auto r = decode_event(std::move(w).finish());
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("unknown event kind 200") != std::string::npos);
  }

  TEST_CASE("trailing bytes after a record are rejected") {
    auto bytes = encode_event(sample_events()[2]) + "x";
    auto r = decode_event(bytes);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("trailing") != std::string::npos);
  }

  TEST_CASE("foreign data is rejected: JSON, a bare msgpack value, a forged huge array") {
    CHECK_FALSE(decode_event("{\"kind\": 1}"));
    CHECK_FALSE(decode_event(std::string("\x01\x2a", 2)));  // version 1, then the integer 42
    // Version 1, then an array32 header claiming 4 billion elements, then nothing.
    auto forged = decode_event(std::string("\x01\xdd\xff\xff\xff\xff", 6));
    REQUIRE_FALSE(forged);
    CHECK(forged.error().code == ErrorCode::kCorrupt);
    // A str32 header claiming 4 GiB.
    CHECK_FALSE(decode_message(std::string("\x01\x94\x01\x01\x01\xdb\xff\xff\xff\xff", 10)));
  }

  TEST_CASE("thousands of random byte strings never crash a decoder") {
    std::mt19937_64 rng(0xD0C0DEC);
    for (int i = 0; i < 5000; ++i) {
      std::size_t n = rng() % 64;
      std::string bytes(n, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      if (n > 0 && i % 2 == 0) bytes[0] = static_cast<char>(detail::kRecordFormatVersion);
      decode_everything(bytes);
    }
  }

  TEST_CASE("thousands of mutated valid records never crash a decoder") {
    std::mt19937_64 rng(0x5EED);
    auto records = all_sample_records();
    int decoded_ok = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string bytes = records[rng() % records.size()];
      switch (rng() % 4) {
        case 0:  // flip a few bytes
          for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
            bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
          }
          break;
        case 1:  // truncate
          bytes.resize(rng() % bytes.size());
          break;
        case 2:  // insert a random byte
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(rng() % (bytes.size() + 1)),
                       static_cast<char>(rng()));
          break;
        default:  // overwrite with an interesting msgpack header byte
          bytes[rng() % bytes.size()] = static_cast<char>(
              std::array<unsigned char, 8>{0xdc, 0xdd, 0xde, 0xdf, 0xc4, 0xc6, 0xdb, 0xc1}[rng() % 8]);
      }
      decode_everything(bytes);
      if (decode_event(bytes)) ++decoded_ok;
    }
    // Some mutations (in payload bytes) still decode; most must not. Both paths ran.
    CHECK(decoded_ok < 20000);
  }

  TEST_CASE("describe renders an event as one readable line") {
    auto e = testing::activity_scheduled(2, "Greet", encode(std::string("ada")));
    CHECK(describe(e) == "#2 ActivityScheduled Greet attempt=1 input=\"ada\"");
  }
}

}  // namespace duractor
