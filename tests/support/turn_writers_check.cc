#include "tests/support/turn_writers_check.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "tests/support/turn_writers.h"

namespace duractor::testing {

std::size_t AcknowledgedTurns::add(const std::vector<std::string>& lines) {
  std::size_t added = 0;
  for (const auto& line : lines) {
    if (line == "opened") continue;
    REQUIRE_MESSAGE(line.rfind("error", 0) != 0, line);
    REQUIRE_MESSAGE(line.rfind("open-failed", 0) != 0, line);
    std::istringstream in(line);
    int w = -1;
    std::uint64_t k = 0;
    in >> w >> k;
    REQUIRE_MESSAGE((w >= 0 && w < kTurnWriters && k > 0), "unexpected line: " << line);
    turns[w] = std::max(turns[w], k);
    ++added;
  }
  return added;
}

std::uint64_t AcknowledgedTurns::total() const {
  std::uint64_t n = 0;
  for (auto [w, k] : turns) n += k;
  return n;
}

std::map<int, std::uint64_t> check_turn_store(const std::string& path,
                                              const AcknowledgedTurns& acked,
                                              std::uint64_t* duplicated) {
  std::map<int, std::uint64_t> committed;
  auto store = open_turn_store(path);
  REQUIRE_MESSAGE(store, (store ? "" : store.error().to_string()));
  auto& s = **store;
  std::map<int, std::uint64_t> sink_ticks;
  if (s.read_instance("sink")) {
    auto inbox = s.read_inbox("sink");
    REQUIRE(inbox);
    for (const auto& m : *inbox) {
      if (auto* e = std::get_if<message::Event>(&m.message)) {
        auto text = *decode<std::string>(e->payload);
        auto colon = text.find(':');
        int w = std::stoi(text.substr(0, colon));
        auto k = std::stoull(text.substr(colon + 1));
        CHECK(k == sink_ticks[w] + 1);  // in order, no gaps, no duplicates
        if (k <= sink_ticks[w] && duplicated != nullptr) ++*duplicated;
        sink_ticks[w] = std::max<std::uint64_t>(sink_ticks[w], k);
      }
    }
  }
  std::map<InstanceId, std::size_t> work_per_writer, timers_per_writer;
  auto work = s.list_work(0, 0);
  auto timers = s.due_timers(TimePoint::max(), 0);
  REQUIRE(work);
  REQUIRE(timers);
  for (const auto& item : *work) ++work_per_writer[item.instance];
  for (const auto& t : *timers) ++timers_per_writer[t.instance];

  for (int w = 0; w < kTurnWriters; ++w) {
    auto id = turn_writer_id(w);
    auto info = s.read_instance(id);
    std::uint64_t turns = 0;
    if (info && info->execution == 1) {
      auto h = s.read_history(id, 1);
      REQUIRE(h);
      REQUIRE(h->size() % 2 == 1);  // ExecutionStarted + two events per turn: no half turn
      turns = (h->size() - 1) / 2;
      for (std::size_t i = 0; i < h->size(); ++i) REQUIRE((*h)[i].id == i + 1);
      CHECK(work_per_writer[id] == turns);
      CHECK(timers_per_writer[id] == turns);
      CHECK(sink_ticks[w] == turns);
      CHECK(info->custom_status == (turns == 0 ? "" : std::to_string(turns)));
      CHECK(s.read_executions(id)->front().event_count == h->size());
    }
    auto a = acked.turns.find(w);
    if (a != acked.turns.end()) {
      CHECK_MESSAGE(turns >= a->second,
                    id << ": " << a->second << " turns acknowledged, " << turns << " in the store");
    }
    committed[w] = turns;
  }
  return committed;
}

}  // namespace duractor::testing
