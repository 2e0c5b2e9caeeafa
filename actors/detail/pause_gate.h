#pragma once
// The pause gate: which of the messages waiting for an instance its next turn may take,
// given Pause and Resume messages (Client::pause / Client::resume) among them. Pure (no
// CAF, no I/O), so the instance actor stays thin and this can be tested on its own.

#include <cstdint>
#include <string>
#include <vector>

#include "duractor/runtime/inbox_message.h"

namespace duractor {

struct PauseSplit {
  std::vector<InboxEntry> run;         // for the engine, in inbox order
  std::vector<std::uint64_t> control;  // the Pause and Resume messages the turn consumes
  bool paused = false;                 // the instance's state after the turn
  std::string reason;                  // of the Pause that took effect, if one did
  bool nothing() const { return run.empty() && control.empty(); }
};

// Splits `inbox` (in seq order) of an instance that is `paused` (or not) before these
// messages; `started`: its first execution has started. The messages are taken in order:
// a Pause holds every message after it until a Resume, which lets them through in their
// order; a Pause of a paused instance or a Resume of a running one changes nothing (both
// are consumed). While the instance stays paused, a terminate Cancel is still taken, out
// of order (with the Start of an instance that has not started, so that it ends before its
// code runs); a cooperative Cancel waits like any other message (it runs the code). An
// instance that has not started and ends the turn paused holds its Start as well.
// Messages delivered in memory (activity results, fired timers) come after every inbox
// message: they wait if `paused` is set in the result.
PauseSplit split_for_pause(const std::vector<InboxEntry>& inbox, bool paused, bool started);

}  // namespace duractor
