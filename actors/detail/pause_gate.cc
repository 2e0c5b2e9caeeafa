#include "duractor/actors/detail/pause_gate.h"

namespace duractor {

PauseSplit split_for_pause(const std::vector<InboxEntry>& inbox, bool paused, bool started) {
  PauseSplit split;
  // Messages at and after `hold_from` wait: after the Pause that leaves the instance paused
  // at the end of the inbox (0 if it was paused before and no Resume came).
  constexpr std::size_t kNone = SIZE_MAX;
  std::size_t hold_from = paused ? 0 : kNone;
  bool p = paused;
  for (std::size_t i = 0; i < inbox.size(); ++i) {
    const auto& m = inbox[i].message;
    if (const auto* pause = std::get_if<message::Pause>(&m)) {
      split.control.push_back(inbox[i].seq);
      if (!p) {
        p = true;
        hold_from = i;
        split.reason = pause->reason;
      }
    } else if (std::holds_alternative<message::Resume>(m)) {
      split.control.push_back(inbox[i].seq);
      if (p) {
        p = false;
        hold_from = kNone;
        split.reason.clear();
      }
    }
  }
  split.paused = p;
  if (p && !started) hold_from = 0;  // a paused instance that has not started holds its Start
  bool terminate = false;
  for (std::size_t i = hold_from == kNone ? inbox.size() : hold_from; i < inbox.size(); ++i) {
    const auto* cancel = std::get_if<message::Cancel>(&inbox[i].message);
    terminate = terminate || (cancel != nullptr && cancel->terminate);
  }
  for (std::size_t i = 0; i < inbox.size(); ++i) {
    const auto& m = inbox[i].message;
    if (std::holds_alternative<message::Pause>(m) || std::holds_alternative<message::Resume>(m)) {
      continue;
    }
    bool held = hold_from != kNone && i >= hold_from;
    if (held && terminate) {
      const auto* cancel = std::get_if<message::Cancel>(&m);
      // The terminate ends the instance; a Start goes with it so that it ends before its
      // code runs (the engine puts a cancel that comes with the start right after it).
      held = !((cancel != nullptr && cancel->terminate) ||
               (!started && std::holds_alternative<message::Start>(m)));
    }
    if (!held) split.run.push_back(inbox[i]);
  }
  return split;
}

}  // namespace duractor
