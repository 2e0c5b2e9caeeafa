// Store conformance: idempotent writes by message id (enqueue_once, publish_once) — a repeat
// applies nothing and answers the same, across a reopen; another request under a used id is
// refused; a write that fails records nothing; ids are forgotten after the retention time
// (7 days: the LMDB store's default, which every store must offer). Part of the suite run
// for every store (conformance.h).

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

namespace {

message::Event event(int value) {
  return message::Event{"Approval", encode(value)};
}

// The Approval events waiting in the inbox of `id`, by payload.
std::vector<int> approvals(Store& s, const InstanceId& id) {
  std::vector<int> out;
  auto inbox = s.read_inbox(id);
  REQUIRE_OK(inbox);
  for (const auto& m : *inbox) {
    if (auto* e = std::get_if<message::Event>(&m.message); e && e->name == "Approval") {
      out.push_back(*decode<int>(e->payload));
    }
  }
  return out;
}

}  // namespace

TEST_SUITE("store conformance: message ids") {
  TEST_CASE("an event raised twice under one message id is enqueued once, also after a reopen") {
    auto f = make_store_fixture();
    (void)create_started(*f, "a");
    auto first = f->store().enqueue_once(MessageId{"hook-1"}, "a", event(7));
    REQUIRE_OK(first);
    auto again = f->store().enqueue_once(MessageId{"hook-1"}, "a", event(7));
    REQUIRE_OK(again);
    CHECK(*again == *first);
    f->reopen();
    auto after = f->store().enqueue_once(MessageId{"hook-1"}, "a", event(7));
    REQUIRE_OK(after);
    CHECK(*after == *first);
    CHECK(approvals(f->store(), "a") == std::vector<int>{7});
    // Another id is another event.
    REQUIRE_OK(f->store().enqueue_once(MessageId{"hook-2"}, "a", event(7)));
    CHECK(approvals(f->store(), "a") == std::vector<int>{7, 7});
  }

  TEST_CASE("a used message id with a different request is refused and applies nothing") {
    auto f = make_store_fixture();
    auto& s = f->store();
    (void)create_started(*f, "a");
    (void)create_started(*f, "b");
    REQUIRE_OK(s.enqueue_once(MessageId{"m"}, "a", event(1)));
    auto before = snapshot(s);
    for (auto refused : {s.enqueue_once(MessageId{"m"}, "a", event(2)),  // other payload
                         s.enqueue_once(MessageId{"m"}, "b", event(1)),  // other instance
                         s.enqueue_once(MessageId{"m"}, "a", message::Event{"Other", encode(1)})}) {
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == ErrorCode::kAlreadyExists);
      CHECK(refused.error().message.find("message id 'm'") != std::string::npos);
    }
    auto publish = s.publish_once(MessageId{"m"}, "news", encode(1));  // other kind of write
    REQUIRE_FALSE(publish);
    CHECK(publish.error().code == ErrorCode::kAlreadyExists);
    CHECK(snapshot(s) == before);
  }

  TEST_CASE("a write that fails records no message id, so trying again applies it") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto missing = s.enqueue_once(MessageId{"early"}, "later", event(1));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::kNotFound);
    (void)create_started(*f, "later");
    REQUIRE_OK(s.enqueue_once(MessageId{"early"}, "later", event(1)));
    CHECK(approvals(s, "later") == std::vector<int>{1});

    // A publication that fails half-way reaches nobody and records nothing either.
    for (auto id : {"x", "y"}) subscribe(*f, create_started(*f, id), {"news"});
    int calls = 0;
    f->faults = [&](std::string_view step) -> Status {
      if (step == "publish.one" && ++calls == 2) return fail(ErrorCode::kIo, "injected");
      return {};
    };
    CHECK_FALSE(s.publish_once(MessageId{"pub"}, "news", encode(5)));
    f->faults = {};
    CHECK(publications(s, "x").empty());
    auto receipt = s.publish_once(MessageId{"pub"}, "news", encode(5));
    REQUIRE_OK(receipt);
    CHECK(receipt->delivered == std::vector<InstanceId>{"x", "y"});

    // The id is recorded in the write's own transaction: a failure between the two leaves
    // neither.
    f->faults = [&](std::string_view step) -> Status {
      if (step == "message_id.record") return fail(ErrorCode::kIo, "injected");
      return {};
    };
    auto before = snapshot(s);
    CHECK_FALSE(s.enqueue_once(MessageId{"torn"}, "later", event(9)));
    CHECK_FALSE(s.publish_once(MessageId{"torn-2"}, "news", encode(9)));
    CHECK(snapshot(s) == before);
    f->faults = {};
    REQUIRE_OK(s.enqueue_once(MessageId{"torn"}, "later", event(9)));
    CHECK(approvals(s, "later") == std::vector<int>{1, 9});
  }

  TEST_CASE(
      "a publication repeated under its message id reaches nobody again and answers the "
      "first receipt") {
    auto f = make_store_fixture();
    auto& s = f->store();
    subscribe(*f, create_started(*f, "a"), {"news"});
    auto first = s.publish_once(MessageId{"p-1"}, "news", encode(1));
    REQUIRE_OK(first);
    CHECK(first->delivered == std::vector<InstanceId>{"a"});
    subscribe(*f, create_started(*f, "b"), {"news"});  // joins after the first publication
    auto again = s.publish_once(MessageId{"p-1"}, "news", encode(1));
    REQUIRE_OK(again);
    CHECK(again->delivered == std::vector<InstanceId>{"a"});
    CHECK(publications(s, "a") == std::vector<int>{1});
    CHECK(publications(s, "b").empty());
    // A publication with no subscriber is remembered too.
    auto nobody = s.publish_once(MessageId{"p-2"}, "empty", encode(1));
    REQUIRE_OK(nobody);
    CHECK(nobody->delivered.empty());
    CHECK(s.publish_once(MessageId{"p-2"}, "empty", encode(1))->delivered.empty());
  }

  TEST_CASE("malformed message ids are refused") {
    auto f = make_store_fixture();
    auto& s = f->store();
    (void)create_started(*f, "a");
    for (auto id : {std::string(), std::string("bad\nid"), std::string(300, 'x')}) {
      auto r = s.enqueue_once(MessageId{id}, "a", event(1));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kInvalidArgument);
      CHECK(s.publish_once(MessageId{id}, "news", encode(1)).error().code ==
            ErrorCode::kInvalidArgument);
    }
    CHECK(approvals(s, "a").empty());
  }

  TEST_CASE("a message id is forgotten after the retention time, and then applies again") {
    auto f = make_store_fixture();
    auto& s = f->store();
    (void)create_started(*f, "a");
    REQUIRE_OK(s.enqueue_once(MessageId{"old"}, "a", event(1)));
    f->clock.advance(std::chrono::hours(24 * 7 - 1));
    CHECK(s.enqueue_once(MessageId{"old"}, "a", event(2)).error().code ==
          ErrorCode::kAlreadyExists);  // still remembered
    f->clock.advance(std::chrono::hours(2));
    // Forgotten: the same id now takes another request, and applies it.
    REQUIRE_OK(s.enqueue_once(MessageId{"old"}, "a", event(2)));
    CHECK(approvals(s, "a") == std::vector<int>{1, 2});
    // And is remembered anew from now.
    CHECK(s.enqueue_once(MessageId{"old"}, "a", event(3)).error().code ==
          ErrorCode::kAlreadyExists);

    // Many expired ids are removed as later ids come, a few at a time, without changing
    // what the live ones answer.
    for (int i = 0; i < 40; ++i) {
      REQUIRE_OK(s.enqueue_once(MessageId{"bulk-" + std::to_string(i)}, "a", event(10)));
    }
    f->clock.advance(std::chrono::hours(24 * 8));
    for (int i = 0; i < 40; ++i) {
      REQUIRE_OK(s.enqueue_once(MessageId{"new-" + std::to_string(i)}, "a", event(20)));
    }
    CHECK(s.stats()->message_ids == 40);  // the 41 expired ones are gone
    // The old ones were forgotten: each applies again.
    REQUIRE_OK(s.enqueue_once(MessageId{"bulk-3"}, "a", event(30)));
    auto inbox = approvals(s, "a");
    CHECK(std::count(inbox.begin(), inbox.end(), 30) == 1);
    CHECK(std::count(inbox.begin(), inbox.end(), 20) == 40);
  }
}

}  // namespace duractor::testing
