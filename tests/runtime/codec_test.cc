// The history codec: every event and message kind round-trips, and no byte string —
// truncated, mutated or random — makes a decoder crash or read out of bounds (run this
// suite under the sanitizer build to check the second half: every input reaches a decoder
// as an exactly sized heap copy). Whatever decodes must round-trip. The fuzz tests' seed
// changes from run to run and is printed; DURACTOR_FUZZ_SEED=<seed> repeats a run.

#include <doctest/doctest.h>

#include <random>
#include <set>

#include "duractor/runtime/detail/codec.h"
#include "duractor/runtime/detail/record.h"
#include "tests/support/fuzz.h"
#include "tests/support/history_builders.h"

namespace duractor {
namespace {

using testing::test_time;

FailureDetails sample_failure() {
  return {ErrorCategory::kApplication, "std::runtime_error", "disk on fire", true,
          FailureKind::kActivityFailed};
}

// A failure that came up from a grandchild through a child.
FailureDetails chained_failure() {
  FailureDetails f = sample_failure();
  f.kind = FailureKind::kSubOrchestrationFailed;
  f.causes = {FailureCause{"child-1", "Child", FailureKind::kSubOrchestrationFailed},
              FailureCause{"leaf-1", "Leaf", FailureKind::kTimedOut}};
  return f;
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
      event::SubOrchestrationFailed{10, chained_failure()},
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
      event::TopicPublished{"orders", encode(std::string("order-7 shipped"))},
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
      message::ChildResult{1, 6, {}, chained_failure()},
      message::Pause{"change freeze"},
      message::Resume{},
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
  i.failure = chained_failure();
  i.custom_status = "step 3";
  i.parent = ParentLink{"batch", 1, 4};
  return i;
}

// Runs every decoder over an exactly sized heap copy of `bytes`; each must either succeed
// or return an error that says why. What decodes must encode again and decode to the same
// value. Returns how many decoders accepted the bytes.
int decode_everything(std::string_view bytes) {
  using testing::on_exact_heap_copy;
  int decoded = 0;
  decoded += testing::check_round_trip(
      bytes, [](std::string_view b) { return decode_event(b); },
      [](const auto& v) { return encode_event(v); });
  decoded += testing::check_round_trip(
      bytes, [](std::string_view b) { return decode_message(b); },
      [](const auto& v) { return encode_message(v); });
  decoded += testing::check_round_trip(
      bytes, [](std::string_view b) { return decode_instance(b); },
      [](const auto& v) { return encode_instance(v); });
  decoded += testing::check_round_trip(
      bytes, [](std::string_view b) { return decode_execution(b); },
      [](const auto& v) { return encode_execution(v); });
  auto s = on_exact_heap_copy(
      bytes, [](std::string_view b) { return decode<std::vector<std::string>>(b); });
  if (!s) CHECK(s.error().code == ErrorCode::kPayloadMismatch);
  return decoded;
}

FailureDetails random_failure(std::mt19937_64& rng) {
  FailureDetails f{static_cast<ErrorCategory>(rng() % 3), testing::random_text(rng),
                   testing::random_text(rng, 60)};
  f.retryable = rng() % 2 == 0;
  auto kind = [&] {
    return static_cast<FailureKind>(rng() %
                                    (static_cast<std::uint8_t>(FailureKind::kInfrastructure) + 1));
  };
  f.kind = kind();
  if (rng() % 3 == 0) {
    f.causes.resize(1 + rng() % 4);
    for (auto& c : f.causes) {
      c = FailureCause{testing::random_text(rng), testing::random_text(rng), kind()};
    }
  }
  return f;
}

// An event of a random kind with random field values: random records that decode.
HistoryEvent random_event(std::mt19937_64& rng) {
  using testing::random_text;
  auto text = [&] { return random_text(rng); };
  auto bytes = [&] { return Bytes(random_text(rng)); };
  auto id = [&] { return EventId{rng() % 4 == 0 ? rng() : rng() % 1000}; };
  auto time = [&] {
    return testing::test_time(static_cast<std::int64_t>(rng() % 4'000'000'000'000) -
                              1'000'000'000'000);
  };
  std::optional<ParentLink> parent;
  if (rng() % 2) parent = ParentLink{text(), static_cast<ExecutionId>(rng()), id()};
  std::vector<CarriedEvent> carried(rng() % 3);
  for (auto& c : carried) c = CarriedEvent{text(), bytes()};
  std::vector<EventBody> bodies = {
      event::ExecutionStarted{text(), static_cast<std::uint32_t>(rng()), bytes(), parent, carried},
      event::ActivityScheduled{text(), bytes(), static_cast<std::uint32_t>(1 + rng() % 9)},
      event::ActivityCompleted{id(), bytes()},
      event::ActivityFailed{id(), random_failure(rng)},
      event::ActivityCancelRequested{id(), text()},
      event::TimerCreated{time()},
      event::TimerFired{id(), time()},
      event::EventRaised{text(), bytes()},
      event::EventSent{text(), text(), bytes()},
      event::SubOrchestrationScheduled{text(), static_cast<std::uint32_t>(rng() % 5), text(),
                                       bytes(), rng() % 2 == 0},
      event::SubOrchestrationCompleted{id(), bytes()},
      event::SubOrchestrationFailed{id(), random_failure(rng)},
      event::SubOrchestrationCancelRequested{id(), text(), rng() % 2 == 0},
      event::CancelRequested{text(), rng() % 2 == 0},
      event::ContinuedAsNew{bytes(), static_cast<std::uint32_t>(rng() % 5)},
      event::ExecutionCompleted{bytes()},
      event::ExecutionFailed{random_failure(rng)},
      event::ExecutionCancelled{text()},
      event::CustomStatusSet{text()},
      event::TopicSubscribed{text()},
      event::TopicUnsubscribed{text()},
      event::TopicPublished{text(), bytes()},
  };
  return HistoryEvent{id(), time(), std::move(bodies[rng() % bodies.size()])};
}

std::vector<std::string> all_sample_records() {
  std::vector<std::string> out;
  for (const auto& e : sample_events()) out.push_back(encode_event(e));
  for (const auto& m : sample_messages()) out.push_back(encode_message(m));
  out.push_back(encode_instance(sample_instance()));
  out.push_back(encode_execution(
      ExecutionInfo{2, 1, InstanceStatus::kCompleted, test_time(1), test_time(2), 40, true}));
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

  TEST_CASE("a failure marked not retryable keeps the mark") {
    FailureDetails final_failure{ErrorCategory::kApplication, "duractor::NonRetryableError",
                                 "403 forbidden"};
    final_failure.retryable = false;
    HistoryEvent failed{3, test_time(1), event::ActivityFailed{2, final_failure}};
    auto decoded = decode_event(encode_event(failed));
    REQUIRE(decoded);
    CHECK(*decoded == failed);
    CHECK_FALSE(std::get<event::ActivityFailed>(decoded->body).failure.retryable);
    auto retryable_failure = final_failure;
    retryable_failure.retryable = true;
    HistoryEvent plain{3, test_time(1), event::ActivityFailed{2, retryable_failure}};
    auto plain_decoded = decode_event(encode_event(plain));
    REQUIRE(plain_decoded);
    CHECK(std::get<event::ActivityFailed>(plain_decoded->body).failure.retryable);
  }

  TEST_CASE("a failure keeps its kind and its chain of causes") {
    for (int k = 0; k <= static_cast<int>(FailureKind::kInfrastructure); ++k) {
      auto f = sample_failure();
      f.kind = static_cast<FailureKind>(k);
      HistoryEvent failed{4, test_time(1), event::ExecutionFailed{f}};
      auto decoded = decode_event(encode_event(failed));
      REQUIRE(decoded);
      CHECK(std::get<event::ExecutionFailed>(decoded->body).failure.kind == f.kind);
      CHECK(to_string(f.kind) != "unknown");
    }
    HistoryEvent chained{4, test_time(1), event::ExecutionFailed{chained_failure()}};
    auto decoded = decode_event(encode_event(chained));
    REQUIRE(decoded);
    const auto& failure = std::get<event::ExecutionFailed>(decoded->body).failure;
    REQUIRE(failure.causes.size() == 2);
    CHECK(failure.causes[0].instance == "child-1");
    CHECK(failure.causes[1].instance == "leaf-1");
    CHECK(failure.root_kind() == FailureKind::kTimedOut);
    // Stored as bytes: appended, never renumbered (docs/storage-format.md).
    CHECK(static_cast<int>(FailureKind::kActivityFailed) == 1);
    CHECK(static_cast<int>(FailureKind::kSubOrchestrationFailed) == 11);
    CHECK(static_cast<int>(FailureKind::kInfrastructure) == 13);
  }

  TEST_CASE("an unknown failure kind is corrupt and named in the error") {
    detail::RecordWriter w(4);
    w.u64(static_cast<std::uint8_t>(EventKind::kExecutionFailed)).u64(4).i64(0);
    w.array(1).array(5).u64(0).str("T").str("m").boolean(true).u64(99);
    auto unknown = decode_event(std::move(w).finish());
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::kCorrupt);
    CHECK(unknown.error().message.find("unknown failure kind 99") != std::string::npos);
  }

  TEST_CASE(
      "failures written before kinds existed decode with the kind their type or place "
      "implies") {
    // A failure as earlier builds wrote it: [category, type, message] or, not retryable,
    // [category, type, message, false].
    auto old_event = [](EventKind kind, std::string type, bool retryable = true) {
      detail::RecordWriter w(4);
      w.u64(static_cast<std::uint8_t>(kind)).u64(3).i64(0);
      bool with_id = kind != EventKind::kExecutionFailed;
      w.array(with_id ? 2 : 1);
      if (with_id) w.u64(2);
      w.array(retryable ? 3 : 4).u64(0).str(type).str("m");
      if (!retryable) w.boolean(false);
      auto decoded = decode_event(std::move(w).finish());
      REQUIRE_MESSAGE(decoded, (decoded ? "" : decoded.error().to_string()));
      return std::visit(
          [](const auto& body) -> FailureDetails {
            if constexpr (requires { body.failure; }) {
              return body.failure;
            } else {
              return {};
            }
          },
          decoded->body);
    };
    // An activity's own exception: it failed as an activity.
    auto thrown = old_event(EventKind::kActivityFailed, "std::runtime_error", false);
    CHECK(thrown.kind == FailureKind::kActivityFailed);
    CHECK_FALSE(thrown.retryable);
    CHECK(thrown.causes.empty());
    CHECK(old_event(EventKind::kActivityFailed, "duractor::ActivityTimedOut").kind ==
          FailureKind::kTimedOut);
    CHECK(old_event(EventKind::kActivityFailed, "duractor::ActivityPoisoned", false).kind ==
          FailureKind::kPoison);
    CHECK(old_event(EventKind::kActivityFailed, "duractor::NotRegistered").kind ==
          FailureKind::kUnregistered);
    CHECK(old_event(EventKind::kSubOrchestrationFailed, "duractor::InstanceAlreadyExists").kind ==
          FailureKind::kAlreadyExists);
    CHECK(old_event(EventKind::kSubOrchestrationFailed, "std::runtime_error").kind ==
          FailureKind::kApplication);
    CHECK(old_event(EventKind::kExecutionFailed, "duractor::Nondeterminism").kind ==
          FailureKind::kNondeterminism);
    CHECK(old_event(EventKind::kExecutionFailed, "duractor::LimitExceeded").kind ==
          FailureKind::kLimitExceeded);
    CHECK(old_event(EventKind::kExecutionFailed, "duractor::TurnPoisoned").kind ==
          FailureKind::kPoison);
    CHECK(old_event(EventKind::kExecutionFailed, "duractor::Cancelled").kind ==
          FailureKind::kCancelled);
    // Orchestration code threw, or a type more than one part of duractor records.
    CHECK(old_event(EventKind::kExecutionFailed, "std::runtime_error").kind ==
          FailureKind::kApplication);
    CHECK(old_event(EventKind::kExecutionFailed, "duractor::ConfigurationError").kind ==
          FailureKind::kApplication);

    // An activity's result in the inbox: [execution, scheduled_id, output, failure].
    detail::RecordWriter m(4);
    m.u64(static_cast<std::uint8_t>(MessageKind::kActivityResult)).u64(7).i64(0);
    m.array(4).u64(1).u64(2).bin("");
    m.array(3).u64(0).str("std::runtime_error").str("boom");
    auto result = decode_message(std::move(m).finish());
    REQUIRE(result);
    const auto& failure = std::get<message::ActivityResult>(result->message).failure;
    REQUIRE(failure);
    CHECK(failure->kind == FailureKind::kActivityFailed);

    // A terminated instance's failure names the type of a cancellation; the status decides.
    auto old_instance = [](InstanceStatus status) {
      detail::RecordWriter w(13);
      w.str("i").str("Order").u64(1).u64(static_cast<std::uint8_t>(status)).u64(1);
      w.i64(1).i64(2).i64(3).bin("").bin("");
      w.array(3).u64(0).str("duractor::Cancelled").str("operator");
      w.str("").nil();
      auto decoded = decode_instance(std::move(w).finish());
      REQUIRE_MESSAGE(decoded, (decoded ? "" : decoded.error().to_string()));
      REQUIRE(decoded->failure);
      return decoded->failure->kind;
    };
    CHECK(old_instance(InstanceStatus::kTerminated) == FailureKind::kTerminated);
    CHECK(old_instance(InstanceStatus::kCancelled) == FailureKind::kCancelled);
  }

  TEST_CASE("a failure from a child names it in front of the child's own causes, capped") {
    FailureDetails leaf{ErrorCategory::kApplication, "std::runtime_error", "boom", false,
                        FailureKind::kActivityFailed};
    auto child = failure_from_child(leaf, "leaf-1", "Leaf");
    CHECK(child.kind == FailureKind::kSubOrchestrationFailed);
    CHECK(child.type == "std::runtime_error");
    CHECK(child.message == "boom");
    CHECK_FALSE(child.retryable);
    REQUIRE(child.causes.size() == 1);
    CHECK(child.causes[0] == FailureCause{"leaf-1", "Leaf", FailureKind::kActivityFailed});
    auto parent = failure_from_child(child, "child-1", "Child");
    REQUIRE(parent.causes.size() == 2);
    CHECK(parent.causes[0] ==
          FailureCause{"child-1", "Child", FailureKind::kSubOrchestrationFailed});
    CHECK(parent.causes[1].instance == "leaf-1");
    CHECK(describe_causes(parent.causes) ==
          "child-1 (Child, sub-orchestration failed) <- leaf-1 (Leaf, activity failed)");
    // Deeper than the cap: the nearest links and the deepest (where it started) are kept.
    auto deep = leaf;
    for (std::size_t i = 0; i < kMaxFailureCauses + 5; ++i) {
      deep = failure_from_child(deep, "level-" + std::to_string(i), "Level");
    }
    REQUIRE(deep.causes.size() == kMaxFailureCauses);
    CHECK(deep.causes.front().instance == "level-" + std::to_string(kMaxFailureCauses + 4));
    CHECK(deep.causes.back().instance == "level-0");
    CHECK(deep.root_kind() == FailureKind::kActivityFailed);
    CHECK(deep.causes[kMaxFailureCauses - 2].instance == "level-6");
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

  TEST_CASE("instance statuses keep their stored bytes, and an unknown one is corrupt") {
    // Stored as bytes: appended, never renumbered (docs/storage-format.md).
    CHECK(static_cast<int>(InstanceStatus::kCancelled) == 4);
    CHECK(static_cast<int>(InstanceStatus::kTerminated) == 5);
    CHECK(static_cast<int>(InstanceStatus::kPaused) == 6);
    for (int s = 0; s < static_cast<int>(kInstanceStatusCount); ++s) {
      auto i = sample_instance();
      i.status = static_cast<InstanceStatus>(s);
      auto decoded = decode_instance(encode_instance(i));
      REQUIRE(decoded);
      CHECK(decoded->status == i.status);
      CHECK(parse_instance_status(to_string(i.status)) == i.status);
    }
    auto i = sample_instance();
    i.status = static_cast<InstanceStatus>(kInstanceStatusCount);
    auto unknown = decode_instance(encode_instance(i));
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::kCorrupt);
    CHECK(unknown.error().message.find("unknown instance status 7") != std::string::npos);
    CHECK(is_terminal(InstanceStatus::kTerminated));
    CHECK_FALSE(is_terminal(InstanceStatus::kPaused));
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
    // The first kind after the newest this build knows (TopicPublished, 22): what a reader
    // of an older build sees of a kind added after it, a clear kCorrupt.
    detail::RecordWriter next(4);
    next.u64(static_cast<std::uint8_t>(EventKind::kTopicPublished) + 1).u64(1).i64(0).array(0);
    auto newer = decode_event(std::move(next).finish());
    REQUIRE_FALSE(newer);
    CHECK(newer.error().code == ErrorCode::kCorrupt);
    CHECK(newer.error().message.find("unknown event kind 23") != std::string::npos);
  }

  TEST_CASE("a publication is recorded as [topic, payload], the payload as the code encoded it") {
    HistoryEvent e{4, test_time(40), event::TopicPublished{"prices", encode(125)}};
    auto bytes = encode_event(e);
    detail::RecordWriter w(4);
    w.u64(22).u64(4).i64(to_unix_ms(test_time(40)));
    w.array(2).str("prices").bin(encode(125));
    CHECK(bytes == std::move(w).finish());
    auto decoded = decode_event(bytes);
    REQUIRE(decoded);
    CHECK(*decoded == e);
    CHECK(describe(*decoded) == "#4 TopicPublished prices payload=125");
  }

  TEST_CASE("records written before payloads had a type of their own read and write the same") {
    // Bytes printed by the build before Bytes became a class (e858e9b): a started event
    // with an input and a carried event, an activity result, a publication, an event
    // message. They decode to the same values and encode back to the same bytes.
    auto unhex = [](std::string_view h) {
      std::string out;
      for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
      }
      return out;
    };
    auto t = from_unix_ms(1'700'000'000'000);
    std::vector<std::pair<std::string_view, HistoryEvent>> events = {
        {"01940101cf0000018bcfe5680097a54f7264657202c404a3616461c09192a8417070726f76616cc401c3"
         "01a0",
         HistoryEvent{1, t,
                      event::ExecutionStarted{"Order",
                                              2,
                                              encode(std::string("ada")),
                                              std::nullopt,
                                              {CarriedEvent{"Approval", encode(true)}}}}},
        {"01940302cf0000018bcfe568009207c403920102",
         HistoryEvent{2, t, event::ActivityCompleted{7, encode(std::vector<int>{1, 2})}}},
        {"01941603cf0000018bcfe5680092a6707269636573c409cb400c000000000000",
         HistoryEvent{3, t, event::TopicPublished{"prices", encode(3.5)}}},
    };
    for (const auto& [hex, expected] : events) {
      CAPTURE(hex);
      auto decoded = decode_event(unhex(hex));
      REQUIRE(decoded);
      CHECK(*decoded == expected);
      CHECK(encode_event(expected) == unhex(hex));
    }
    InboxEntry entry{5, t, message::Event{"Approval", encode(std::string("yes"))}};
    auto old_entry = unhex("01940205cf0000018bcfe5680092a8417070726f76616cc404a3796573");
    auto decoded = decode_message(old_entry);
    REQUIRE(decoded);
    CHECK(*decoded == entry);
    CHECK(*decode<std::string>(std::get<message::Event>(decoded->message).payload) == "yes");
    CHECK(encode_message(entry) == old_entry);
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
    auto seed = testing::fuzz_seed();
    MESSAGE("seed " << seed);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 5000; ++i) {
      std::size_t n = rng() % 64;
      std::string bytes(n, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      if (n > 0 && i % 2 == 0) bytes[0] = static_cast<char>(detail::kRecordFormatVersion);
      decode_everything(bytes);
    }
  }

  TEST_CASE("thousands of random events, every kind, decode to exactly what was encoded") {
    auto seed = testing::fuzz_seed();
    MESSAGE("seed " << seed);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::set<EventKind> kinds;
    for (int i = 0; i < 5000; ++i) {
      auto e = random_event(rng);
      kinds.insert(e.kind());
      auto bytes = encode_event(e);
      auto decoded =
          testing::on_exact_heap_copy(bytes, [](std::string_view b) { return decode_event(b); });
      REQUIRE_MESSAGE(decoded, decoded.error().to_string());
      CHECK(*decoded == e);
      CHECK(decode_everything(bytes) >= 1);
    }
    CHECK(kinds.size() == std::variant_size_v<EventBody>);
  }

  TEST_CASE(
      "stacked mutations of valid records never crash a decoder, and what decodes round-trips") {
    auto seed = testing::fuzz_seed();
    MESSAGE("seed " << seed);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto records = all_sample_records();
    for (int i = 0; i < 200; ++i) records.push_back(encode_event(random_event(rng)));
    int decoded_ok = 0, rejected = 0;
    constexpr int kInputs = 20000;
    for (int i = 0; i < kInputs; ++i) {
      auto bytes = testing::mutate(records[rng() % records.size()], rng, records);
      CAPTURE(i);
      if (decode_everything(bytes) > 0) {
        ++decoded_ok;
      } else {
        ++rejected;
      }
    }
    MESSAGE(decoded_ok << " of " << kInputs << " mutated records decoded (and round-tripped)");
    // Both paths ran, each many times: mutations inside payload bytes still decode.
    CHECK(decoded_ok > kInputs / 50);
    CHECK(rejected > kInputs / 2);
  }

  TEST_CASE("describe renders an event as one readable line") {
    auto e = testing::activity_scheduled(2, "Greet", encode(std::string("ada")));
    CHECK(describe(e) == "#2 ActivityScheduled Greet attempt=1 input=\"ada\"");
  }
}

}  // namespace duractor
