// Over 800 lines: the bodies of all the CLI's commands and the one option table that wires
// them (run); they share the Options, the Context and the helpers defined here.

#include "duractor/cli/commands.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>

#include "duractor/cli/format.h"
#include "duractor/cli/json_view.h"
#include "duractor/cli/store_access.h"
#include "duractor/cli/transfer.h"
#include "duractor/runtime/limits.h"
#include "duractor/runtime/version.h"

namespace duractor::cli {
namespace {

// Payloads over this size are refused by `raise` (the runtime's default
// HostOptions::max_payload_bytes).
constexpr std::size_t kMaxPayloadBytes = kDefaultMaxPayloadBytes;
// Instances deleted per group commit by `purge`.
constexpr std::size_t kPurgePage = 500;
// Payloads and details are cut at this width in text output, unless --wide.
constexpr std::size_t kTextWidth = 100;

const char* const kExitCodesHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the store or the system failed (I/O error, corrupt record)\n"
    "  2  usage: bad flags, bad JSON, bad duration, malformed export file\n"
    "  3  no such instance\n"
    "  4  the store is missing or cannot be opened\n"
    "  5  refused by state: the instance has finished, is running (use --force), or the id "
    "is taken\n"
    "  6  another process holds the store's writer lock longer than --lock-timeout\n"
    "\n"
    "The store may be in use by a running runtime: reads never wait for it, and a running\n"
    "runtime picks up events, cancellations, deletions and imports within about a second.\n"
    "See docs/cli.md.";

// Everything the flags can say; each command reads what it needs.
struct Options {
  std::string store;
  bool json = false;
  std::string lock_timeout = "10s";
  bool wide = false;
  // Filters (list, purge).
  std::vector<std::string> statuses;
  std::string name;
  std::string older_than;
  std::string newer_than;
  std::string parent;
  std::size_t limit = 50;
  std::string after;
  // One instance.
  std::string id;
  std::uint32_t execution = 0;  // 0: the latest
  bool all_executions = false;
  // raise, cancel, delete, purge.
  std::string event;
  std::string payload;
  std::string payload_file;
  std::string reason = "cancelled from the command line";
  bool terminate = false;
  std::string pause_reason = "paused from the command line";
  bool force = false;
  bool no_cascade = false;
  bool dry_run = false;
  // purge: at most this many matches; only those finished before this time (flag text;
  // given: whether the flag was, since its text may be empty).
  std::string purge_limit;
  bool purge_limit_given = false;
  std::string completed_before;
  bool completed_before_given = false;
  // prune: the executions to keep (flag text).
  std::string keep;
  // queues, export, import.
  std::size_t top = 10;
  std::string file;
  std::string as;
  bool create_store = false;
};

// What a command has to work with.
struct Context {
  const Options& o;
  std::ostream& out;
  TimePoint now;
  std::size_t width() const { return o.wide ? 0 : kTextWidth; }
  void print(const Json& document) const { out << document.dump(2) << '\n'; }
};

using Command = Checked<int> (*)(Context&);

std::string cut(std::string text, std::size_t width) {
  if (width > 3 && text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

std::string plural(std::uint64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

Checked<Milliseconds> duration_flag(const std::string& flag, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) return failure(kExitUsage, flag + ": " + d.error().message);
  return *d;
}

// A count flag that must be a whole number of at least 1 (and fit `max`).
Checked<std::uint64_t> count_flag(const std::string& flag, const std::string& text,
                                  std::uint64_t max) {
  auto bad = [&] {
    return failure(kExitUsage, flag + " " + text + ": expected a whole number from 1 to " +
                                   std::to_string(max));
  };
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return bad();
  }
  auto n = std::stoull(text);
  if (n == 0 || n > max) return bad();
  return n;
}

// The instance filters of list and purge. `filtered` tells whether any was given.
Checked<InstanceQuery> make_query(const Context& c, bool* filtered = nullptr) {
  const auto& o = c.o;
  InstanceQuery q;
  for (const auto& s : o.statuses) {
    auto status = parse_instance_status(s);
    if (!status) {
      return failure(kExitUsage, "--status: unknown status '" + s +
                                     "' (expected pending, running, completed, failed, "
                                     "cancelled, terminated or paused)");
    }
    q.statuses.push_back(*status);
  }
  if (!o.name.empty()) q.name = o.name;
  if (!o.parent.empty()) q.parent = o.parent;
  if (!o.older_than.empty()) {
    auto d = duration_flag("--older-than", o.older_than);
    if (!d) return std::unexpected(d.error());
    q.created_before = c.now - *d;
  }
  if (!o.newer_than.empty()) {
    auto d = duration_flag("--newer-than", o.newer_than);
    if (!d) return std::unexpected(d.error());
    q.created_after = c.now - *d;
  }
  if (filtered != nullptr) {
    *filtered = !q.statuses.empty() || q.name || q.parent || q.created_before || q.created_after;
  }
  q.after = o.after;
  q.limit = o.limit;
  return q;
}

Checked<std::string> read_input(const std::string& path, const std::string& what) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file)
      return failure(kExitUsage, "cannot read " + what + " " + path + ": " + std::strerror(errno));
    text << file.rdbuf();
  }
  return text.str();
}

// Parses JSON text; a syntax error names where it is.
Checked<Json> parse_json(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    std::string message = e.what();
    auto tag = message.find("] ");  // drop nlohmann's "[json.exception.parse_error.101] "
    if (tag != std::string::npos) message = message.substr(tag + 2);
    return failure(kExitUsage, "bad JSON in " + what + ": " + message);
  }
}

// A write needs a moment to reach LMDB's writer lock even when nobody holds it; a shorter
// wait would report a lock that is not there.
constexpr Milliseconds kMinLockTimeout{100};

Checked<Milliseconds> lock_timeout(const Options& o) {
  auto timeout = duration_flag("--lock-timeout", o.lock_timeout);
  if (!timeout) return std::unexpected(timeout.error());
  if (*timeout < kMinLockTimeout) {
    return failure(kExitUsage, "--lock-timeout " + o.lock_timeout +
                                   " is too short: a write needs at least " +
                                   format_duration(kMinLockTimeout) + " to take the writer lock");
  }
  return *timeout;
}

Checked<std::unique_ptr<StoreWriter>> open_writer(const Context& c, bool create = false) {
  auto timeout = lock_timeout(c.o);
  if (!timeout) return std::unexpected(timeout.error());
  return StoreWriter::open(c.o.store, *timeout, create);
}

Checked<std::unique_ptr<LmdbStore>> open_reader(const Context& c) {
  return open_for_reading(c.o.store);
}

// ---- list ----

// The store of a command that writes, or only says what it would write with --dry-run:
// open for writing, or read-only for a dry run.
struct WriterOrReader {
  std::unique_ptr<StoreWriter> writer;  // unset for a dry run
  std::unique_ptr<LmdbStore> reader;
  Store& store() { return writer ? static_cast<Store&>(writer->store()) : *reader; }
};

Checked<WriterOrReader> open_unless_dry_run(const Context& c) {
  WriterOrReader opened;
  if (c.o.dry_run) {
    auto reader = open_reader(c);
    if (!reader) return std::unexpected(reader.error());
    opened.reader = std::move(*reader);
  } else {
    auto writer = open_writer(c);
    if (!writer) return std::unexpected(writer.error());
    opened.writer = std::move(*writer);
  }
  return opened;
}

Checked<int> list(Context& c) {
  auto query = make_query(c);
  if (!query) return std::unexpected(query.error());
  auto store = open_reader(c);
  if (!store) return std::unexpected(store.error());
  auto page = (*store)->list_instances(*query);
  if (!page) return failure(page.error());
  if (c.o.json) {
    Json instances = Json::array();
    for (const auto& i : page->instances) instances.push_back(instance_json(i, false));
    c.print(Json{{"instances", std::move(instances)},
                 {"next", page->next ? Json(*page->next) : Json()}});
    return kExitOk;
  }
  if (page->instances.empty()) {
    c.out << "no instances match\n";
    return kExitOk;
  }
  Table table({"ID", "ORCHESTRATION", "STATUS", "EXEC", "CREATED", "AGE", "CUSTOM STATUS"});
  for (const auto& i : page->instances) {
    table.add({i.id, i.name + " v" + std::to_string(i.version), std::string(to_string(i.status)),
               std::to_string(i.execution), iso_time(i.created_at),
               format_duration(std::chrono::duration_cast<Milliseconds>(c.now - i.created_at)),
               c.o.wide ? i.custom_status : cut(i.custom_status, 40)});
  }
  table.print(c.out);
  c.out << plural(page->instances.size(), "instance", "instances");
  if (page->next) c.out << "; more with --after " << *page->next;
  c.out << '\n';
  return kExitOk;
}

// ---- show ----

Checked<int> show(Context& c) {
  auto store = open_reader(c);
  if (!store) return std::unexpected(store.error());
  auto& s = **store;
  auto info = s.read_instance(c.o.id);
  if (!info) return failure(info.error());
  auto executions = s.read_executions(c.o.id);
  if (!executions) return failure(executions.error());
  auto inbox = s.read_inbox(c.o.id);
  if (!inbox) return failure(inbox.error());
  auto topics = s.subscriptions(c.o.id);
  if (!topics) return failure(topics.error());

  if (c.o.json) {
    Json xs = Json::array(), messages = Json::array();
    for (const auto& x : *executions) xs.push_back(execution_json(x));
    for (const auto& m : *inbox) messages.push_back(message_json(m));
    c.print(Json{{"instance", instance_json(*info)},
                 {"executions", std::move(xs)},
                 {"inbox", std::move(messages)},
                 {"topics", *topics}});
    return kExitOk;
  }
  auto view = instance_json(*info);
  Table fields({"Instance", info->id});
  fields.add({"Orchestration", info->name + " v" + std::to_string(info->version)});
  fields.add({"Status", std::string(to_string(info->status))});
  if (!info->custom_status.empty())
    fields.add({"Custom status", cut(info->custom_status, c.width())});
  fields.add({"Created", time_and_age(info->created_at, c.now)});
  fields.add({"Updated", time_and_age(info->updated_at, c.now)});
  if (info->completed_at) fields.add({"Completed", time_and_age(*info->completed_at, c.now)});
  if (info->parent) {
    fields.add({"Parent", info->parent->instance + "/" + std::to_string(info->parent->execution) +
                              "#" + std::to_string(info->parent->scheduled_id)});
  }
  fields.add({"Input", cut(view["input"].dump(), c.width())});
  if (info->status == InstanceStatus::kCompleted) {
    fields.add({"Output", cut(view["output"].dump(), c.width())});
  }
  if (info->failure) {
    fields.add({"Failure", cut(std::string(to_string(info->failure->category)) + " " +
                                   info->failure->type + ": " + info->failure->message,
                               c.width())});
  }
  if (!topics->empty()) {
    std::string joined;
    for (const auto& t : *topics) joined += (joined.empty() ? "" : ", ") + t;
    fields.add({"Topics", joined});
  }
  std::string waiting =
      inbox->empty() ? "empty" : plural(inbox->size(), "message", "messages") + ":";
  for (const auto& m : *inbox) {
    waiting += " " + std::string(to_string(kind_of(m.message)));
    if (const auto* e = std::get_if<message::Event>(&m.message)) waiting += " '" + e->name + "'";
  }
  fields.add({"Inbox", cut(waiting, c.width())});
  fields.print(c.out);
  if (!executions->empty()) {
    c.out << "\nExecutions\n";
    Table table({"EXEC", "STATUS", "STARTED", "COMPLETED", "EVENTS", "CONTINUED AS NEW"});
    for (const auto& x : *executions) {
      table.add({std::to_string(x.execution), std::string(to_string(x.status)),
                 iso_time(x.started_at), x.completed_at ? iso_time(*x.completed_at) : "-",
                 std::to_string(x.event_count), x.continued_as_new ? "yes" : "no"});
    }
    table.print(c.out, "  ");
  }
  return kExitOk;
}

// ---- history ----

Checked<int> history(Context& c) {
  auto store = open_reader(c);
  if (!store) return std::unexpected(store.error());
  auto info = (*store)->read_instance(c.o.id);
  if (!info) return failure(info.error());
  std::vector<ExecutionId> wanted;
  if (c.o.all_executions) {
    auto executions = (*store)->read_executions(c.o.id);  // the kept ones, after a prune
    if (!executions) return failure(executions.error());
    for (const auto& x : *executions) wanted.push_back(x.execution);
  } else if (c.o.execution != 0) {
    wanted.push_back(c.o.execution);
  } else if (info->execution != 0) {
    wanted.push_back(info->execution);
  }
  std::vector<std::pair<ExecutionId, std::vector<HistoryEvent>>> histories;
  for (auto x : wanted) {
    auto events = (*store)->read_history(c.o.id, x);
    if (!events) return failure(events.error());
    histories.emplace_back(x, std::move(*events));
  }
  if (c.o.json) {
    Json xs = Json::array();
    for (const auto& [x, events] : histories) {
      Json list = Json::array();
      for (const auto& e : events) list.push_back(event_json(e));
      xs.push_back(Json{{"execution", x}, {"events", std::move(list)}});
    }
    c.print(Json{{"instance", c.o.id}, {"executions", std::move(xs)}});
    return kExitOk;
  }
  if (histories.empty()) {
    c.out << "instance " << c.o.id << " has no history yet (it is " << to_string(info->status)
          << ": its first turn has not run)\n";
    return kExitOk;
  }
  for (std::size_t i = 0; i < histories.size(); ++i) {
    const auto& [x, events] = histories[i];
    if (i > 0) c.out << '\n';
    c.out << "instance " << c.o.id << ", execution " << x << " of " << info->execution << ": "
          << plural(events.size(), "event", "events") << '\n';
    Table table({"ID", "TIME", "KIND", "DETAILS"});
    for (const auto& e : events) {
      table.add({std::to_string(e.id), iso_time(e.timestamp), std::string(e.kind_name()),
                 summary(event_json(e), {"id", "timestamp", "kind"}, c.width())});
    }
    table.print(c.out);
  }
  return kExitOk;
}

// ---- raise, cancel ----

// Puts `message` in the inbox of the command's instance, durably; returns its inbox seq.
Checked<std::uint64_t> enqueue(const Context& c, InboxMessage message) {
  auto writer = open_writer(c);
  if (!writer) return std::unexpected(writer.error());
  auto& store = (*writer)->store();
  return (*writer)->run_one<std::uint64_t>([&](Callback<std::uint64_t> done) {
    store.enqueue_async(c.o.id, std::move(message), std::move(done));
  });
}

Checked<int> raise(Context& c) {
  if (!c.o.payload.empty() && !c.o.payload_file.empty()) {
    return failure(kExitUsage,
                   "give the payload either as an argument or with --payload-file, not both");
  }
  std::string text = c.o.payload;
  std::string what = "the payload";
  if (!c.o.payload_file.empty()) {
    auto read = read_input(c.o.payload_file, "payload file");
    if (!read) return std::unexpected(read.error());
    text = std::move(*read);
    what = "payload file " + c.o.payload_file;
  }
  Json value;  // no payload: null, as a Unit payload
  if (!text.empty()) {
    auto parsed = parse_json(text, what);
    if (!parsed) return std::unexpected(parsed.error());
    value = std::move(*parsed);
  }
  auto bytes = payload_bytes(value);
  if (bytes.size() > kMaxPayloadBytes) {
    return failure(kExitUsage, "the payload is " + std::to_string(bytes.size()) +
                                   " bytes as msgpack, over the limit of " +
                                   std::to_string(kMaxPayloadBytes) + " bytes");
  }
  auto seq = enqueue(c, message::Event{c.o.event, bytes});
  if (!seq) return std::unexpected(seq.error());
  if (c.o.json) {
    c.print(Json{{"instance", c.o.id}, {"event", c.o.event}, {"payload", value}, {"seq", *seq}});
  } else {
    c.out << "raised event '" << c.o.event << "' at " << c.o.id << " (inbox seq " << *seq << ")\n";
  }
  return kExitOk;
}

Checked<int> cancel(Context& c) {
  auto seq = enqueue(c, message::Cancel{c.o.reason, c.o.terminate});
  if (!seq) return std::unexpected(seq.error());
  if (c.o.json) {
    c.print(Json{
        {"instance", c.o.id}, {"reason", c.o.reason}, {"terminate", c.o.terminate}, {"seq", *seq}});
  } else {
    c.out << (c.o.terminate ? "termination" : "cancellation") << " of " << c.o.id
          << " requested (inbox seq " << *seq << ")\n";
  }
  return kExitOk;
}

Checked<int> pause(Context& c) {
  auto seq = enqueue(c, message::Pause{c.o.pause_reason});
  if (!seq) return std::unexpected(seq.error());
  if (c.o.json) {
    c.print(Json{{"instance", c.o.id}, {"reason", c.o.pause_reason}, {"seq", *seq}});
  } else {
    c.out << "pause of " << c.o.id << " requested (inbox seq " << *seq << ")\n";
  }
  return kExitOk;
}

Checked<int> resume(Context& c) {
  auto seq = enqueue(c, message::Resume{});
  if (!seq) return std::unexpected(seq.error());
  if (c.o.json) {
    c.print(Json{{"instance", c.o.id}, {"seq", *seq}});
  } else {
    c.out << "resume of " << c.o.id << " requested (inbox seq " << *seq << ")\n";
  }
  return kExitOk;
}

// ---- delete, purge ----

std::function<void(Callback<DeleteSummary>)> delete_write(LmdbStore& store, InstanceId id,
                                                          const Options& o) {
  DeleteOptions options{.cascade = !o.no_cascade, .force = o.force};
  return [&store, id = std::move(id), options](Callback<DeleteSummary> done) {
    store.delete_instance_async(id, options, std::move(done));
  };
}

Checked<int> remove(Context& c) {
  auto writer = open_writer(c);
  if (!writer) return std::unexpected(writer.error());
  auto summary = (*writer)->run_one<DeleteSummary>(delete_write((*writer)->store(), c.o.id, c.o));
  if (!summary) {
    auto f = summary.error();
    if (f.exit_code == kExitRefused) {  // the store's advice, in the CLI's words
      auto at = f.message.find("with force");
      if (at != std::string::npos) {
        f.message.replace(at, 10, "with --force");
      } else {
        f.message += " (use --force)";
      }
    }
    return std::unexpected(f);
  }
  if (c.o.json) {
    c.print(Json{{"deleted", summary->deleted}, {"events", summary->events}});
    return kExitOk;
  }
  c.out << "deleted " << c.o.id;
  if (summary->deleted.size() > 1) {
    c.out << " and "
          << plural(summary->deleted.size() - 1, "sub-orchestration", "sub-orchestrations") << " (";
    for (std::size_t i = 1; i < summary->deleted.size(); ++i) {
      c.out << (i > 1 ? ", " : "") << summary->deleted[i];
    }
    c.out << ")";
  }
  c.out << ": " << plural(summary->events, "history event", "history events") << '\n';
  return kExitOk;
}

// Why deleting `id` without --force would be refused: the first sub-orchestration (with
// cascading) that has not finished, as the store would name it; nullopt if none.
Checked<std::optional<std::string>> unfinished_descendant(Store& store, const InstanceId& id) {
  InstanceQuery q;
  q.parent = id;
  q.limit = 0;
  auto children = store.list_instances(q);
  if (!children) return failure(children.error());
  for (const auto& child : children->instances) {
    if (!is_terminal(child.status)) {
      return "instance '" + child.id + "' is " + std::string(to_string(child.status)) +
             " (a sub-orchestration of '" + id + "')";
    }
    auto deeper = unfinished_descendant(store, child.id);
    if (!deeper || *deeper) return deeper;
  }
  return std::nullopt;
}

Checked<int> purge(Context& c) {
  bool filtered = false;
  auto query = make_query(c, &filtered);
  if (!query) return std::unexpected(query.error());
  std::optional<TimePoint> completed_before;
  if (c.o.completed_before_given) {
    auto t = parse_time(c.o.completed_before, c.now);
    if (!t) return failure(kExitUsage, "--completed-before: " + t.error().message);
    completed_before = *t;
    filtered = true;
  }
  std::optional<std::uint64_t> limit;
  if (c.o.purge_limit_given) {
    auto n = count_flag("--limit", c.o.purge_limit, std::numeric_limits<std::int64_t>::max());
    if (!n) return std::unexpected(n.error());
    limit = *n;
  }
  if (!filtered) {
    return failure(kExitUsage,
                   "purge needs a filter: --status, --name, --older-than, "
                   "--newer-than, --completed-before or --parent");
  }
  if (query->statuses.empty()) {
    query->statuses = {InstanceStatus::kCompleted, InstanceStatus::kFailed,
                       InstanceStatus::kCancelled, InstanceStatus::kTerminated};
  }
  query->limit = kPurgePage;
  query->after.clear();

  auto opened = open_unless_dry_run(c);
  if (!opened) return std::unexpected(opened.error());
  Store& store = opened->store();
  StoreWriter* writer = opened->writer.get();

  std::vector<InstanceId> matched, deleted;
  std::vector<std::pair<InstanceId, std::string>> refused;
  std::uint64_t events = 0;
  std::uint64_t taken = 0;     // matches handed to the store (or listed, with --dry-run)
  bool limit_reached = false;  // --limit stopped the run before every match was taken
  for (;;) {
    auto page = store.list_instances(*query);
    if (!page) return failure(page.error());
    std::vector<InstanceId> batch;
    for (const auto& i : page->instances) {
      if (completed_before && !(i.completed_at && *i.completed_at < *completed_before)) continue;
      if (limit && taken == *limit) {
        limit_reached = true;
        break;
      }
      matched.push_back(i.id);
      if (!c.o.force && !is_terminal(i.status)) {
        refused.emplace_back(i.id, "it is " + std::string(to_string(i.status)));
        continue;
      }
      if (c.o.dry_run && !c.o.force && !c.o.no_cascade) {  // the store checks a real run
        auto blocker = unfinished_descendant(store, i.id);
        if (!blocker) return std::unexpected(blocker.error());
        if (*blocker) {
          refused.emplace_back(i.id, **blocker);
          continue;
        }
      }
      batch.push_back(i.id);
      ++taken;
    }
    if (!c.o.dry_run && !batch.empty()) {
      std::vector<std::function<void(Callback<DeleteSummary>)>> writes;
      for (const auto& id : batch) writes.push_back(delete_write(writer->store(), id, c.o));
      auto results = writer->run<DeleteSummary>(std::move(writes));
      if (!results) {
        auto f = results.error();
        const std::string nothing = "; nothing was written";
        auto at = f.message.rfind(nothing);
        if (!deleted.empty() && at != std::string::npos) {  // earlier pages were committed
          f.message.replace(at, nothing.size(),
                            "; this page was not written, but " +
                                plural(deleted.size(), "instance was", "instances were") +
                                " deleted before it: run purge again for the rest");
        }
        return std::unexpected(f);
      }
      for (std::size_t k = 0; k < batch.size(); ++k) {
        auto& r = (*results)[k];
        if (r) {
          deleted.insert(deleted.end(), r->deleted.begin(), r->deleted.end());
          events += r->events;
        } else if (r.error().code == ErrorCode::kFailedPrecondition) {
          refused.emplace_back(batch[k], r.error().message);
        } else if (r.error().code != ErrorCode::kNotFound) {  // gone with its parent
          return failure(r.error());
        }
      }
    }
    if (limit_reached || !page->next) break;
    query->after = *page->next;
  }
  int code = refused.empty() ? kExitOk : kExitRefused;
  if (c.o.json) {
    Json refusals = Json::array();
    for (const auto& [id, why] : refused) refusals.push_back(Json{{"id", id}, {"reason", why}});
    c.print(Json{{"dry_run", c.o.dry_run},
                 {"matched", matched},
                 {"deleted", deleted},
                 {"events", events},
                 {"refused", std::move(refusals)},
                 {"limit_reached", limit_reached}});
    return code;
  }
  if (c.o.dry_run) {
    c.out << "would delete " << plural(matched.size() - refused.size(), "instance", "instances")
          << (c.o.no_cascade ? "" : " (and their sub-orchestrations)");
    for (const auto& id : matched) {
      bool skipped =
          std::any_of(refused.begin(), refused.end(), [&](const auto& r) { return r.first == id; });
      if (!skipped) c.out << "\n  " << id;
    }
    c.out << '\n';
  } else {
    c.out << "deleted " << plural(deleted.size(), "instance", "instances") << ": "
          << plural(events, "history event", "history events") << '\n';
  }
  if (limit_reached) {
    c.out << "stopped at --limit " << *limit << ": more instances match; run purge again for "
          << "the next ones\n";
  }
  if (!refused.empty()) {
    c.out << "refused " << refused.size() << " (not finished; --force deletes them):\n";
    for (const auto& [id, why] : refused) c.out << "  " << id << ": " << why << '\n';
  }
  return code;
}

// ---- prune ----

// "3" or "1-3".
std::string execution_range(ExecutionId first, ExecutionId last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

Checked<int> prune(Context& c) {
  auto keep = count_flag("--keep", c.o.keep, std::numeric_limits<std::uint32_t>::max());
  if (!keep) return std::unexpected(keep.error());
  auto keep_last = static_cast<std::uint32_t>(*keep);

  auto opened = open_unless_dry_run(c);
  if (!opened) return std::unexpected(opened.error());
  Store& store = opened->store();
  StoreWriter* writer = opened->writer.get();
  auto executions = store.read_executions(c.o.id);
  if (!executions) return failure(executions.error());
  const ExecutionId current = executions->empty() ? 0 : executions->back().execution;

  // What goes: the executions before the last keep_last (the store decides for a real run).
  PruneSummary summary;
  summary.oldest_kept = executions->empty() ? 0 : executions->front().execution;
  if (c.o.dry_run) {
    for (const auto& x : *executions) {
      if (current - x.execution < keep_last) break;
      if (summary.executions++ == 0) summary.first_pruned = x.execution;
      summary.events += x.event_count;
      summary.oldest_kept = x.execution + 1;
    }
  } else {
    auto pruned = writer->run_one<PruneSummary>([&](Callback<PruneSummary> done) {
      writer->store().prune_executions_async(c.o.id, keep_last, std::move(done));
    });
    if (!pruned) return std::unexpected(pruned.error());
    summary = *pruned;
  }

  if (c.o.json) {
    c.print(Json{{"instance", c.o.id},
                 {"dry_run", c.o.dry_run},
                 {"keep", keep_last},
                 {"pruned", summary.executions == 0 ? Json()
                                                    : Json{{"first", summary.first_pruned},
                                                           {"last", summary.oldest_kept - 1}}},
                 {"executions", summary.executions},
                 {"events", summary.events},
                 {"oldest_kept", summary.oldest_kept},
                 {"current", current}});
    return kExitOk;
  }
  if (summary.executions == 0) {
    c.out << "nothing to prune: " << c.o.id;
    if (current == 0) {
      c.out << " has not started an execution yet\n";
    } else if (current == 1) {
      c.out << " has one execution (it never continued as new)\n";
    } else if (summary.oldest_kept == current) {
      c.out << " keeps only execution " << current << ", within --keep " << keep_last << '\n';
    } else {
      c.out << " keeps executions " << execution_range(summary.oldest_kept, current)
            << ", within --keep " << keep_last << '\n';
    }
    return kExitOk;
  }
  c.out << (c.o.dry_run ? "would prune executions " : "pruned executions ")
        << execution_range(summary.first_pruned, summary.oldest_kept - 1) << " of " << c.o.id
        << ": " << plural(summary.events, "history event", "history events") << "; kept "
        << execution_range(summary.oldest_kept, current) << '\n';
  return kExitOk;
}

// ---- queues, stats ----

Checked<int> queues(Context& c) {
  auto store = open_reader(c);
  if (!store) return std::unexpected(store.error());
  auto& s = **store;
  auto depths = s.inbox_depths("", 0);
  if (!depths) return failure(depths.error());
  auto work = s.list_work(0, 0);
  if (!work) return failure(work.error());
  auto timers = s.due_timers(TimePoint::max(), 0);
  if (!timers) return failure(timers.error());

  std::uint64_t messages = 0;
  for (const auto& d : *depths) messages += d.messages;
  auto top = *depths;
  std::stable_sort(top.begin(), top.end(),
                   [](const auto& a, const auto& b) { return a.messages > b.messages; });
  if (top.size() > c.o.top) top.resize(c.o.top);
  struct Activity {
    std::uint64_t items = 0;
    TimePoint oldest = TimePoint::max();
  };
  std::map<std::string, Activity> activities;
  for (const auto& w : *work) {
    auto& a = activities[w.activity];
    ++a.items;
    a.oldest = std::min(a.oldest, w.created_at);
  }
  auto due = std::count_if(timers->begin(), timers->end(),
                           [&](const TimerEntry& t) { return t.key.fire_at <= c.now; });

  if (c.o.json) {
    Json top_json = Json::array(), activity_json = Json::array();
    for (const auto& d : top) {
      top_json.push_back(
          Json{{"instance", d.instance}, {"messages", d.messages}, {"oldest", iso_time(d.oldest)}});
    }
    for (const auto& [name, a] : activities) {
      activity_json.push_back(
          Json{{"activity", name}, {"items", a.items}, {"oldest", iso_time(a.oldest)}});
    }
    c.print(
        Json{{"inbox", {{"instances", depths->size()}, {"messages", messages}, {"top", top_json}}},
             {"work", {{"items", work->size()}, {"activities", activity_json}}},
             {"timers",
              {{"timers", timers->size()},
               {"due", due},
               {"earliest", timers->empty() ? Json() : timer_json(timers->front())}}}});
    return kExitOk;
  }
  c.out << "Inboxes: " << plural(messages, "message", "messages") << " in "
        << plural(depths->size(), "instance", "instances") << '\n';
  if (!top.empty()) {
    Table table({"INSTANCE", "MESSAGES", "OLDEST"});
    for (const auto& d : top) {
      table.add({d.instance, std::to_string(d.messages), time_and_age(d.oldest, c.now)});
    }
    table.print(c.out, "  ");
  }
  c.out << "Work items: " << work->size() << '\n';
  if (!activities.empty()) {
    Table table({"ACTIVITY", "ITEMS", "OLDEST"});
    for (const auto& [name, a] : activities) {
      table.add({name, std::to_string(a.items), time_and_age(a.oldest, c.now)});
    }
    table.print(c.out, "  ");
  }
  c.out << "Timers: " << timers->size() << ", " << due << " due now";
  if (!timers->empty()) {
    const auto& t = timers->front();
    c.out << "; earliest " << time_and_age(t.key.fire_at, c.now) << " for " << t.instance << "/"
          << t.execution << "#" << t.scheduled_id;
  }
  c.out << '\n';
  return kExitOk;
}

Checked<int> stats(Context& c) {
  auto store = open_reader(c);
  if (!store) return std::unexpected(store.error());
  auto s = (*store)->stats();
  if (!s) return failure(s.error());
  Json by_status;
  for (std::size_t i = 0; i < s->instances_by_status.size(); ++i) {
    by_status[std::string(to_string(static_cast<InstanceStatus>(i)))] = s->instances_by_status[i];
  }
  if (c.o.json) {
    c.print(Json{{"path", s->path},
                 {"file_bytes", s->file_bytes},
                 {"map_size", s->map_size},
                 {"map_used", s->used_bytes},
                 {"page_size", s->page_size},
                 {"readers", s->readers},
                 {"max_readers", s->max_readers},
                 {"last_commit", s->last_commit},
                 {"instances", s->instances},
                 {"instances_by_status", by_status},
                 {"executions", s->executions},
                 {"history_events", s->history_events},
                 {"journal_records", s->journal_records},
                 {"inbox_messages", s->inbox_messages},
                 {"work_items", s->work_items},
                 {"timers", s->timers},
                 {"subscriptions", s->subscriptions}});
    return kExitOk;
  }
  std::string statuses;
  for (auto it = by_status.begin(); it != by_status.end(); ++it) {
    statuses += (statuses.empty() ? "" : ", ") + it.key() + " " + it.value().dump();
  }
  char percent[16];
  std::snprintf(percent, sizeof percent, "%.1f%%",
                s->map_size == 0 ? 0.0
                                 : 100.0 * static_cast<double>(s->used_bytes) /
                                       static_cast<double>(s->map_size));
  Table table({"Store", s->path});
  table.add({"File size", format_bytes(s->file_bytes) + " (data.mdb)"});
  table.add({"Map size", format_bytes(s->map_size)});
  table.add({"Map used", format_bytes(s->used_bytes) + " (" + percent + ")"});
  table.add({"Page size", std::to_string(s->page_size) + " bytes"});
  table.add({"Readers", std::to_string(s->readers) + " of " + std::to_string(s->max_readers) +
                            " reader slots in use"});
  table.add({"Last commit", "transaction " + std::to_string(s->last_commit)});
  table.add({"Instances", std::to_string(s->instances) + " (" + statuses + ")"});
  table.add({"Executions", std::to_string(s->executions)});
  table.add({"History events", std::to_string(s->history_events) + " (" +
                                   plural(s->journal_records, "turn", "turns") +
                                   " in the journal, not yet compacted)"});
  table.add({"Inbox messages", std::to_string(s->inbox_messages)});
  table.add({"Work items", std::to_string(s->work_items)});
  table.add({"Timers", std::to_string(s->timers)});
  table.add({"Subscriptions", std::to_string(s->subscriptions)});
  table.print(c.out);
  return kExitOk;
}

// ---- export, import ----

Checked<int> export_instance(Context& c) {
  auto store = open_reader(c);
  if (!store) return std::unexpected(store.error());
  auto image = (*store)->export_instance(c.o.id);
  if (!image) return failure(image.error());
  auto document = export_document(*image, c.o.store, c.now).dump(2) + "\n";
  if (c.o.file.empty() || c.o.file == "-") {
    c.out << document;
    return kExitOk;
  }
  // Written beside the target and renamed over it, so a reader never sees half a file.
  auto partial = c.o.file + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << document;
    file.flush();
    if (!file) {
      std::remove(partial.c_str());
      return failure(kExitFailed, "cannot write " + c.o.file + ": " + std::strerror(errno));
    }
  }
  if (std::rename(partial.c_str(), c.o.file.c_str()) != 0) {
    std::remove(partial.c_str());
    return failure(kExitFailed, "cannot write " + c.o.file + ": " + std::strerror(errno));
  }
  std::uint64_t events = 0;
  for (const auto& x : image->executions) events += x.events.size();
  if (c.o.json) {
    c.print(Json{{"instance", c.o.id},
                 {"file", c.o.file},
                 {"executions", image->executions.size()},
                 {"events", events}});
  } else {
    c.out << "exported " << c.o.id << " to " << c.o.file << ": "
          << plural(image->executions.size(), "execution", "executions") << ", "
          << plural(events, "history event", "history events") << '\n';
  }
  return kExitOk;
}

// The image as a copy under `id`: detached from its parent (it must not report to the
// original's parent, which waits for the original), in its record and in the history and
// messages that name the parent.
void rename(InstanceImage& image, const InstanceId& id) {
  image.info.id = id;
  image.info.parent.reset();
  for (auto& x : image.executions) {
    if (x.events.empty()) continue;
    if (auto* started = std::get_if<event::ExecutionStarted>(&x.events.front().body)) {
      started->parent.reset();
    }
  }
  for (auto& m : image.inbox) {
    if (auto* start = std::get_if<message::Start>(&m.message)) start->parent.reset();
  }
}

Checked<int> import_instance(Context& c) {
  auto text = read_input(c.o.file, "export file");
  if (!text) return std::unexpected(text.error());
  auto document = parse_json(*text, c.o.file);
  if (!document) return std::unexpected(document.error());
  auto image = read_export_document(*document);
  if (!image) {
    return failure(kExitUsage, "cannot import " + c.o.file + ": " + image.error().message);
  }
  auto original = image->info.id;
  if (!c.o.as.empty() && c.o.as != original) {
    if (auto ok = validate_instance_id(c.o.as); !ok) {
      return failure(kExitUsage, "--as: " + ok.error().message);
    }
    rename(*image, c.o.as);
  }
  auto id = image->info.id;
  auto writer = open_writer(c, c.o.create_store);
  if (!writer) return std::unexpected(writer.error());
  auto& store = (*writer)->store();
  auto events = (*writer)->run_one<std::uint64_t>([&](Callback<std::uint64_t> done) {
    store.import_instance_async(std::move(*image), std::move(done));
  });
  if (!events) return std::unexpected(events.error());
  if (c.o.json) {
    c.print(Json{{"instance", id}, {"from", original}, {"events", *events}});
  } else {
    c.out << "imported " << original << (id == original ? "" : " as " + id) << " into " << c.o.store
          << ": " << plural(*events, "history event", "history events") << '\n';
  }
  return kExitOk;
}

// ---- the command line ----

void add_filters(CLI::App* command, Options& o) {
  command
      ->add_option("--status", o.statuses,
                   "only these statuses (pending, running, completed, failed, cancelled, "
                   "terminated, paused); "
                   "repeat or separate with commas")
      ->delimiter(',');
  command->add_option("--name", o.name, "only this orchestration");
  command->add_option("--older-than", o.older_than,
                      "only instances created longer ago (30s, 10m, 2h, 7d)");
  command->add_option("--newer-than", o.newer_than, "only instances created more recently");
  command->add_option("--parent", o.parent, "only sub-orchestrations of this instance");
}

void add_id(CLI::App* command, Options& o) {
  command->add_option("id", o.id, "the instance id")->required();
}

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options o;
  Command command = nullptr;
  CLI::App app{"duractor: inspect and repair a duractor store, also while a runtime uses it",
               "duractor"};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("duractor ") + version());
  app.add_option("-s,--store", o.store, "the store directory")->envname("DURACTOR_STORE");
  app.add_flag("--json", o.json, "print one JSON document (field names in docs/cli.md)");
  app.add_option("--lock-timeout", o.lock_timeout,
                 "how long a write waits for another process's writer lock (30s, 2m, ...)")
      ->capture_default_str();
  app.add_flag("--wide", o.wide, "do not cut long payloads and details in text output");

  auto* list_cmd = app.add_subcommand("list", "list instances, filtered and paged by id");
  add_filters(list_cmd, o);
  list_cmd->add_option("--limit", o.limit, "at most this many (0: all)")->capture_default_str();
  list_cmd->add_option("--after", o.after, "start after this id (the previous page's last)");
  list_cmd->callback([&] { command = list; });

  auto* show_cmd = app.add_subcommand(
      "show", "an instance: status, executions, input, output or failure, inbox");
  add_id(show_cmd, o);
  show_cmd->callback([&] { command = show; });

  auto* history_cmd = app.add_subcommand("history", "an instance's history, as a table or JSON");
  add_id(history_cmd, o);
  auto* execution_flag =
      history_cmd->add_option("--execution", o.execution, "this execution (default: the latest)");
  history_cmd->add_flag("--all", o.all_executions, "every execution")->excludes(execution_flag);
  history_cmd->callback([&] { command = history; });

  auto* raise_cmd = app.add_subcommand("raise", "raise an event at an instance");
  add_id(raise_cmd, o);
  raise_cmd->add_option("event", o.event, "the event name")->required();
  raise_cmd->add_option("payload", o.payload, "the payload as JSON (default: null)");
  raise_cmd->add_option("--payload-file", o.payload_file,
                        "read the payload's JSON from a file (- for stdin)");
  raise_cmd->callback([&] { command = raise; });

  auto* cancel_cmd = app.add_subcommand(
      "cancel", "ask an instance to stop (cooperatively, or at once with --terminate)");
  add_id(cancel_cmd, o);
  cancel_cmd->add_option("--reason", o.reason, "why")->capture_default_str();
  cancel_cmd->add_flag("--terminate", o.terminate,
                       "end it at once, without letting its code compensate");
  cancel_cmd->callback([&] { command = cancel; });

  auto* pause_cmd = app.add_subcommand(
      "pause", "pause an instance: it takes no turns, what arrives waits, until resumed");
  add_id(pause_cmd, o);
  pause_cmd->add_option("--reason", o.pause_reason, "why")->capture_default_str();
  pause_cmd->callback([&] { command = pause; });

  auto* resume_cmd =
      app.add_subcommand("resume", "resume a paused instance: what waited is taken in its order");
  add_id(resume_cmd, o);
  resume_cmd->callback([&] { command = resume; });

  auto* delete_cmd = app.add_subcommand("delete", "delete an instance and its sub-orchestrations");
  add_id(delete_cmd, o);
  delete_cmd->add_flag("--force", o.force,
                       "also when it (or a sub-orchestration) has not finished");
  delete_cmd->add_flag("--no-cascade", o.no_cascade, "keep its sub-orchestrations");
  delete_cmd->callback([&] { command = remove; });

  auto* purge_cmd = app.add_subcommand(
      "purge",
      "delete the instances a filter matches (finished ones, unless --status says otherwise)");
  add_filters(purge_cmd, o);
  purge_cmd->add_flag("--force", o.force, "also those that have not finished");
  purge_cmd->add_flag("--no-cascade", o.no_cascade, "keep their sub-orchestrations");
  auto* completed_before_flag =
      purge_cmd
          ->add_option("--completed-before", o.completed_before,
                       "only instances that finished before this time (2026-11-26T10:00:00Z, "
                       "2026-11-26, or a duration ago: 7d)")
          ->type_name("TIME");
  auto* purge_limit_flag = purge_cmd
                               ->add_option("--limit", o.purge_limit,
                                            "delete at most this many matches in this run (their "
                                            "sub-orchestrations not counted)")
                               ->type_name("N");
  purge_cmd->add_flag("--dry-run", o.dry_run, "only list what would be deleted");
  purge_cmd->callback([&] {
    o.completed_before_given = completed_before_flag->count() > 0;
    o.purge_limit_given = purge_limit_flag->count() > 0;
    command = purge;
  });

  auto* prune_cmd = app.add_subcommand(
      "prune",
      "delete the old executions of an instance that continues as new, keeping the last N");
  add_id(prune_cmd, o);
  prune_cmd->add_option("--keep", o.keep, "keep this many executions, the current one included")
      ->type_name("N")
      ->required();
  prune_cmd->add_flag("--dry-run", o.dry_run, "only say what would be pruned");
  prune_cmd->callback([&] { command = prune; });

  auto* queues_cmd =
      app.add_subcommand("queues", "queue depths: inbox messages, activity work items, timers");
  queues_cmd->add_option("--top", o.top, "list this many of the fullest inboxes")
      ->capture_default_str();
  queues_cmd->callback([&] { command = queues; });

  auto* stats_cmd = app.add_subcommand("stats", "store statistics: size, map use, counts");
  stats_cmd->callback([&] { command = stats; });

  auto* export_cmd = app.add_subcommand("export", "write an instance's whole state to a JSON file");
  add_id(export_cmd, o);
  export_cmd->add_option("-o,--output", o.file, "the file (default: standard output)");
  export_cmd->callback([&] { command = export_instance; });

  auto* import_cmd = app.add_subcommand("import", "create an instance from an export file");
  import_cmd->add_option("file", o.file, "the export file (- for stdin)")->required();
  import_cmd->add_option("--as", o.as, "under this id instead, detached from its parent");
  import_cmd->add_flag("--create-store", o.create_store, "create the store if it does not exist");
  import_cmd->callback([&] { command = import_instance; });

  auto report = [&](const Failure& f) {
    if (o.json) {
      err << Json{{"error", {{"exit_code", f.exit_code}, {"message", f.message}}}}.dump() << '\n';
    } else {
      err << "duractor: " << f.message << '\n';
    }
    return f.exit_code;
  };
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11's order
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, out, err);  // --help, --version
    return report(Failure{kExitUsage, std::string(e.what()) + " (see duractor --help)"});
  }
  if (auto timeout = lock_timeout(o); !timeout) return report(timeout.error());  // also for reads
  Context context{o, out, SystemClock::instance().now()};
  auto code = command(context);
  if (!code) return report(code.error());
  return *code;
}

}  // namespace duractor::cli
