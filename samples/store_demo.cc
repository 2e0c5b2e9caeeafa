// store_demo: what duractor's durable store keeps for one orchestration instance, shown by
// driving the store by hand the way the runtime does: create an instance, commit its turns
// (each turn is one atomic, synced commit), read the history back, and list the instances.
// Run it twice: the second run finds the first run's instance on disk.
//
//   store_demo [store-directory]      (default: ./duractor-demo-store)

#include <cstdio>
#include <string>

#include "duractor/duractor.h"

using namespace duractor;
using namespace std::chrono_literals;

namespace {

int die(const Error& e) {
  std::fprintf(stderr, "store_demo: %s\n", e.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  LmdbOptions options;
  options.path = argc > 1 ? argv[1] : "duractor-demo-store";
  auto opened = LmdbStore::open(options);
  if (!opened) return die(opened.error());
  Store& store = **opened;
  auto now = SystemClock::instance().now();

  // A new instance each run: "greeting-1", "greeting-2", ...
  auto existing = store.list_instances(InstanceQuery{.name = "Greeting", .limit = 0});
  if (!existing) return die(existing.error());
  InstanceId id = "greeting-" + std::to_string(existing->instances.size() + 1);

  NewInstance request;
  request.id = id;
  request.name = "Greeting";
  request.version = 1;
  request.input = encode(std::string("Ada"));
  if (auto r = store.create_instance(request); !r) return die(r.error());
  std::printf("created %s (its Start message waits in the inbox)\n", id.c_str());

  // Turn 1: consume the Start message, start execution 1, schedule an activity.
  auto lock = store.lock_instance(id, 30s);
  if (!lock) return die(lock.error());
  auto inbox = store.read_inbox(id);
  if (!inbox) return die(inbox.error());
  TurnCommit first;
  first.lock = *lock;
  first.execution = 1;
  first.consumed = {inbox->front().seq};
  first.events = {
      HistoryEvent{1, now, event::ExecutionStarted{"Greeting", 1, request.input, {}, {}}},
      HistoryEvent{2, now, event::ActivityScheduled{"Greet", request.input, 1}}};
  first.work = {NewWorkItem{2, "Greet", request.input, 1}};
  first.update.status = InstanceStatus::kRunning;
  auto committed = store.commit_turn(first);
  if (!committed) return die(committed.error());
  std::printf("turn 1 committed: execution started, activity Greet scheduled (work item %llu)\n",
              static_cast<unsigned long long>(committed->work.front().id));

  // An activity worker takes the work item and completes it into the inbox.
  auto work = store.take_work(1, 30s);
  if (!work || work->empty())
    return die(work ? Error::make(ErrorCode::kInternal, "no work") : work.error());
  auto greeting = "Hello, " + *decode<std::string>(work->front().item.input) + "!";
  if (auto r = store.complete_work(work->front().lease,
                                   message::ActivityResult{0, 0, encode(greeting), std::nullopt});
      !r) {
    return die(r.error());
  }
  std::printf("activity completed: its result is durable in the inbox\n");

  // Turn 2: consume the result and complete the instance.
  inbox = store.read_inbox(id);
  if (!inbox) return die(inbox.error());
  TurnCommit second;
  second.lock = *lock;
  second.execution = 1;
  second.consumed = {inbox->front().seq};
  second.events = {HistoryEvent{3, now, event::ActivityCompleted{2, encode(greeting)}},
                   HistoryEvent{4, now, event::ExecutionCompleted{encode(greeting)}}};
  second.update.status = InstanceStatus::kCompleted;
  second.update.output = encode(greeting);
  if (auto r = store.commit_turn(second); !r) return die(r.error());
  store.unlock_instance(*lock);

  auto history = store.read_history(id, 1);
  if (!history) return die(history.error());
  std::printf("\nhistory of %s:\n", id.c_str());
  for (const auto& e : *history) std::printf("  %s\n", describe(e).c_str());

  auto all = store.list_instances(InstanceQuery{.limit = 0});
  if (!all) return die(all.error());
  std::printf("\ninstances in %s:\n", options.path.c_str());
  for (const auto& i : all->instances) {
    std::printf("  %-14s %-10s %s\n", i.id.c_str(), std::string(to_string(i.status)).c_str(),
                i.output.empty() ? "" : describe_payload(i.output).c_str());
  }
  auto stats = store.stats();
  if (!stats) return die(stats.error());
  std::printf("\nstore: %llu instances, %llu history events, %llu KiB used of a %llu KiB map\n",
              static_cast<unsigned long long>(stats->instances),
              static_cast<unsigned long long>(stats->history_events),
              static_cast<unsigned long long>(stats->used_bytes / 1024),
              static_cast<unsigned long long>(stats->map_size / 1024));
  return 0;
}
