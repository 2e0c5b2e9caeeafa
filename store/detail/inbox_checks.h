#pragma once
// The checks of Store::enqueue that concern only the message, the same for every store:
// each store runs them before its own transaction (LmdbStore::Impl::enqueue), so a refusal
// reads the same whatever holds the data.

#include "duractor/runtime/error.h"
#include "duractor/runtime/ids.h"
#include "duractor/runtime/inbox_message.h"

namespace duractor::detail {

// kInvalidArgument for a Start (instances are created, not enqueued to) or an event name
// that is malformed or reserved for topics; kLimitExceeded for a Cancel or Pause whose
// reason is over kMaxReasonBytes.
Status validate_inbox_message(const InstanceId& id, const InboxMessage& message);

}  // namespace duractor::detail
