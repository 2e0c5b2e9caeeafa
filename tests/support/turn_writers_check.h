#pragma once
// The checks of the store's crash and power-loss tests (tests/support/turn_writers.h):
// after the writers' process died, the store opens, holds every acknowledged turn, and
// shows no half turn. Uses doctest assertions.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace duractor::testing {

// The highest acknowledged turn per writer, from the lines the writers reported.
struct AcknowledgedTurns {
  std::map<int, std::uint64_t> turns;
  // Adds the acknowledgements among `lines` (REQUIREs that none reports an error); returns
  // how many there were.
  std::size_t add(const std::vector<std::string>& lines);
  std::uint64_t total() const;
};

// Opens the store at `path` and checks that each writer's history is whole turns with ids
// 1..n, that its work items, timers, sink messages and custom status match its turn count,
// and that no acknowledged turn is missing. Returns the committed turns per writer; adds
// the sink messages that arrived twice to `*duplicated`, if given.
std::map<int, std::uint64_t> check_turn_store(const std::string& path,
                                              const AcknowledgedTurns& acked,
                                              std::uint64_t* duplicated = nullptr);

}  // namespace duractor::testing
