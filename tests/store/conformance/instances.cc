// Store conformance: creating instances (ids, names, idempotent starts) and reading unknown
// ones. Part of the suite written once against the Store interface (tests/store/conformance.h).

#include <doctest/doctest.h>

#include "tests/store/conformance/helpers.h"

namespace duractor::testing {

TEST_SUITE("store conformance: instances") {
  TEST_CASE("creating an instance records it pending with a Start message in its inbox") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto created = s.create_instance(new_instance("order-1", "Order", encode(std::string("x"))));
    REQUIRE_OK(created);
    CHECK(*created == CreateOutcome::kCreated);

    auto info = s.read_instance("order-1");
    REQUIRE_OK(info);
    CHECK(info->id == "order-1");
    CHECK(info->name == "Order");
    CHECK(info->version == 1);
    CHECK(info->status == InstanceStatus::kPending);
    CHECK(info->execution == 0);
    CHECK(info->created_at == f->clock.now());
    CHECK(info->input == encode(std::string("x")));

    auto inbox = s.read_inbox("order-1");
    REQUIRE_OK(inbox);
    REQUIRE(inbox->size() == 1);
    const auto& start = std::get<message::Start>(inbox->front().message);
    CHECK(start.execution == 1);
    CHECK(start.name == "Order");
    CHECK(start.input == encode(std::string("x")));

    auto latest = s.read_latest_history("order-1");
    REQUIRE_OK(latest);
    CHECK(latest->execution == 0);
    CHECK(latest->events.empty());
  }

  TEST_CASE("a duplicate id is rejected with an error naming the existing instance") {
    auto f = make_store_fixture();
    auto& s = f->store();
    REQUIRE_OK(s.create_instance(new_instance("dup")));
    auto again = s.create_instance(new_instance("dup"));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::kAlreadyExists);
    CHECK(again.error().message.find("'dup' already exists") != std::string::npos);
    CHECK(again.error().message.find("Order") != std::string::npos);
    auto inbox = s.read_inbox("dup");
    CHECK(inbox->size() == 1);  // no second Start
  }

  TEST_CASE("an idempotent start with the same name and input succeeds without a second Start") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto r = new_instance("idem", "Order", encode(5));
    r.idempotent = true;
    REQUIRE(*s.create_instance(r) == CreateOutcome::kCreated);
    auto again = s.create_instance(r);
    REQUIRE_OK(again);
    CHECK(*again == CreateOutcome::kAlreadyExisted);
    CHECK(s.read_inbox("idem")->size() == 1);

    SUBCASE("a different input is rejected, saying the input differs") {
      auto other = r;
      other.input = encode(6);
      auto e = s.create_instance(other);
      REQUIRE_FALSE(e);
      CHECK(e.error().code == ErrorCode::kAlreadyExists);
      CHECK(e.error().message.find("different input") != std::string::npos);
    }
    SUBCASE("a different orchestration name is rejected, naming it") {
      auto other = r;
      other.name = "Refund";
      auto e = s.create_instance(other);
      REQUIRE_FALSE(e);
      CHECK(e.error().message.find("'Refund'") != std::string::npos);
    }
  }

  TEST_CASE("invalid ids and names are rejected and nothing is written") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto bad_id = s.create_instance(new_instance(""));
    REQUIRE_FALSE(bad_id);
    CHECK(bad_id.error().code == ErrorCode::kInvalidArgument);
    auto ctl = s.create_instance(new_instance(std::string("a\x01", 2)));
    REQUIRE_FALSE(ctl);
    CHECK(ctl.error().message.find("control character") != std::string::npos);
    auto bad_name = s.create_instance(new_instance("ok", ""));
    REQUIRE_FALSE(bad_name);
    CHECK(bad_name.error().message.find("orchestration name") != std::string::npos);
    CHECK(s.list_instances({})->instances.empty());
  }

  TEST_CASE("reading an unknown instance is not found, for every read") {
    auto f = make_store_fixture();
    auto& s = f->store();
    auto i = s.read_instance("ghost");
    REQUIRE_FALSE(i);
    CHECK(i.error().code == ErrorCode::kNotFound);
    CHECK(i.error().message.find("ghost") != std::string::npos);
    CHECK(s.read_executions("ghost").error().code == ErrorCode::kNotFound);
    CHECK(s.read_history("ghost", 1).error().code == ErrorCode::kNotFound);
    CHECK(s.read_latest_history("ghost").error().code == ErrorCode::kNotFound);
    CHECK(s.read_inbox("ghost").error().code == ErrorCode::kNotFound);
    CHECK(s.lock_instance("ghost", 1s).error().code == ErrorCode::kNotFound);
  }
}

}  // namespace duractor::testing
