// The commands that write to the store: raise, cancel, pause, resume, delete, purge, prune,
// import, rewind, fork (purge and prune read only, with --dry-run).

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

#include "duractor/cli/format.h"
#include "duractor/cli/transfer.h"

namespace duractor::cli::detail {

// ---- raise, cancel ----

namespace {

// Puts `message` in the inbox of the command's instance, durably; returns its inbox seq.
Checked<std::uint64_t> enqueue(const Context& c, InboxMessage message) {
  auto writer = open_writer(c);
  if (!writer) return std::unexpected(writer.error());
  auto& store = (*writer)->store();
  return (*writer)->run_one<std::uint64_t>([&](Callback<std::uint64_t> done) {
    store.enqueue_async(c.o.id, std::move(message), std::move(done));
  });
}

}  // namespace

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

namespace {

std::function<void(Callback<DeleteSummary>)> delete_write(LmdbStore& store, InstanceId id,
                                                          const Options& o) {
  DeleteOptions options{.cascade = !o.no_cascade, .force = o.force};
  return [&store, id = std::move(id), options](Callback<DeleteSummary> done) {
    store.delete_instance_async(id, options, std::move(done));
  };
}

}  // namespace

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

namespace {

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

}  // namespace

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

namespace {

// "3" or "1-3".
std::string execution_range(ExecutionId first, ExecutionId last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace

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

// ---- import ----

namespace {

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

}  // namespace

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

// ---- rewind, fork ----

namespace {

Json work_json(const std::vector<WorkItem>& work) {
  Json out = Json::array();
  for (const auto& w : work) {
    out.push_back(Json{{"id", w.id},
                       {"activity", w.activity},
                       {"scheduled_id", w.scheduled_id},
                       {"attempt", w.attempt}});
  }
  return out;
}

Json timers_json(const std::vector<TimerEntry>& timers) {
  Json out = Json::array();
  for (const auto& t : timers) {
    out.push_back(Json{{"scheduled_id", t.scheduled_id}, {"fire_at", iso_time(t.key.fire_at)}});
  }
  return out;
}

// "1 activity work item and 2 timers created" / "nothing created".
std::string created(const std::vector<WorkItem>& work, const std::vector<TimerEntry>& timers) {
  if (work.empty() && timers.empty()) return "no work to create";
  std::string text;
  if (!work.empty()) text = plural(work.size(), "activity to run", "activities to run");
  if (!timers.empty()) {
    text += (text.empty() ? "" : " and ") + plural(timers.size(), "timer", "timers");
  }
  return text + " created";
}

std::string ids(const std::vector<InstanceId>& list) {
  std::string text;
  for (const auto& id : list) text += (text.empty() ? "" : ", ") + id;
  return text;
}

}  // namespace

Checked<int> rewind(Context& c) {
  auto writer = open_writer(c);
  if (!writer) return std::unexpected(writer.error());
  auto& store = (*writer)->store();
  auto rewound = (*writer)->run_one<RewindSummary>(
      [&](Callback<RewindSummary> done) { store.rewind_instance_async(c.o.id, std::move(done)); });
  if (!rewound) return std::unexpected(rewound.error());
  const auto& r = *rewound;
  if (c.o.json) {
    c.print(Json{{"instance", c.o.id},
                 {"execution", r.execution},
                 {"kept", r.kept},
                 {"dropped", r.dropped},
                 {"work", work_json(r.work)},
                 {"timers", timers_json(r.timers)},
                 {"rewound", r.rewound},
                 {"woken", r.woken}});
    return kExitOk;
  }
  c.out << "rewound " << c.o.id << " execution " << r.execution << ": kept "
        << plural(r.kept, "event", "events") << ", dropped " << r.dropped << "; "
        << created(r.work, r.timers);
  if (r.rewound.size() > 1) {
    c.out << "; rewound with it: "
          << ids(std::vector<InstanceId>(r.rewound.begin() + 1, r.rewound.end()));
  }
  if (!r.woken.empty()) c.out << "; delivered again to " << ids(r.woken);
  c.out << '\n';
  return kExitOk;
}

Checked<int> fork(Context& c) {
  const auto& at = c.o.at;
  if (at.empty() || at.size() > 19 ||
      !std::all_of(at.begin(), at.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return failure(kExitUsage, "--at " + at + ": expected a step number (an event id, from 1)");
  }
  ForkRequest request{c.o.id, c.o.execution, std::stoull(at), c.o.into};
  auto writer = open_writer(c);
  if (!writer) return std::unexpected(writer.error());
  auto& store = (*writer)->store();
  auto forked = (*writer)->run_one<ForkSummary>(
      [&](Callback<ForkSummary> done) { store.fork_instance_async(request, std::move(done)); });
  if (!forked) return std::unexpected(forked.error());
  const auto& f = *forked;
  if (c.o.json) {
    c.print(Json{{"instance", f.instance},
                 {"forked_from",
                  {{"instance", f.origin.instance},
                   {"execution", f.origin.execution},
                   {"step", f.origin.step}}},
                 {"work", work_json(f.work)},
                 {"timers", timers_json(f.timers)}});
    return kExitOk;
  }
  c.out << "forked " << f.origin.instance << " execution " << f.origin.execution << " at step "
        << f.origin.step << " into " << f.instance << " (events 1-" << f.origin.step << " copied); "
        << created(f.work, f.timers) << '\n';
  return kExitOk;
}

}  // namespace duractor::cli::detail
