#pragma once
// What one MQTT message means under the bridge's rules: the duractor write it becomes, or
// why it cannot be applied (the reason its dead letter carries). Pure; thread-safe.
// Internal to the bridge (bridges/mqtt/bridge.cc) and its tests.

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "duractor/bridges/mqtt/rules.h"
#include "duractor/store/store.h"

namespace duractor::mqtt::detail {

struct InboundMessage {
  std::string topic;
  std::string payload;
  std::vector<std::pair<std::string, std::string>> user_properties;  // MQTT 5, in order
};

struct EventWrite {
  InstanceId instance;
  std::string name;
};
struct PublishWrite {
  std::string topic;
};
struct InboundWrite {
  std::variant<EventWrite, PublishWrite> target;
  Bytes payload;
  MessageId id;  // "mqtt:" + the message's id, so that other sources' ids never collide
  std::size_t rule = 0;
};
struct InboundRejection {
  std::string reason;
  std::optional<std::size_t> rule;  // the rule that matched, if one did
  std::string message_id;           // the message's own id, if it had one
};

// The first rule (in order) whose filter matches decides. Rejected: no rule matches, a
// payload over `max_payload_bytes`, a JSON payload that does not parse, no message id, an
// empty instance id, event name or topic.
std::expected<InboundWrite, InboundRejection> interpret(const std::vector<InboundRule>& rules,
                                                        const InboundMessage& message,
                                                        std::size_t max_payload_bytes);

// The id prefix of every write the bridge makes.
inline constexpr std::string_view kMessageIdPrefix = "mqtt:";

}  // namespace duractor::mqtt::detail
