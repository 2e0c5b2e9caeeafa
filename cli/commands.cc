// The command line: the option table that wires every command (run), and the helpers the
// commands share (cli/detail/command_context.h).

#include "duractor/cli/commands.h"

#include "duractor/cli/detail/command_context.h"

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
namespace detail {

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
Checked<InstanceQuery> make_query(const Context& c, bool* filtered) {
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
  auto parsed = parse_json_text(text);
  if (!parsed) return failure(kExitUsage, "bad JSON in " + what + ": " + parsed.error());
  return std::move(*parsed);
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

Checked<std::unique_ptr<StoreWriter>> open_writer(const Context& c, bool create) {
  auto timeout = lock_timeout(c.o);
  if (!timeout) return std::unexpected(timeout.error());
  return StoreWriter::open(c.o.store, *timeout, create);
}

Checked<std::unique_ptr<LmdbStore>> open_reader(const Context& c) {
  return open_for_reading(c.o.store);
}

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

}  // namespace detail

namespace {

using namespace detail;

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

  auto* rewind_cmd = app.add_subcommand(
      "rewind",
      "run a failed instance on from the point of failure: what failed runs again, what "
      "succeeded is kept");
  add_id(rewind_cmd, o);
  rewind_cmd->callback([&] { command = rewind; });

  auto* fork_cmd = app.add_subcommand(
      "fork",
      "copy the first K events of an instance's execution into a new instance, which runs "
      "on from there");
  add_id(fork_cmd, o);
  fork_cmd->add_option("--at", o.at, "the step: the new instance replays events 1..K")
      ->type_name("K")
      ->required();
  fork_cmd->add_option("--execution", o.execution, "of this execution (default: the latest)");
  fork_cmd->add_option("--into", o.into, "the new instance's id")->type_name("ID")->required();
  fork_cmd->callback([&] { command = fork; });

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

  auto* serve_cmd = app.add_subcommand(
      "serve",
      "serve the HTTP API (docs/http.md) on this store, without a runtime; the bearer token "
      "comes from $DURACTOR_HTTP_TOKEN");
  serve_cmd->add_option("--bind", o.bind, "the address to listen on (an IP address)")
      ->capture_default_str();
  serve_cmd->add_option("--port", o.port, "the port (0: any free port)")->capture_default_str();
  serve_cmd->add_flag("--allow-remote", o.allow_remote,
                      "allow a --bind outside loopback (plain HTTP: put a TLS proxy in front)");
  serve_cmd->add_flag("--anonymous-reads", o.anonymous_reads,
                      "GET requests without a token (only on a loopback address)");
  serve_cmd->callback([&] { command = serve; });

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
