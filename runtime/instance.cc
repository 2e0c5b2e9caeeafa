#include "duractor/runtime/instance.h"

namespace duractor {

std::string_view to_string(InstanceStatus status) {
  switch (status) {
    case InstanceStatus::kPending:
      return "pending";
    case InstanceStatus::kRunning:
      return "running";
    case InstanceStatus::kCompleted:
      return "completed";
    case InstanceStatus::kFailed:
      return "failed";
    case InstanceStatus::kCancelled:
      return "cancelled";
    case InstanceStatus::kTerminated:
      return "terminated";
    case InstanceStatus::kPaused:
      return "paused";
  }
  return "unknown";
}

std::optional<InstanceStatus> parse_instance_status(std::string_view text) {
  for (auto s : {InstanceStatus::kPending, InstanceStatus::kRunning, InstanceStatus::kCompleted,
                 InstanceStatus::kFailed, InstanceStatus::kCancelled, InstanceStatus::kTerminated,
                 InstanceStatus::kPaused}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

}  // namespace duractor
