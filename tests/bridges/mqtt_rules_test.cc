// The MQTT bridge's rules: topic filters, templates, and what one message becomes.

#include <doctest/doctest.h>

#include "duractor/bridges/mqtt/detail/inbound.h"
#include "duractor/bridges/mqtt/rules.h"
#include "duractor/runtime/payload.h"

using namespace duractor;
using namespace duractor::mqtt;
using duractor::mqtt::detail::EventWrite;
using duractor::mqtt::detail::InboundMessage;
using duractor::mqtt::detail::interpret;
using duractor::mqtt::detail::PublishWrite;

namespace {

void refused(const std::vector<InboundRule>& in, const std::vector<OutboundRule>& out,
             const std::string& expected) {
  auto ok = validate(in, out);
  REQUIRE_FALSE(ok);
  CHECK(ok.error().code == ErrorCode::kInvalidArgument);
  CHECK_MESSAGE(ok.error().message.find(expected) != std::string::npos, ok.error().message);
}

InboundMessage mqtt_message(std::string topic, std::string payload, std::string id = "m-1") {
  InboundMessage m{std::move(topic), std::move(payload), {}};
  if (!id.empty()) m.user_properties.emplace_back("message-id", std::move(id));
  return m;
}

const std::vector<InboundRule> kRules = {
    {.filter = "approvals/+/decision", .instance = "{1}", .event = "decision"},
    {.filter = "devices/+/+/#", .instance = "fleet-{1}", .event = "{2}"},
    {.filter = "sensors/#", .topic = "readings", .payload = PayloadFormat::kRaw},
    {.filter = "orders/+", .instance = "{1}", .event = "paid", .id_field = "delivery"},
};

struct Decision {
  bool ok = false;
  MSGPACK_DEFINE_MAP(ok)
};

}  // namespace

TEST_SUITE("mqtt bridge: rules") {
  TEST_CASE("filters match topics level by level, and wildcards capture what they matched") {
    CHECK(match_filter("a/b", "a/b") == std::vector<std::string>{});
    CHECK_FALSE(match_filter("a/b", "a/c"));
    CHECK_FALSE(match_filter("a/b", "a/b/c"));
    CHECK(match_filter("a/+/c", "a/x/c") == std::vector<std::string>{"x"});
    CHECK_FALSE(match_filter("a/+", "a/x/y"));
    CHECK(match_filter("a/+", "a/") == std::vector<std::string>{""});
    CHECK(match_filter("a/#", "a/x/y/z") == std::vector<std::string>{"x/y/z"});
    CHECK(match_filter("a/#", "a") == std::vector<std::string>{""});
    CHECK(match_filter("+/+/#", "p/q/r/s") == std::vector<std::string>{"p", "q", "r/s"});
    CHECK(match_filter("#", "x/y") == std::vector<std::string>{"x/y"});
    // Topics beginning with '$' are the broker's own; wildcards at the start never match
    // them.
    CHECK_FALSE(match_filter("#", "$SYS/broker/uptime"));
    CHECK_FALSE(match_filter("+/broker/uptime", "$SYS/broker/uptime"));
    CHECK(match_filter("$SYS/#", "$SYS/broker/uptime"));
  }

  TEST_CASE("good rules pass validation") {
    CHECK(validate(kRules, {OutboundRule{}}));
  }

  TEST_CASE("a bad rule is refused, naming the rule and what is wrong") {
    refused({{.filter = "", .topic = "t"}}, {}, "inbound rule 0 (''): the filter is empty");
    refused({{.filter = "a/#/b", .topic = "t"}}, {}, "'#' must be the filter's last level");
    refused({{.filter = "a/b+", .topic = "t"}}, {}, "level 'b+' mixes a wildcard");
    refused({{.filter = "a/+"}}, {}, "give either instance and event");
    refused({{.filter = "a/+", .instance = "{1}", .event = "e", .topic = "t"}}, {}, "not both");
    refused({{.filter = "a/+", .instance = "{1}"}}, {}, "event is empty");
    refused({kRules[0], {.filter = "a/+", .instance = "{2}", .event = "e"}}, {},
            "inbound rule 1 ('a/+'): instance '{2}' names {2}, but the filter has 1 wildcard");
    refused({{.filter = "a/+", .instance = "{x}", .event = "e"}}, {}, "names {x}");
    refused({{.filter = "a/+", .instance = "{1", .event = "e"}}, {}, "unbalanced brace");
    refused({{.filter = "a", .topic = "t", .id_property = ""}}, {},
            "id_property and id_field are both empty");
    refused({{.filter = "a", .topic = "t", .payload = PayloadFormat::kRaw, .id_field = "id"}}, {},
            "id_field needs a JSON payload");
    refused({}, {OutboundRule{.topic = "out/{status}"}},
            "outbound rule 0: topic 'out/{status}' names {status}");
    refused({}, {OutboundRule{.topic = "out/+"}}, "has a wildcard");
    refused({}, {OutboundRule{.topic = ""}}, "is empty");
  }

  TEST_CASE("a message becomes an event to the instance its topic names, with its id") {
    auto write = interpret(
        kRules, mqtt_message("approvals/order-7/decision", R"({"ok": true})", "d-1"), 1024);
    REQUIRE(write);
    auto* event = std::get_if<EventWrite>(&write->target);
    REQUIRE(event);
    CHECK(event->instance == "order-7");
    CHECK(event->name == "decision");
    CHECK(write->id.value == "mqtt:d-1");
    CHECK(write->rule == 0);
    auto decoded = decode<Decision>(write->payload);
    REQUIRE(decoded);
    CHECK(decoded->ok);

    auto device = interpret(kRules, mqtt_message("devices/d9/reboot/now/please", "1"), 1024);
    REQUIRE(device);
    CHECK(std::get<EventWrite>(device->target).instance == "fleet-d9");
    CHECK(std::get<EventWrite>(device->target).name == "reboot");
  }

  TEST_CASE("a raw payload is one string value, and a publication goes to its topic") {
    auto write = interpret(kRules, mqtt_message("sensors/hall/temp", "21.5 C, not JSON"), 1024);
    REQUIRE(write);
    CHECK(std::get<PublishWrite>(write->target).topic == "readings");
    CHECK(decode<std::string>(write->payload).value() == "21.5 C, not JSON");
  }

  TEST_CASE("the id comes from the user property first, else from the payload field") {
    auto from_field = interpret(
        kRules, mqtt_message("orders/o-1", R"({"delivery": "wh-77", "amount": 5})", ""), 1024);
    REQUIRE(from_field);
    CHECK(from_field->id.value == "mqtt:wh-77");
    auto from_property =
        interpret(kRules, mqtt_message("orders/o-1", R"({"delivery": "wh-77"})", "p-1"), 1024);
    REQUIRE(from_property);
    CHECK(from_property->id.value == "mqtt:p-1");
  }

  TEST_CASE("a message that cannot be applied is rejected with the reason") {
    auto reason = [](const InboundMessage& m) {
      auto r = interpret(kRules, m, 16);
      REQUIRE_FALSE(r);
      return r.error();
    };
    auto no_rule = reason(mqtt_message("elsewhere/x", "1"));
    CHECK(no_rule.reason == "no inbound rule matches topic 'elsewhere/x'");
    CHECK_FALSE(no_rule.rule);
    auto bad_json = reason(mqtt_message("approvals/o/decision", "{not json", "b-1"));
    CHECK(bad_json.reason.find("the payload is not JSON: ") == 0);
    CHECK(bad_json.rule == 0);
    CHECK(bad_json.message_id == "b-1");
    CHECK(
        reason(mqtt_message("approvals/o/decision", "1", "")).reason ==
        "the message has no id (user property 'message-id'), so it cannot be applied exactly once");
    CHECK(reason(mqtt_message("orders/o", R"({"amount": 1})", "")).reason ==
          "the message has no id (user property 'message-id' or payload field 'delivery'), so it "
          "cannot be applied exactly once");
    CHECK(reason(mqtt_message("approvals/o/decision", std::string(17, '1'))).reason ==
          "the payload has 17 bytes, over the limit of 16");
    CHECK(reason(mqtt_message("approvals//decision", "1")).reason == "the instance id is empty");
  }
}
