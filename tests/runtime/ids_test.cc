// Identifiers: validation of instance ids and names, generated ids.

#include <doctest/doctest.h>

#include <set>

#include "duractor/runtime/ids.h"

namespace duractor {

TEST_SUITE("ids") {
  TEST_CASE("ordinary ids and names are accepted") {
    CHECK(validate_instance_id("order-17"));
    CHECK(validate_instance_id("tenant/a:b@c"));
    CHECK(validate_instance_id(std::string(kMaxInstanceIdBytes, 'x')));
    CHECK(validate_name("Greet", "activity name"));
  }

  TEST_CASE("empty, oversized and control-character ids are rejected with the reason") {
    auto empty = validate_instance_id("");
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == ErrorCode::kInvalidArgument);
    CHECK(empty.error().message == "instance id is empty");

    auto big = validate_instance_id(std::string(kMaxInstanceIdBytes + 1, 'x'));
    REQUIRE_FALSE(big);
    CHECK(big.error().message.find("257 bytes") != std::string::npos);

    auto nul = validate_instance_id(std::string("ab\0c", 4));
    REQUIRE_FALSE(nul);
    CHECK(nul.error().message.find("0x00 at byte 2") != std::string::npos);

    auto name = validate_name("a\nb", "event name");
    REQUIRE_FALSE(name);
    CHECK(name.error().message.find("event name") == 0);
  }

  TEST_CASE("random uuids are distinct and well formed") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
      auto u = random_uuid();
      CHECK(u.size() == 36);
      CHECK(u[14] == '4');
      seen.insert(u);
    }
    CHECK(seen.size() == 1000);
  }

  TEST_CASE("seeded uuids are stable for a seed and differ between seeds") {
    CHECK(uuid_from_seed("i/1/1") == uuid_from_seed("i/1/1"));
    CHECK(uuid_from_seed("i/1/1") != uuid_from_seed("i/1/2"));
    CHECK(uuid_from_seed("x").size() == 36);
  }
}

}  // namespace duractor
