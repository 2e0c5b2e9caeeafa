// The commands that only read the store: list, show, history, queues, stats, export.

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

// ---- list ----

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
  if (info->forked_from) {
    fields.add({"Forked from", info->forked_from->instance + "/" +
                                   std::to_string(info->forked_from->execution) + " at step " +
                                   std::to_string(info->forked_from->step)});
  }
  fields.add({"Input", cut(view["input"].dump(), c.width())});
  if (info->status == InstanceStatus::kCompleted) {
    fields.add({"Output", cut(view["output"].dump(), c.width())});
  }
  if (info->failure) {
    fields.add({"Failure", cut(std::string(to_string(info->failure->category)) + " " +
                                   info->failure->type + ": " + info->failure->message,
                               c.width())});
    fields.add({"Failure kind", std::string(to_string(info->failure->kind))});
    if (!info->failure->causes.empty()) {
      fields.add({"Caused by", cut(describe_causes(info->failure->causes), c.width())});
    }
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
  Json document = stats_json(*s);
  if (c.o.json) {
    c.print(document);
    return kExitOk;
  }
  const auto& by_status = document["instances_by_status"];
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
  table.add(
      {"Message ids", std::to_string(s->message_ids) + " (remembered for idempotent writes)"});
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

namespace {

// The image as a copy under `id`: detached from its parent (it must not report to the
// original's parent, which waits for the original), in its record and in the history and
// messages that name the parent.

}  // namespace

}  // namespace duractor::cli::detail
