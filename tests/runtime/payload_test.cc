// Payloads: user values in and out of msgpack bytes, with clear errors on mismatch.

#include <doctest/doctest.h>

#include <map>
#include <optional>

#include "duractor/runtime/payload.h"

namespace duractor {
namespace {

struct Order {
  std::string id;
  int quantity = 0;
  std::vector<std::string> items;
  bool operator==(const Order&) const = default;
  MSGPACK_DEFINE(id, quantity, items)
};

}  // namespace

TEST_SUITE("payload") {
  TEST_CASE("built-in, container and user types round-trip") {
    CHECK(*decode<int>(encode(42)) == 42);
    CHECK(*decode<std::string>(encode(std::string("héllo"))) == "héllo");
    CHECK(*decode<std::vector<double>>(encode(std::vector<double>{1.5, 2.5})) ==
          std::vector<double>{1.5, 2.5});
    std::map<std::string, int> m{{"a", 1}, {"b", 2}};
    CHECK(*decode<std::map<std::string, int>>(encode(m)) == m);
    CHECK(*decode<std::optional<int>>(encode(std::optional<int>())) == std::nullopt);
    Order o{"o-1", 3, {"x", "y"}};
    CHECK(*decode<Order>(encode(o)) == o);
    CHECK(decode<Unit>(encode(Unit{})).has_value());
  }

  TEST_CASE("a payload of another type is a mismatch that names the expected type") {
    auto r = decode<int>(encode(std::string("not a number")));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kPayloadMismatch);
    CHECK(r.error().category == ErrorCategory::kConfiguration);
    CHECK(r.error().message.find("int") != std::string::npos);

    auto o = decode<Order>(encode(42));
    REQUIRE_FALSE(o);
    CHECK(o.error().message.find("Order") != std::string::npos);
  }

  TEST_CASE("empty, truncated and trailing bytes are mismatches, not crashes") {
    CHECK_FALSE(decode<int>(""));
    auto bytes = encode(std::string("abcdef"));
    CHECK_FALSE(decode<std::string>(std::string_view(bytes).substr(0, 3)));
    CHECK_FALSE(decode<std::string>(bytes.str() + "z"));
  }

  TEST_CASE("describe_payload shows a readable value and survives garbage") {
    CHECK(describe_payload(encode(std::string("ada"))) == "\"ada\"");
    CHECK(describe_payload(encode(std::vector<int>{1, 2})) == "[1,2]");
    CHECK(describe_payload("\xc1") == "<1 undecodable bytes>");
  }
}

}  // namespace duractor
