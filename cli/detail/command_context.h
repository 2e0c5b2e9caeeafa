#pragma once
// What the CLI's commands share: the parsed options, the context a command runs in, and
// the helpers several commands use. cli/commands.cc wires the commands to the command line
// (run); their bodies are in read_commands.cc (list, show, history, queues, stats, export)
// and write_commands.cc (raise, cancel, pause, resume, delete, purge, prune, import, rewind,
// fork).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "duractor/cli/json_view.h"
#include "duractor/cli/store_access.h"
#include "duractor/runtime/limits.h"

namespace duractor::cli::detail {

// Payloads over this size are refused by `raise` (the runtime's default
// HostOptions::max_payload_bytes).
constexpr std::size_t kMaxPayloadBytes = kDefaultMaxPayloadBytes;
// Instances deleted per group commit by `purge`.
constexpr std::size_t kPurgePage = 500;
// Payloads and details are cut at this width in text output, unless --wide.
constexpr std::size_t kTextWidth = 100;

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
  // fork: the step (flag text) and the new instance's id.
  std::string at;
  std::string into;
  // queues, export, import.
  std::size_t top = 10;
  std::string file;
  std::string as;
  bool create_store = false;
  // serve.
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080;
  bool anonymous_reads = false;
  bool allow_remote = false;
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

// ---- helpers (commands.cc) ----

std::string cut(std::string text, std::size_t width);
std::string plural(std::uint64_t n, const std::string& one, const std::string& many);
Checked<Milliseconds> duration_flag(const std::string& flag, const std::string& text);
// A count flag that must be a whole number of at least 1 (and fit `max`).
Checked<std::uint64_t> count_flag(const std::string& flag, const std::string& text,
                                  std::uint64_t max);
// The instance filters of list and purge. `filtered` tells whether any was given.
Checked<InstanceQuery> make_query(const Context& c, bool* filtered = nullptr);
Checked<std::string> read_input(const std::string& path, const std::string& what);
// Parses JSON text; a syntax error names where it is.
Checked<Json> parse_json(const std::string& text, const std::string& what);
Checked<Milliseconds> lock_timeout(const Options& o);
Checked<std::unique_ptr<StoreWriter>> open_writer(const Context& c, bool create = false);
Checked<std::unique_ptr<LmdbStore>> open_reader(const Context& c);

// The store of a command that writes, or only says what it would write with --dry-run:
// open for writing, or read-only for a dry run.
struct WriterOrReader {
  std::unique_ptr<StoreWriter> writer;  // unset for a dry run
  std::unique_ptr<LmdbStore> reader;
  Store& store() { return writer ? static_cast<Store&>(writer->store()) : *reader; }
};
Checked<WriterOrReader> open_unless_dry_run(const Context& c);

// ---- the commands: each returns its exit code ----

Checked<int> list(Context& c);
Checked<int> show(Context& c);
Checked<int> history(Context& c);
Checked<int> queues(Context& c);
Checked<int> stats(Context& c);
Checked<int> export_instance(Context& c);
Checked<int> raise(Context& c);
Checked<int> cancel(Context& c);
Checked<int> pause(Context& c);
Checked<int> resume(Context& c);
Checked<int> remove(Context& c);
Checked<int> purge(Context& c);
Checked<int> prune(Context& c);
Checked<int> import_instance(Context& c);
Checked<int> rewind(Context& c);
Checked<int> fork(Context& c);
// serve.cc
Checked<int> serve(Context& c);

}  // namespace duractor::cli::detail
