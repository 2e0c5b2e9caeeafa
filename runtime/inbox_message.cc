#include "duractor/runtime/inbox_message.h"

#include <type_traits>

namespace duractor {

std::string_view to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::kStart:
      return "Start";
    case MessageKind::kEvent:
      return "Event";
    case MessageKind::kCancel:
      return "Cancel";
    case MessageKind::kActivityResult:
      return "ActivityResult";
    case MessageKind::kTimerFired:
      return "TimerFired";
    case MessageKind::kChildResult:
      return "ChildResult";
    case MessageKind::kPause:
      return "Pause";
    case MessageKind::kResume:
      return "Resume";
  }
  return "UnknownMessage";
}

MessageKind kind_of(const InboxMessage& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kKind; }, message);
}

}  // namespace duractor
