// The /api/v1 routes: each parses its request, calls the backend and answers JSON. Errors are
// {"error": {"status", "code", "exit_code", "message"}}, with the exit code the duractor CLI
// gives the same failure (docs/cli.md).

#include "duractor/http/detail/api.h"

#include <arpa/inet.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <optional>
#include <string>

#include "duractor/http/detail/page.h"
#include "duractor/ops/detail/json_view.h"
#include "duractor/ops/detail/time_text.h"
#include "duractor/runtime/metrics.h"

namespace duractor::http::detail {

namespace {

using duractor::json::Json;

// An answer that is not a success.
struct Refusal {
  int status = 500;
  std::string message;
  std::optional<ErrorCode> code;  // when the runtime or the store refused
};

const char* code_name(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 411:
      return "length_required";
    case 415:
      return "unsupported_media_type";
    case 421:
      return "misdirected";
    case 409:
      return "conflict";
    case 413:
      return "too_large";
    case 503:
      return "unavailable";
    case 504:
      return "timeout";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

// The CLI's exit code for the same failure (cli/store_access.h): by the error's code when
// the runtime refused, by the status for the server's own refusals.
int exit_code_for(int status, std::optional<ErrorCode> code) {
  if (code == ErrorCode::kBusy) return 6;  // another process holds the writer lock
  switch (status) {
    case 400:
    case 411:
    case 413:
    case 415:
      return 2;
    case 404:
      return 3;
    case 409:
      return 5;
    default:
      return 1;
  }
}

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotRegistered:
    case ErrorCode::kPayloadMismatch:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kLimitExceeded:
      return 413;
    case ErrorCode::kBusy:
    case ErrorCode::kShutdown:
    case ErrorCode::kIo:
    case ErrorCode::kStoreFull:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    default:
      return 500;
  }
}

Refusal refusal(const Error& e) {
  return Refusal{status_for(e.code), e.message, e.code};
}

void send(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  // Text that is not UTF-8 (a stored message, a parameter echoed in an error) is shown with
  // U+FFFD rather than failing the answer.
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n",
                  "application/json");
}

void send_error(httplib::Response& res, const Refusal& r) {
  send(res, r.status,
       Json{{"error",
             {{"status", r.status},
              {"code", code_name(r.status)},
              {"exit_code", exit_code_for(r.status, r.code)},
              {"message", r.message}}}});
}

template <class T>
using Parsed = std::expected<T, Refusal>;

std::unexpected<Refusal> bad(std::string message) {
  return std::unexpected(Refusal{400, std::move(message)});
}

// The body as JSON; an empty body is null.
Parsed<Json> body_json(const httplib::Request& req) {
  if (req.body.empty()) return Json();
  auto parsed = json::parse_json_text(req.body);
  if (!parsed) return bad("the body is not JSON: " + parsed.error());
  return std::move(*parsed);
}

// A field of a JSON object body that must be a string when present.
Parsed<std::optional<std::string>> string_field(const Json& body, const char* name) {
  if (!body.is_object() || !body.contains(name) || body[name].is_null()) {
    return std::optional<std::string>();
  }
  if (!body[name].is_string()) return bad(std::string("field '") + name + "': must be a string");
  return std::optional<std::string>(body[name].get<std::string>());
}

Parsed<std::uint64_t> number_param(const httplib::Request& req, const char* name,
                                   std::uint64_t fallback, std::uint64_t max) {
  if (!req.has_param(name)) return fallback;
  auto text = req.get_param_value(name);
  std::uint64_t n = 0;
  bool digits = !text.empty() && text.size() <= 19 &&
                text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) n = std::stoull(text);
  if (!digits || n > max) {
    return bad(std::string("parameter '") + name + "': expected a whole number up to " +
               std::to_string(max) + ", got '" + text + "'");
  }
  return n;
}

// A parameter that is true or false; false when absent.
Parsed<bool> flag_param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  auto v = req.get_param_value(name);
  if (v != "true" && v != "false") {
    return bad(std::string("parameter '") + name + "': expected true or false, got '" + v + "'");
  }
  return v == "true";
}

// A time parameter as the CLI's flags take one (detail::parse_time): a UTC time such as
// 2026-12-03T14:00:00Z or ...00.250Z, a date, or a duration ago (7d).
Parsed<std::optional<TimePoint>> time_param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::optional<TimePoint>();
  auto t = duractor::detail::parse_time(req.get_param_value(name), SystemClock::instance().now());
  if (!t) return bad(std::string("parameter '") + name + "': " + t.error().message);
  return std::optional<TimePoint>(*t);
}

Parsed<InstanceQuery> query_of(const httplib::Request& req) {
  InstanceQuery q;
  auto n = req.get_param_value_count("status");
  for (std::size_t i = 0; i < n; ++i) {
    auto list = req.get_param_value("status", i);
    std::size_t from = 0;
    while (from <= list.size()) {
      auto comma = list.find(',', from);
      auto word = list.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
      auto status = parse_instance_status(word);
      if (!status) {
        return bad("parameter 'status': unknown status '" + word +
                   "' (expected pending, running, completed, failed, cancelled, terminated or "
                   "paused)");
      }
      q.statuses.push_back(*status);
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
  }
  if (req.has_param("name")) q.name = req.get_param_value("name");
  if (req.has_param("parent")) q.parent = req.get_param_value("parent");
  auto after = time_param(req, "created_after");
  if (!after) return std::unexpected(after.error());
  q.created_after = *after;
  auto before = time_param(req, "created_before");
  if (!before) return std::unexpected(before.error());
  q.created_before = *before;
  q.after = req.get_param_value("after");
  auto limit = number_param(req, "limit", 100, 1000);
  if (!limit) return std::unexpected(limit.error());
  if (*limit == 0) return bad("parameter 'limit': must be 1 to 1000");
  q.limit = *limit;
  return q;
}

Json page_json(const InstancePage& page) {
  Json instances = Json::array();
  for (const auto& i : page.instances) instances.push_back(json::instance_json(i, false));
  return Json{{"instances", std::move(instances)}, {"next", page.next ? Json(*page.next) : Json()}};
}

// A handler returns the status and body of its answer, or a refusal.
using Answer = Parsed<std::pair<int, Json>>;
using Route = std::function<Answer(const httplib::Request&, Backend&)>;

std::pair<int, Json> ok(Json body, int status = 200) {
  return {status, std::move(body)};
}

Answer list(const httplib::Request& req, Backend& b) {
  auto q = query_of(req);
  if (!q) return std::unexpected(q.error());
  auto page = b.store().list_instances(*q);
  if (!page) return std::unexpected(refusal(page.error()));
  return ok(page_json(*page));
}

Answer show(const httplib::Request& req, Backend& b) {
  const auto& id = req.matches[1].str();
  auto info = b.store().read_instance(id);
  if (!info) return std::unexpected(refusal(info.error()));
  auto body = json::instance_json(*info);
  InstanceQuery children;
  children.parent = id;
  children.limit = 100;
  auto page = b.store().list_instances(children);
  if (!page) return std::unexpected(refusal(page.error()));
  Json ids = Json::array();
  for (const auto& c : page->instances) ids.push_back(c.id);
  body["children"] = std::move(ids);
  body["more_children"] = page->next.has_value();
  return ok(std::move(body));
}

Answer executions(const httplib::Request& req, Backend& b) {
  auto list = b.store().read_executions(req.matches[1].str());
  if (!list) return std::unexpected(refusal(list.error()));
  Json out = Json::array();
  for (const auto& e : *list) out.push_back(json::execution_json(e));
  return ok(Json{{"executions", std::move(out)}});
}

Answer history(const httplib::Request& req, Backend& b) {
  const auto& id = req.matches[1].str();
  auto execution = number_param(req, "execution", 0, std::numeric_limits<ExecutionId>::max());
  if (!execution) return std::unexpected(execution.error());
  // 0: the latest execution, read in one snapshot with its id.
  ExecutionHistory h;
  if (*execution == 0) {
    auto latest = b.store().read_latest_history(id);
    if (!latest) return std::unexpected(refusal(latest.error()));
    h = std::move(*latest);
  } else {
    auto events = b.store().read_history(id, static_cast<ExecutionId>(*execution));
    if (!events) return std::unexpected(refusal(events.error()));
    h.execution = static_cast<ExecutionId>(*execution);
    h.events = std::move(*events);
  }
  Json out = Json::array();
  for (const auto& e : h.events) out.push_back(json::event_json(e));
  return ok(Json{{"instance", id}, {"execution", h.execution}, {"events", std::move(out)}});
}

Answer children(const httplib::Request& req, Backend& b) {
  auto q = query_of(req);
  if (!q) return std::unexpected(q.error());
  q->parent = req.matches[1].str();
  auto page = b.store().list_instances(*q);
  if (!page) return std::unexpected(refusal(page.error()));
  return ok(page_json(*page));
}

Answer start(const httplib::Request& req, Backend& b) {
  auto body = body_json(req);
  if (!body) return std::unexpected(body.error());
  if (!body->is_object()) {
    return bad("the body must be a JSON object: {\"name\": ..., \"id\": ..., \"input\": ...}");
  }
  auto name = string_field(*body, "name");
  if (!name) return std::unexpected(name.error());
  if (!*name || (*name)->empty()) return bad("field 'name': required, the orchestration's name");
  auto id = string_field(*body, "id");
  if (!id) return std::unexpected(id.error());
  std::uint32_t version = 0;
  if (body->contains("version") && !(*body)["version"].is_null()) {
    const auto& v = (*body)["version"];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 0xffffffffu) {
      return bad("field 'version': must be a whole number (0: the latest)");
    }
    version = v.get<std::uint32_t>();
  }
  Json input = body->contains("input") ? (*body)["input"] : Json();
  auto started = b.start(**name, id->value_or(""), json::payload_bytes(input), version);
  if (!started) return std::unexpected(refusal(started.error()));
  return ok(Json{{"id", *started}}, 201);
}

// The caller's message id, from the Idempotency-Key header: with one, a repeat of the same
// request applies nothing and answers the same.
Parsed<MessageId> message_id_of(const httplib::Request& req) {
  if (!req.has_header("Idempotency-Key")) return MessageId{};
  MessageId id{req.get_header_value("Idempotency-Key")};
  if (auto ok = validate_name(id.value, "header 'Idempotency-Key'"); !ok) {
    return bad(ok.error().message);
  }
  return id;
}

// The answer names the message id it applied, if any.
void add_message_id(Json& body, const MessageId& id) {
  if (!id.empty()) body["message_id"] = id.value;
}

Answer raise(const httplib::Request& req, Backend& b) {
  auto payload = body_json(req);
  if (!payload) return std::unexpected(payload.error());
  auto message_id = message_id_of(req);
  if (!message_id) return std::unexpected(message_id.error());
  const auto& id = req.matches[1].str();
  const auto& name = req.matches[2].str();
  auto raised = b.raise_event(id, name, json::payload_bytes(*payload), *message_id);
  if (!raised) return std::unexpected(refusal(raised.error()));
  Json body{{"instance", id}, {"event", name}};
  add_message_id(body, *message_id);
  return ok(std::move(body));
}

Answer publish(const httplib::Request& req, Backend& b) {
  auto payload = body_json(req);
  if (!payload) return std::unexpected(payload.error());
  auto message_id = message_id_of(req);
  if (!message_id) return std::unexpected(message_id.error());
  const auto& topic = req.matches[1].str();
  auto receipt = b.publish(topic, json::payload_bytes(*payload), *message_id);
  if (!receipt) return std::unexpected(refusal(receipt.error()));
  Json body{{"topic", topic}, {"delivered", receipt->delivered}};
  add_message_id(body, *message_id);
  return ok(std::move(body));
}

// The optional {"reason": ...} body of cancel, terminate and pause.
Parsed<std::string> reason_of(const httplib::Request& req) {
  auto body = body_json(req);
  if (!body) return std::unexpected(body.error());
  if (!body->is_null() && !body->is_object()) {
    return bad("the body must be empty or a JSON object: {\"reason\": ...}");
  }
  auto reason = string_field(*body, "reason");
  if (!reason) return std::unexpected(reason.error());
  return reason->value_or("");
}

enum class Control { kCancel, kTerminate, kPause, kResume };

Answer control(const httplib::Request& req, Backend& b, Control what) {
  const auto& id = req.matches[1].str();
  Status done;
  if (what == Control::kResume) {
    done = b.resume(id);
  } else {
    auto reason = reason_of(req);
    if (!reason) return std::unexpected(reason.error());
    done = what == Control::kPause ? b.pause(id, std::move(*reason))
                                   : b.cancel(id, std::move(*reason), what == Control::kTerminate);
  }
  if (!done) return std::unexpected(refusal(done.error()));
  return ok(Json{{"instance", id}});
}

Answer remove(const httplib::Request& req, Backend& b) {
  auto force = flag_param(req, "force");
  if (!force) return std::unexpected(force.error());
  auto summary = b.remove(req.matches[1].str(), *force);
  if (!summary) return std::unexpected(refusal(summary.error()));
  return ok(Json{{"deleted", summary->deleted}, {"events", summary->events}});
}

// Deletes what the filters match, as `duractor purge` does, at most `limit` instances per
// request (each with its sub-orchestrations).
Answer purge(const httplib::Request& req, Backend& b) {
  auto q = query_of(req);
  if (!q) return std::unexpected(q.error());
  auto completed_before = time_param(req, "completed_before");
  if (!completed_before) return std::unexpected(completed_before.error());
  bool filtered = !q->statuses.empty() || q->name || q->parent || q->created_after ||
                  q->created_before || *completed_before;
  if (!filtered) {
    return bad(
        "purge needs a filter: status, name, parent, created_after, created_before or "
        "completed_before");
  }
  auto force = flag_param(req, "force");
  if (!force) return std::unexpected(force.error());
  auto limit = number_param(req, "limit", 1000, 1000);
  if (!limit) return std::unexpected(limit.error());
  if (*limit == 0) return bad("parameter 'limit': must be 1 to 1000");
  if (q->statuses.empty()) {
    q->statuses = {InstanceStatus::kCompleted, InstanceStatus::kFailed, InstanceStatus::kCancelled,
                   InstanceStatus::kTerminated};
  }
  // At most `limit` deletions and `limit` refusals per request; `after` (the answer's `next`)
  // goes on after the last instance the previous request looked at.
  q->limit = 500;
  Json deleted = Json::array(), refused = Json::array();
  std::uint64_t events = 0, taken = 0;
  bool limit_reached = false;
  std::string last;  // the last instance looked at
  auto refuse = [&](const InstanceId& id, std::string reason) {
    refused.push_back(Json{{"id", id}, {"reason", std::move(reason)}});
  };
  while (!limit_reached) {
    auto page = b.store().list_instances(*q);
    if (!page) return std::unexpected(refusal(page.error()));
    for (const auto& i : page->instances) {
      bool matches = !*completed_before || (i.completed_at && *i.completed_at < **completed_before);
      if (matches && (taken == *limit || refused.size() == *limit)) {
        limit_reached = true;
        break;
      }
      last = i.id;
      if (!matches) continue;
      if (!*force && !is_terminal(i.status)) {
        refuse(i.id, "it is " + std::string(to_string(i.status)));
        continue;
      }
      ++taken;
      auto summary = b.remove(i.id, *force);
      if (summary) {
        for (const auto& id : summary->deleted) deleted.push_back(id);
        events += summary->events;
      } else if (summary.error().code == ErrorCode::kFailedPrecondition) {
        refuse(i.id, summary.error().message);
      } else if (summary.error().code != ErrorCode::kNotFound) {  // not gone with its parent
        auto r = refusal(summary.error());
        r.message += " (after deleting " + std::to_string(deleted.size()) + " instances)";
        return std::unexpected(r);
      }
    }
    if (!page->next) break;
    q->after = *page->next;
  }
  return ok(Json{{"deleted", std::move(deleted)},
                 {"events", events},
                 {"refused", std::move(refused)},
                 {"limit_reached", limit_reached},
                 {"next", limit_reached ? Json(last) : Json()}});
}

Answer stats(const httplib::Request&, Backend& b) {
  auto s = b.store().stats();
  if (!s) return std::unexpected(refusal(s.error()));
  Json body = json::stats_json(*s);
  if (auto r = b.runtime()) {
    body["runtime"] =
        Json{{"live_instances", r->live_instances}, {"queued_activities", r->queued_activities}};
  }
  return ok(std::move(body));
}

// Requests answered, by status class (1xx .. 5xx), for /metrics.
struct RequestCounts {
  std::array<std::atomic<std::uint64_t>, 6> by_class{};
};

using duractor::detail::prometheus_family;
using duractor::detail::prometheus_sample;

// The Prometheus text format (version 0.0.4) of what the store and the runtime hold now,
// and of the requests this server answered. docs/http.md lists every family.
Parsed<std::string> metrics_text(Backend& b, const RequestCounts& requests) {
  auto s = b.store().stats();
  if (!s) return std::unexpected(refusal(s.error()));
  std::string out;
  prometheus_family(out, "duractor_instances", "gauge", "Instances in the store, by status.");
  for (std::size_t i = 0; i < s->instances_by_status.size(); ++i) {
    auto status = std::string(to_string(static_cast<InstanceStatus>(i)));
    prometheus_sample(out, "duractor_instances", "status=\"" + status + "\"",
                      static_cast<double>(s->instances_by_status[i]));
  }
  struct Gauge {
    const char* name;
    const char* help;
    std::uint64_t value;
  };
  for (const auto& g : {
           Gauge{"duractor_inbox_messages", "Messages waiting in instances' inboxes.",
                 s->inbox_messages},
           Gauge{"duractor_work_items", "Activity work items queued or running.", s->work_items},
           Gauge{"duractor_timers", "Durable timers pending.", s->timers},
           Gauge{"duractor_history_events", "History events stored.", s->history_events},
           Gauge{"duractor_journal_records", "Turns in the journal, not yet compacted.",
                 s->journal_records},
           Gauge{"duractor_topic_subscriptions", "Topic subscriptions (topic, instance).",
                 s->subscriptions},
           Gauge{"duractor_message_ids", "Message ids remembered for idempotent writes.",
                 s->message_ids},
           Gauge{"duractor_store_file_bytes", "Size of the store's file.", s->file_bytes},
           Gauge{"duractor_store_map_used_bytes", "Bytes of the store's map in use.",
                 s->used_bytes},
           Gauge{"duractor_store_map_size_bytes", "Bytes reserved for the store's map.",
                 s->map_size},
       }) {
    prometheus_family(out, g.name, "gauge", g.help);
    prometheus_sample(out, g.name, "", static_cast<double>(g.value));
  }
  if (auto r = b.runtime()) {
    prometheus_family(out, "duractor_live_instance_actors", "gauge", "Instance actors in memory.");
    prometheus_sample(out, "duractor_live_instance_actors", "",
                      static_cast<double>(r->live_instances));
    prometheus_family(out, "duractor_queued_activities", "gauge", "Activities queued and running.");
    prometheus_sample(out, "duractor_queued_activities", "",
                      static_cast<double>(r->queued_activities));
    if (r->metrics != nullptr) r->metrics->write_prometheus(out);
  }
  prometheus_family(out, "duractor_http_requests_total", "counter",
                    "HTTP requests this server answered, by status class.");
  for (std::size_t c = 1; c < requests.by_class.size(); ++c) {
    prometheus_sample(out, "duractor_http_requests_total", "code=\"" + std::to_string(c) + "xx\"",
                      static_cast<double>(requests.by_class[c].load(std::memory_order_relaxed)));
  }
  return out;
}

// Answers a refused request (401 with the scheme to use).
void refuse(httplib::Response& res, const Refusal& refused) {
  if (refused.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  send_error(res, refused);
}

Refusal unauthorized(std::string message) {
  return Refusal{401, std::move(message)};
}

// Who may make this request. Never names the token, good or bad.
// Whether `host` (a Host header) names this machine's loopback: 127.0.0.1, localhost or
// [::1], with or without a port.
bool loopback_host(std::string_view host) {
  if (host.starts_with("[::1]")) return host.size() == 5 || host[5] == ':';
  auto name = host.substr(0, host.find(':'));
  return name == "127.0.0.1" || name == "localhost";
}

bool has_body(const httplib::Request& req) {
  auto length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

// What is refused before anything is read, and ends the connection: a request not addressed
// to loopback on a loopback bind (a web page elsewhere that points its own name at
// 127.0.0.1, DNS rebinding, sends its own name), and a chunked body (no length to check
// against max_body_bytes before reading it).
std::optional<Refusal> check_connection(const httplib::Request& req, bool loopback_bind) {
  if (loopback_bind && !loopback_host(req.get_header_value("Host"))) {
    return Refusal{421, "this server answers only requests to 127.0.0.1, localhost or [::1]"};
  }
  if (req.has_header("Transfer-Encoding")) {
    return Refusal{411, "send the body with a Content-Length, not Transfer-Encoding"};
  }
  return std::nullopt;
}

// Who may make this request, and for a request with a body, that the body is JSON, never a
// form (httplib merges a form body into the query parameters). A request with a body is
// checked once httplib has read it (to at most max_body_bytes), so that a refusal leaves
// the connection clean for the client's next request.
std::optional<Refusal> check_access(const httplib::Request& req, const ServerOptions& o) {
  if (has_body(req)) {
    auto type = req.get_header_value("Content-Type");
    if (!type.starts_with("application/json")) {
      return Refusal{
          415, "the body must be JSON: send Content-Type: application/json (got '" + type + "')"};
    }
  }
  bool read = req.method == "GET" || req.method == "HEAD";
  // The page holds no data: every figure on it comes from the API, with the token.
  if (read && req.path == "/") return std::nullopt;
  if (read && o.anonymous_reads) return std::nullopt;
  if (o.token.empty()) {
    return Refusal{403, "this server takes only reads: it was started without a token"};
  }
  if (!req.has_header("Authorization")) {
    return unauthorized("missing Authorization header: send 'Authorization: Bearer <token>'");
  }
  auto header = req.get_header_value("Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (!header.starts_with(kScheme)) {
    return unauthorized("the Authorization header must be 'Bearer <token>'");
  }
  if (!same_token(std::string_view(header).substr(kScheme.size()), o.token)) {
    return unauthorized("the bearer token is not valid");
  }
  return std::nullopt;
}

}  // namespace

bool same_token(std::string_view a, std::string_view b) {
  std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

bool is_loopback(const std::string& address) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

void install_api(httplib::Server& server, const ServerOptions& options,
                 std::shared_ptr<Backend> backend) {
  bool loopback_bind = is_loopback(options.bind);
  server.set_pre_routing_handler(
      [options, loopback_bind](const httplib::Request& req, httplib::Response& res) {
        if (auto refused = check_connection(req, loopback_bind)) {
          // Its body is never read: the connection must not carry another request, or that
          // body would be taken for one.
          res.set_header("Connection", "close");
          send_error(res, *refused);
          return httplib::Server::HandlerResponse::Handled;
        }
        if (has_body(req)) return httplib::Server::HandlerResponse::Unhandled;  // checked later
        if (auto refused = check_access(req, options)) {
          refuse(res, *refused);
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  // httplib's own refusals (no route, a body over the limit, a malformed request) come here
  // with an empty body; ours already carry one.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = "no such route: " + req.method + " " + req.path;
        if (res.status == 413) message = "the request body is larger than the server takes";
        // httplib refuses a header line over CPPHTTPLIB_HEADER_MAX_LENGTH (8192 in Debian's
        // build) as a malformed request.
        if (res.status == 400) message = "malformed request, or a header longer than 8192 bytes";
        // httplib reads the body of a POST by its Content-Length, and refuses one without
        // (its headers may also have been cut short by an over-long line: both are named).
        bool sized = req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
        if (res.status == 400 && !sized && (req.method == "POST" || req.method == "PUT")) {
          message = "malformed request: a " + req.method +
                    " needs a Content-Length header, also with no body (Content-Length: 0; "
                    "curl -d ''), and no header line may be longer than 8192 bytes";
        }
        if (res.status == 405) message = "method not allowed: " + req.method + " " + req.path;
        send_error(res, Refusal{res.status, message});
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        send_error(res, Refusal{500, "internal error: " + what});
      });

  // Every handler: requests with a body were let through routing unchecked, to be read, and
  // are checked here first.
  auto guarded = [options](httplib::Server::Handler handler) {
    return [options, handler = std::move(handler)](const httplib::Request& req,
                                                   httplib::Response& res) {
      if (has_body(req)) {
        if (auto refused = check_access(req, options)) return refuse(res, *refused);
      }
      handler(req, res);
    };
  };
  // A JSON route.
  auto serve = [backend, &guarded](Route route) {
    return guarded(
        [backend, route = std::move(route)](const httplib::Request& req, httplib::Response& res) {
          auto answer = route(req, *backend);
          if (!answer) return send_error(res, answer.error());
          send(res, answer->first, answer->second);
        });
  };
  auto requests = std::make_shared<RequestCounts>();
  server.set_logger([requests](const httplib::Request&, const httplib::Response& res) {
    auto c = static_cast<std::size_t>(res.status / 100);
    if (c >= 1 && c < requests->by_class.size()) {
      requests->by_class[c].fetch_add(1, std::memory_order_relaxed);
    }
  });
  server.Get("/metrics",
             guarded([backend, requests](const httplib::Request&, httplib::Response& res) {
               auto text = metrics_text(*backend, *requests);
               if (!text) return send_error(res, text.error());
               res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
             }));
  server.Get("/", guarded([](const httplib::Request&, httplib::Response& res) {
               res.set_header(
                   "Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'; frame-ancestors 'none'");
               res.set_header("X-Content-Type-Options", "nosniff");
               res.set_header("Referrer-Policy", "no-referrer");
               res.set_header("Cache-Control", "no-store");
               auto page = page_html();
               res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
             }));
  const std::string v1 = "/api/v1";
  server.Get(v1 + "/instances", serve(list));
  server.Post(v1 + "/instances", serve(start));
  server.Get(v1 + "/instances/(.+)/history", serve(history));
  server.Get(v1 + "/instances/(.+)/executions", serve(executions));
  server.Get(v1 + "/instances/(.+)/children", serve(children));
  server.Post(v1 + "/instances/(.+)/events/([^/]+)", serve(raise));
  for (auto [verb, what] :
       {std::pair{"cancel", Control::kCancel}, std::pair{"terminate", Control::kTerminate},
        std::pair{"pause", Control::kPause}, std::pair{"resume", Control::kResume}}) {
    server.Post(
        v1 + "/instances/(.+)/" + verb,
        serve([what](const httplib::Request& r, Backend& b) { return control(r, b, what); }));
  }
  server.Get(v1 + "/instances/(.+)", serve(show));
  server.Delete(v1 + "/instances/(.+)", serve(remove));
  server.Post(v1 + "/topics/(.+)", serve(publish));
  server.Get(v1 + "/stats", serve(stats));
  server.Post(v1 + "/purge", serve(purge));
}

}  // namespace duractor::http::detail
