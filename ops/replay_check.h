#pragma once
// Replay-check: replays recorded histories against the orchestration code a program links
// (its Registry) and reports, per instance, whether the new code would carry them on — the
// check to run in CI, against histories exported from production, before deploying.
//
//   auto report = duractor::replay_check_files(registry, {"exports/"});
//   if (!report) ...                                  // a file could not be read
//   std::cout << report->text();                      // or report->json()
//   return report->ok() ? 0 : 1;
//
// The check is the runtime's own replay (the replay engine's load, as an instance actor
// does on activation): it runs no activities, fires no timers and writes nothing. Each
// execution of an instance (every one of a continue-as-new chain) is replayed on its own.
// Verdicts, for an execution and (its first non-ok execution's) for an instance:
//   ok                the code does what the history recorded, in order. The history may
//                     end with the code waiting (the instance was still running): ok.
//   nondeterministic  the code does something else at an event (another operation, name,
//                     input or order), stops short of a recorded operation or end (a step
//                     removed, or a completed execution the code no longer finishes or
//                     finishes with another output), or issues an operation where the
//                     history has none (a step added). The runtime would fail the instance
//                     at its next reload, so this is reported too.
//   undecodable       the code cannot decode a recorded payload (the orchestration's input
//                     or an operation's result), naming which.
//   unregistered      the registry has no such orchestration name and version.
//   unreplayable      the history itself is unusable here (corrupt, or recorded under
//                     rules this build does not know).
// Thread-safe: the functions share nothing; the registry is only read.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duractor/runtime/registry.h"
#include "duractor/store/store.h"

namespace duractor {

enum class ReplayVerdict { kOk, kNondeterministic, kUndecodable, kUnregistered, kUnreplayable };

// "ok", "nondeterministic", "undecodable", "unregistered", "unreplayable".
std::string_view to_string(ReplayVerdict verdict);

struct ExecutionReplay {
  ExecutionId execution = 0;
  std::string orchestration;  // from its ExecutionStarted
  std::uint32_t version = 0;
  std::size_t events = 0;  // recorded
  ReplayVerdict verdict = ReplayVerdict::kOk;
  // How the recorded execution stands: "running", "completed", "failed", "cancelled",
  // "continued as new" (set when the replay got that far; else empty).
  std::string state;
  // Where it went wrong (0 when ok, or when the problem has no position).
  EventId event = 0;
  // What the history recorded there ("ActivityScheduled 'charge'"; "the history ends at
  // event 8") and what the code does instead ("schedules activity 'reserve'"): set for
  // nondeterministic and undecodable verdicts.
  std::string recorded;
  std::string code;
  std::string message;  // one sentence on what is wrong, empty when ok
};

struct InstanceReplay {
  InstanceId instance;
  std::string source;  // the export file it came from; empty when read from a store
  std::string orchestration;
  std::uint32_t version = 0;
  ReplayVerdict verdict = ReplayVerdict::kOk;  // the first non-ok execution's
  std::vector<ExecutionReplay> executions;     // in order; none for an unstarted instance
  std::string message;                         // the first non-ok execution's, positioned
  bool ok() const { return verdict == ReplayVerdict::kOk; }
};

struct ReplayReport {
  std::vector<InstanceReplay> instances;  // in the order checked
  bool ok() const;                        // every instance ok (true for none)
  std::size_t count(ReplayVerdict verdict) const;
  // A readable report: a summary line, then one line per instance (and per execution of
  // an instance with several). Ends with a newline.
  std::string text() const;
  // The same as one JSON object (pretty-printed), for tools:
  // {"ok", "instances", "counts": {verdict: n}, "results": [{"instance", "source",
  //  "orchestration", "version", "verdict", "message", "executions": [{"execution",
  //  "orchestration", "version", "events", "verdict", "state", "event", "recorded",
  //  "code", "message"}]}]}
  std::string json() const;
};

// Checks one instance (as Store::export_instance or read_export_file give it). Pure.
InstanceReplay replay_check(const Registry& registry, const InstanceImage& image);
// Checks each image, in order. Pure.
ReplayReport replay_check(const Registry& registry, const std::vector<InstanceImage>& images);

// Checks every instance of `store` that `query` matches (all pages; query.after and
// query.limit only set where it starts and the page size). Reads only. Errors: what
// list_instances or export_instance report (an instance deleted meanwhile is skipped).
Result<ReplayReport> replay_check(const Registry& registry, Store& store,
                                  const InstanceQuery& query = {});

// Checks the export files `paths` (written by `duractor export`); a path that is a
// directory stands for the *.json files in it, in name order. Reads only. Errors: the
// first path that cannot be read or is not an export file, named (read_export_file's
// errors), or a directory with no *.json file in it (kNotFound).
Result<ReplayReport> replay_check_files(const Registry& registry,
                                        const std::vector<std::string>& paths);

}  // namespace duractor
