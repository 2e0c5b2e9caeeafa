#include "duractor/ops/replay_check.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "duractor/ops/export_file.h"
#include "duractor/runtime/detail/replay_engine.h"

namespace duractor {
namespace {

std::string quoted(const std::string& name) {
  return "'" + name + "'";
}

// The operation an event records, the way the report names it ("ActivityScheduled
// 'charge'"): its kind, what it names, and `detail` (payloads) when asked.
std::string recorded_text(const HistoryEvent& event, bool detail) {
  std::string text(event.kind_name());
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, event::ActivityScheduled>) {
          text += " " + quoted(e.name);
          if (detail) text += " with input " + describe_payload(e.input);
        } else if constexpr (std::is_same_v<T, event::SubOrchestrationScheduled>) {
          text += " " + quoted(e.name) + " v" + std::to_string(e.version);
          if (detail) text += " (instance " + quoted(e.instance) + ")";
        } else if constexpr (std::is_same_v<T, event::EventSent>) {
          text += " " + quoted(e.name) + " to " + quoted(e.instance);
        } else if constexpr (std::is_same_v<T, event::TimerCreated>) {
          if (detail) text += " firing at " + std::to_string(to_unix_ms(e.fire_at)) + " ms";
        } else if constexpr (std::is_same_v<T, event::TopicSubscribed> ||
                             std::is_same_v<T, event::TopicUnsubscribed>) {
          text += " " + quoted(e.topic);
        } else if constexpr (std::is_same_v<T, event::TopicPublished>) {
          text += " on " + quoted(e.topic);
          if (detail) text += " with payload " + describe_payload(e.payload);
        } else if constexpr (std::is_same_v<T, event::CustomStatusSet>) {
          text += " " + quoted(e.status);
        } else if constexpr (std::is_same_v<T, event::ActivityCancelRequested> ||
                             std::is_same_v<T, event::SubOrchestrationCancelRequested>) {
          text += " of #" + std::to_string(e.scheduled_id);
        } else if constexpr (std::is_same_v<T, event::ContinuedAsNew>) {
          text += " v" + std::to_string(e.version);
          if (detail) text += " with input " + describe_payload(e.input);
        } else if constexpr (std::is_same_v<T, event::ExecutionCompleted>) {
          text += " with output " + describe_payload(e.output);
        } else if constexpr (std::is_same_v<T, event::ExecutionFailed>) {
          text += " (" + e.failure.type + ": " + e.failure.message + ")";
        }
      },
      event.body);
  return text;
}

// What the code does, as a verb phrase ("schedules activity 'reserve'").
std::string code_text(const EventBody& body, bool detail) {
  return std::visit(
      [&](const auto& e) -> std::string {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, event::ActivityScheduled>) {
          return "schedules activity " + quoted(e.name) +
                 (detail ? " with input " + describe_payload(e.input) : "");
        } else if constexpr (std::is_same_v<T, event::SubOrchestrationScheduled>) {
          return "starts sub-orchestration " + quoted(e.name) + " v" + std::to_string(e.version) +
                 (detail ? " (instance " + quoted(e.instance) + ")" : "");
        } else if constexpr (std::is_same_v<T, event::EventSent>) {
          return "sends event " + quoted(e.name) + " to " + quoted(e.instance);
        } else if constexpr (std::is_same_v<T, event::TimerCreated>) {
          return std::string("creates a timer") +
                 (detail ? " firing at " + std::to_string(to_unix_ms(e.fire_at)) + " ms" : "");
        } else if constexpr (std::is_same_v<T, event::TopicSubscribed>) {
          return "subscribes to topic " + quoted(e.topic);
        } else if constexpr (std::is_same_v<T, event::TopicUnsubscribed>) {
          return "unsubscribes from topic " + quoted(e.topic);
        } else if constexpr (std::is_same_v<T, event::TopicPublished>) {
          return "publishes on topic " + quoted(e.topic) +
                 (detail ? " with payload " + describe_payload(e.payload) : "");
        } else if constexpr (std::is_same_v<T, event::CustomStatusSet>) {
          return "sets custom status " + quoted(e.status);
        } else if constexpr (std::is_same_v<T, event::ActivityCancelRequested>) {
          return "cancels activity #" + std::to_string(e.scheduled_id);
        } else if constexpr (std::is_same_v<T, event::SubOrchestrationCancelRequested>) {
          return "cancels sub-orchestration #" + std::to_string(e.scheduled_id);
        } else if constexpr (std::is_same_v<T, event::ContinuedAsNew>) {
          return "continues as new (v" + std::to_string(e.version) + ")" +
                 (detail ? " with input " + describe_payload(e.input) : "");
        } else if constexpr (std::is_same_v<T, event::ExecutionCompleted>) {
          return "completes with output " + describe_payload(e.output);
        } else if constexpr (std::is_same_v<T, event::ExecutionFailed>) {
          return "fails (" + e.failure.type + ": " + e.failure.message + ")";
        } else if constexpr (std::is_same_v<T, event::ExecutionCancelled>) {
          return "ends cancelled";
        } else {
          return "records " + std::string(HistoryEvent{0, {}, e}.kind_name());
        }
      },
      body);
}

// The failure the code ends with when it cannot decode a payload (run_orchestration's
// input, a future's result): a ConfigurationError whose message has decode<T>'s wording.
const FailureDetails* decode_failure(const std::optional<EventBody>& code) {
  if (!code) return nullptr;
  const auto* failed = std::get_if<event::ExecutionFailed>(&*code);
  if (failed == nullptr || failed->failure.type != "duractor::ConfigurationError") return nullptr;
  if (failed->failure.message.find("payload does not decode as") == std::string::npos) {
    return nullptr;
  }
  return &failed->failure;
}

std::string state_of(const Outcome& outcome) {
  return std::visit(
      [](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, outcome::Completed>) return "completed";
        if constexpr (std::is_same_v<T, outcome::Failed>) return "failed";
        if constexpr (std::is_same_v<T, outcome::Cancelled>) return "cancelled";
        if constexpr (std::is_same_v<T, outcome::ContinuedAsNew>) return "continued as new";
        if constexpr (std::is_same_v<T, outcome::Running>) return "running";
        return "not started";
      },
      outcome);
}

// Fills in `x` from a divergence the engine found.
void describe_divergence(ExecutionReplay& x, const Divergence& d) {
  x.event = d.event;
  if (const auto* failure = decode_failure(d.code)) {
    x.verdict = ReplayVerdict::kUndecodable;
    x.recorded = d.recorded ? recorded_text(*d.recorded, false)
                            : "the history ends at event " + std::to_string(d.event - 1);
    x.code = "cannot decode " + failure->message;
    x.message = "event " + std::to_string(d.event) + ": the code cannot decode " +
                failure->message + " (the history recorded " + x.recorded + " there)";
    return;
  }
  x.verdict = ReplayVerdict::kNondeterministic;
  if (!d.recorded) {
    x.recorded = "the history ends at event " + std::to_string(d.event - 1);
    x.code = code_text(*d.code, false);
    x.message = "event " + std::to_string(d.event) + ": " + x.recorded + ", the code now " +
                x.code + " (a step was added)";
    return;
  }
  x.recorded = recorded_text(*d.recorded, false);
  if (!d.code) {
    x.code =
        d.code_finished ? "has finished (does nothing there)" : "is waiting (does nothing there)";
    x.message = "event " + std::to_string(d.event) + ": recorded " + x.recorded + ", the code " +
                x.code + ": a step was removed or moved";
    return;
  }
  x.code = code_text(*d.code, false);
  HistoryEvent code_event{d.event, {}, *d.code};
  if (d.code->index() == d.recorded->body.index() &&
      recorded_text(*d.recorded, false) == recorded_text(code_event, false)) {
    // Same operation and name: the difference is in what it carries.
    x.recorded = recorded_text(*d.recorded, true);
    x.code = code_text(*d.code, true);
  }
  x.message =
      "event " + std::to_string(d.event) + ": recorded " + x.recorded + ", the code now " + x.code;
}

ExecutionReplay check_execution(const Registry& registry, const InstanceId& instance,
                                const ExecutionImage& image, EngineOptions options) {
  ExecutionReplay x;
  x.execution = image.info.execution;
  x.events = image.events.size();
  if (!image.events.empty()) {
    if (const auto* started = std::get_if<event::ExecutionStarted>(&image.events.front().body)) {
      x.orchestration = started->name;
      x.version = started->version;
    }
  }
  ReplayEngine engine(registry, instance, std::move(options));
  auto loaded = engine.load(x.execution, image.events);
  if (loaded) {
    x.state = state_of(engine.outcome());
    return x;
  }
  const auto& error = loaded.error();
  if (error.code == ErrorCode::kNondeterminism && engine.divergence()) {
    describe_divergence(x, *engine.divergence());
  } else if (error.code == ErrorCode::kNotRegistered) {
    x.verdict = ReplayVerdict::kUnregistered;
    x.message = error.message;
  } else {
    x.verdict = ReplayVerdict::kUnreplayable;
    x.message = error.message;
  }
  return x;
}

// A logger that drops everything: replay mutes the code's logger, but the engine logs too.
std::shared_ptr<spdlog::logger> silent_logger() {
  static auto logger = [] {
    auto l = std::make_shared<spdlog::logger>("duractor.replay_check");
    l->set_level(spdlog::level::off);
    return l;
  }();
  return logger;
}

using Json = nlohmann::ordered_json;

Json execution_json(const ExecutionReplay& x) {
  return Json{{"execution", x.execution},
              {"orchestration", x.orchestration},
              {"version", x.version},
              {"events", x.events},
              {"verdict", std::string(to_string(x.verdict))},
              {"state", x.state},
              {"event", x.event},
              {"recorded", x.recorded},
              {"code", x.code},
              {"message", x.message}};
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string_view to_string(ReplayVerdict verdict) {
  switch (verdict) {
    case ReplayVerdict::kOk:
      return "ok";
    case ReplayVerdict::kNondeterministic:
      return "nondeterministic";
    case ReplayVerdict::kUndecodable:
      return "undecodable";
    case ReplayVerdict::kUnregistered:
      return "unregistered";
    case ReplayVerdict::kUnreplayable:
      return "unreplayable";
  }
  return "unknown";
}

InstanceReplay replay_check(const Registry& registry, const InstanceImage& image) {
  InstanceReplay r;
  r.instance = image.info.id;
  r.orchestration = image.info.name;
  r.version = image.info.version;
  EngineOptions options{silent_logger()};
  for (const auto& execution : image.executions) {
    r.executions.push_back(check_execution(registry, r.instance, execution, options));
    const auto& x = r.executions.back();
    if (!x.orchestration.empty()) {
      r.orchestration = x.orchestration;
      r.version = x.version;
    }
    if (r.verdict == ReplayVerdict::kOk && x.verdict != ReplayVerdict::kOk) {
      r.verdict = x.verdict;
      r.message = "execution " + std::to_string(x.execution) + ", " + x.message;
    }
  }
  // Not started yet: its start names what it will run.
  if (image.executions.empty()) {
    if (auto entry = registry.orchestration(image.info.name, image.info.version); !entry) {
      r.verdict = ReplayVerdict::kUnregistered;
      r.message = entry.error().message;
    }
  }
  return r;
}

ReplayReport replay_check(const Registry& registry, const std::vector<InstanceImage>& images) {
  ReplayReport report;
  for (const auto& image : images) report.instances.push_back(replay_check(registry, image));
  return report;
}

Result<ReplayReport> replay_check(const Registry& registry, Store& store,
                                  const InstanceQuery& query) {
  ReplayReport report;
  InstanceQuery page_query = query;
  while (true) {
    auto page = store.list_instances(page_query);
    if (!page) return fail(page.error());
    for (const auto& info : page->instances) {
      auto image = store.export_instance(info.id);
      if (!image && image.error().code == ErrorCode::kNotFound) continue;  // deleted meanwhile
      if (!image) return fail(image.error());
      report.instances.push_back(replay_check(registry, *image));
    }
    if (!page->next) break;
    page_query.after = *page->next;
  }
  return report;
}

Result<ReplayReport> replay_check_files(const Registry& registry,
                                        const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".json") found.push_back(entry.path().string());
    }
    if (ec) {
      return fail(ErrorCode::kIo, "cannot list directory " + path + ": " + ec.message());
    }
    if (found.empty()) {
      return fail(ErrorCode::kNotFound, "no export files (*.json) in directory " + path);
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  ReplayReport report;
  for (const auto& file : files) {
    auto image = read_export_file(file);
    if (!image) return fail(image.error());
    report.instances.push_back(replay_check(registry, *image));
    report.instances.back().source = file;
  }
  return report;
}

bool ReplayReport::ok() const {
  return std::all_of(instances.begin(), instances.end(),
                     [](const InstanceReplay& r) { return r.ok(); });
}

std::size_t ReplayReport::count(ReplayVerdict verdict) const {
  return static_cast<std::size_t>(
      std::count_if(instances.begin(), instances.end(),
                    [&](const InstanceReplay& r) { return r.verdict == verdict; }));
}

std::string ReplayReport::text() const {
  static constexpr ReplayVerdict kAll[] = {
      ReplayVerdict::kOk, ReplayVerdict::kNondeterministic, ReplayVerdict::kUndecodable,
      ReplayVerdict::kUnregistered, ReplayVerdict::kUnreplayable};
  std::string out = "replay-check: " + plural(instances.size(), "instance", "instances");
  for (auto verdict : kAll) {
    if (auto n = count(verdict); n != 0 || verdict == ReplayVerdict::kOk) {
      out += ", " + std::to_string(n) + " " + std::string(to_string(verdict));
    }
  }
  out += "\n";
  for (const auto& r : instances) {
    std::string line = std::string(to_string(r.verdict));
    line.resize(std::max<std::size_t>(line.size() + 1, 17), ' ');
    line += r.instance + " (" + r.orchestration + " v" + std::to_string(r.version);
    std::size_t events = 0;
    for (const auto& x : r.executions) events += x.events;
    line += ", " + plural(r.executions.size(), "execution", "executions") + ", " +
            plural(events, "event", "events");
    if (r.ok() && !r.executions.empty()) line += ", " + r.executions.back().state;
    if (r.executions.empty()) line += ", not started";
    line += ")";
    if (!r.source.empty()) line += " from " + r.source;
    out += "  " + line + "\n";
    if (!r.ok()) {
      // Every execution that went wrong, with its position.
      bool listed = false;
      for (const auto& x : r.executions) {
        if (x.verdict == ReplayVerdict::kOk) continue;
        out += "      execution " + std::to_string(x.execution) + ": " + x.message + "\n";
        listed = true;
      }
      if (!listed) out += "      " + r.message + "\n";
    }
  }
  return out;
}

std::string ReplayReport::json() const {
  Json counts = Json::object();
  for (auto verdict :
       {ReplayVerdict::kOk, ReplayVerdict::kNondeterministic, ReplayVerdict::kUndecodable,
        ReplayVerdict::kUnregistered, ReplayVerdict::kUnreplayable}) {
    counts[std::string(to_string(verdict))] = count(verdict);
  }
  Json results = Json::array();
  for (const auto& r : instances) {
    Json executions = Json::array();
    for (const auto& x : r.executions) executions.push_back(execution_json(x));
    results.push_back(Json{{"instance", r.instance},
                           {"source", r.source},
                           {"orchestration", r.orchestration},
                           {"version", r.version},
                           {"verdict", std::string(to_string(r.verdict))},
                           {"message", r.message},
                           {"executions", std::move(executions)}});
  }
  Json doc{{"ok", ok()},
           {"instances", instances.size()},
           {"counts", std::move(counts)},
           {"results", std::move(results)}};
  return doc.dump(2) + "\n";
}

}  // namespace duractor
