#pragma once
// The MQTT bridge's rules (bridges/mqtt/bridge.h): which MQTT messages become which
// duractor writes, and which lifecycle notifications go out to which MQTT topics. Plain
// values; deciding what one message means (detail/inbound.h) needs no broker and no runtime.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "duractor/pubsub/lifecycle.h"
#include "duractor/runtime/error.h"

namespace duractor::mqtt {

// How a message's payload becomes a duractor payload.
enum class PayloadFormat : std::uint8_t {
  kJson,  // JSON text, converted to msgpack as the CLI does (docs/cli.md, "Payloads")
  kRaw,   // the bytes as one string value: the orchestration waits for a std::string
};

// One inbound rule: MQTT messages on topics matching `filter` become either an event to one
// instance or a publication on a duractor topic. Templates take {1}, {2}, ...: what the
// first, second, ... wildcard of the filter matched (a '+' matches one level, a '#' the
// rest of the topic, its levels joined by '/').
//
//   InboundRule{.filter = "approvals/+/decision", .instance = "{1}", .event = "decision"}
//     approvals/order-7/decision  ->  event "decision" to instance "order-7"
//   InboundRule{.filter = "sensors/#", .topic = "readings"}
//     sensors/hall/temp           ->  a publication on duractor topic "readings"
struct InboundRule {
  std::string filter;  // an MQTT topic filter (subscribed with QoS 1)
  // An event: both set, `topic` empty.
  std::string instance;  // template of the instance id
  std::string event;     // template of the event name
  // A publication: set, and `instance` and `event` empty.
  std::string topic;  // template of the duractor topic
  PayloadFormat payload = PayloadFormat::kJson;
  // Where each message's id comes from: the id that makes a redelivered message a no-op
  // (Store::enqueue_once, publish_once). The MQTT 5 user property of this name, else, with
  // a JSON payload, the top-level string field named by id_field. A message with neither
  // cannot be applied exactly once and goes to the dead-letter topic.
  std::string id_property = "message-id";
  std::string id_field;  // empty: no field is read
};

// One outbound rule: lifecycle notifications matching `kinds` and `orchestration` (empty:
// all, but publications only when kinds names kPublished) are published on the MQTT topic `topic`,
// a template that takes {instance}, {orchestration}, {kind} (completed, failed, custom_status,
// published, ...) and, for publications from orchestration code (kPublished), {topic}: the duractor
// topic. Sent with QoS 1; see docs/mqtt.md for the message.
//
//   OutboundRule{.kinds = {LifecycleKind::kPublished}, .topics = {"prices"},
//                .topic = "shop/{topic}"}      ctx.publish("prices", p)  ->  shop/prices
struct OutboundRule {
  std::vector<LifecycleKind> kinds;
  std::optional<std::string> orchestration;
  // Publications (kPublished) only on these duractor topics; empty: on every topic.
  std::vector<std::string> topics;
  std::string topic = "duractor/{orchestration}/{instance}/{kind}";
};

// Why a rule is unusable, naming the rule (by index and filter) and the field: an empty or
// malformed filter ('+' or '#' sharing a level, '#' not last), neither or both targets, a
// template naming a wildcard the filter does not have, an outbound template with an unknown
// placeholder. Errors: kInvalidArgument.
[[nodiscard]] Status validate(const std::vector<InboundRule>& in,
                              const std::vector<OutboundRule>& out);

// Whether MQTT topic `topic` matches `filter`; if so, what each wildcard matched, in order.
// Topics starting with '$' match no filter that starts with a wildcard (MQTT 4.7.2).
std::optional<std::vector<std::string>> match_filter(std::string_view filter,
                                                     std::string_view topic);

}  // namespace duractor::mqtt
