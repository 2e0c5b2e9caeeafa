#include "duractor/bridges/mqtt/rules.h"

#include <fmt/format.h>

#include <charconv>

#include "duractor/bridges/mqtt/detail/inbound.h"
#include "duractor/ops/detail/json_view.h"
#include "duractor/runtime/payload.h"

namespace duractor::mqtt {
namespace {

std::vector<std::string_view> levels(std::string_view topic) {
  std::vector<std::string_view> out;
  for (;;) {
    auto slash = topic.find('/');
    out.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    topic.remove_prefix(slash + 1);
  }
}

// The number of wildcards of a valid filter, or what is wrong with it.
std::expected<std::size_t, std::string> check_filter(std::string_view filter) {
  if (filter.empty()) return std::unexpected("the filter is empty");
  auto parts = levels(filter);
  std::size_t wildcards = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto part = parts[i];
    if (part == "+") {
      ++wildcards;
    } else if (part == "#") {
      if (i + 1 != parts.size()) return std::unexpected("'#' must be the filter's last level");
      ++wildcards;
    } else if (part.find_first_of("+#") != std::string_view::npos) {
      return std::unexpected(
          fmt::format("level '{}' mixes a wildcard with other characters", part));
    }
  }
  return wildcards;
}

// Calls `placeholder(name)` for each {name} of `text`; false if a brace is unbalanced.
template <class F>
bool each_placeholder(std::string_view text, F placeholder) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') return false;
    if (text[i] != '{') continue;
    auto end = text.find('}', i);
    if (end == std::string_view::npos) return false;
    if (!placeholder(text.substr(i + 1, end - i - 1))) return false;
    i = end;
  }
  return true;
}

std::optional<std::size_t> wildcard_index(std::string_view name) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec != std::errc() || end != name.data() + name.size() || n == 0) return std::nullopt;
  return n;
}

Status check_template(std::size_t index, const InboundRule& rule, std::string_view field,
                      std::string_view text, std::size_t wildcards) {
  auto where = [&] { return fmt::format("inbound rule {} ('{}'): {}", index, rule.filter, field); };
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, where() + " is empty");
  std::string bad;
  bool balanced = each_placeholder(text, [&](std::string_view name) {
    auto n = wildcard_index(name);
    if (!n || *n > wildcards) bad = std::string(name);
    return bad.empty();
  });
  if (!balanced && bad.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                where() + " '" + std::string(text) + "' has an unbalanced brace");
  }
  if (!bad.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} '{}' names {{{}}}, but the filter has {} wildcard{}", where(), text,
                            bad, wildcards, wildcards == 1 ? "" : "s"));
  }
  return {};
}

std::string expand(std::string_view text, const std::vector<std::string>& captures) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      out += text[i];
      continue;
    }
    auto end = text.find('}', i);
    out += captures[*wildcard_index(text.substr(i + 1, end - i - 1)) - 1];
    i = end;
  }
  return out;
}

}  // namespace

Status validate(const std::vector<InboundRule>& in, const std::vector<OutboundRule>& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto& rule = in[i];
    auto wildcards = check_filter(rule.filter);
    if (!wildcards) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("inbound rule {} ('{}'): {}", i, rule.filter, wildcards.error()));
    }
    bool event = !rule.instance.empty() || !rule.event.empty();
    bool publish = !rule.topic.empty();
    if (event == publish) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("inbound rule {} ('{}'): give either instance and event (an "
                              "event) or topic (a publication), not {}",
                              i, rule.filter, event ? "both" : "neither"));
    }
    if (event) {
      if (auto ok = check_template(i, rule, "instance", rule.instance, *wildcards); !ok) return ok;
      if (auto ok = check_template(i, rule, "event", rule.event, *wildcards); !ok) return ok;
    } else if (auto ok = check_template(i, rule, "topic", rule.topic, *wildcards); !ok) {
      return ok;
    }
    if (rule.id_property.empty() && rule.id_field.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("inbound rule {} ('{}'): id_property and id_field are both empty, "
                              "so no message could be applied exactly once",
                              i, rule.filter));
    }
    if (!rule.id_field.empty() && rule.payload != PayloadFormat::kJson) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("inbound rule {} ('{}'): id_field needs a JSON payload", i, rule.filter));
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& topic = out[i].topic;
    std::string bad;
    bool balanced = each_placeholder(topic, [&](std::string_view name) {
      if (name != "instance" && name != "orchestration" && name != "kind" && name != "topic") {
        bad = std::string(name);
      }
      return bad.empty();
    });
    std::string wrong;
    if (!bad.empty()) {
      wrong = "names {" + bad + "}; it takes {instance}, {orchestration}, {kind} and {topic}";
    } else if (topic.empty()) {
      wrong = "is empty";
    } else if (!balanced) {
      wrong = "has an unbalanced brace";
    } else if (topic.find_first_of("+#") != std::string::npos) {
      wrong = "has a wildcard: publish topics take none";
    }
    if (!wrong.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("outbound rule {}: topic '{}' {}", i, topic, wrong));
    }
  }
  return {};
}

std::optional<std::vector<std::string>> match_filter(std::string_view filter,
                                                     std::string_view topic) {
  auto f = levels(filter);
  auto t = levels(topic);
  if (!topic.empty() && topic.front() == '$' && (f[0] == "+" || f[0] == "#")) return std::nullopt;
  std::vector<std::string> captures;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "#") {
      // "a/#" matches "a" as well as everything below it.
      std::string rest;
      for (std::size_t j = i; j < t.size(); ++j) {
        if (j > i) rest += '/';
        rest += t[j];
      }
      captures.push_back(std::move(rest));
      return captures;
    }
    if (i >= t.size()) return std::nullopt;
    if (f[i] == "+") {
      captures.emplace_back(t[i]);
    } else if (f[i] != t[i]) {
      return std::nullopt;
    }
  }
  if (f.size() != t.size()) return std::nullopt;
  return captures;
}

namespace detail {

std::expected<InboundWrite, InboundRejection> interpret(const std::vector<InboundRule>& rules,
                                                        const InboundMessage& message,
                                                        std::size_t max_payload_bytes) {
  for (std::size_t index = 0; index < rules.size(); ++index) {
    const auto& rule = rules[index];
    auto captures = match_filter(rule.filter, message.topic);
    if (!captures) continue;
    InboundRejection rejected{{}, index, {}};
    auto reject = [&](std::string reason) {
      rejected.reason = std::move(reason);
      return std::unexpected(rejected);
    };
    for (const auto& [name, value] : message.user_properties) {
      if (!rule.id_property.empty() && name == rule.id_property) {
        rejected.message_id = value;
        break;
      }
    }
    if (message.payload.size() > max_payload_bytes) {
      return reject(fmt::format("the payload has {} bytes, over the limit of {}",
                                message.payload.size(), max_payload_bytes));
    }
    InboundWrite write;
    write.rule = index;
    if (rule.payload == PayloadFormat::kJson) {
      auto parsed = json::parse_json_text(message.payload);
      if (!parsed) return reject("the payload is not JSON: " + parsed.error());
      if (rejected.message_id.empty() && !rule.id_field.empty() && parsed->is_object()) {
        auto field = parsed->find(rule.id_field);
        if (field != parsed->end() && field->is_string()) {
          rejected.message_id = field->get<std::string>();
        }
      }
      write.payload = json::payload_bytes(*parsed);
    } else {
      write.payload = encode(message.payload);
    }
    if (rejected.message_id.empty()) {
      std::string where;
      if (!rule.id_property.empty()) where = "user property '" + rule.id_property + "'";
      if (!rule.id_field.empty()) {
        where +=
            (where.empty() ? "" : " or ") + std::string("payload field '") + rule.id_field + "'";
      }
      return reject("the message has no id (" + where + "), so it cannot be applied exactly once");
    }
    write.id = MessageId{std::string(kMessageIdPrefix) + rejected.message_id};
    if (rule.topic.empty()) {
      EventWrite event{expand(rule.instance, *captures), expand(rule.event, *captures)};
      if (event.instance.empty()) return reject("the instance id is empty");
      if (event.name.empty()) return reject("the event name is empty");
      write.target = std::move(event);
    } else {
      PublishWrite publish{expand(rule.topic, *captures)};
      if (publish.topic.empty()) return reject("the topic is empty");
      write.target = std::move(publish);
    }
    return write;
  }
  return std::unexpected(
      InboundRejection{"no inbound rule matches topic '" + message.topic + "'", std::nullopt, {}});
}

}  // namespace detail
}  // namespace duractor::mqtt
