#pragma once
// duractor: durable execution for C++20. This one header gives everything a user writes
// against: typed handles, the registry, the orchestration context, its futures and their
// combinators, the exceptions orchestrations catch, retry policies, the Host and its
// Client, the Broker, the typed actor protocols, the Store interface and the LMDB store's
// options, and the operations tools (reading export files, replay-check).
//
//   #include "duractor/duractor.h"      // installed: <prefix>/include/duractor/duractor.h
//
// Headers under a detail/ folder are internal and may change at any time.

#include "duractor/runtime/activity_context.h"  // IWYU pragma: export
#include "duractor/runtime/combinators.h"       // IWYU pragma: export
#include "duractor/runtime/context.h"           // IWYU pragma: export
#include "duractor/runtime/error.h"             // IWYU pragma: export
#include "duractor/runtime/exceptions.h"        // IWYU pragma: export
#include "duractor/runtime/future.h"            // IWYU pragma: export
#include "duractor/runtime/handles.h"           // IWYU pragma: export
#include "duractor/runtime/ids.h"               // IWYU pragma: export
#include "duractor/runtime/instance.h"          // IWYU pragma: export
#include "duractor/runtime/limits.h"            // IWYU pragma: export
#include "duractor/runtime/log.h"               // IWYU pragma: export
#include "duractor/runtime/metrics.h"           // IWYU pragma: export
#include "duractor/runtime/payload.h"           // IWYU pragma: export
#include "duractor/runtime/registry.h"          // IWYU pragma: export
#include "duractor/runtime/retry.h"             // IWYU pragma: export
#include "duractor/runtime/task.h"              // IWYU pragma: export
#include "duractor/runtime/time.h"              // IWYU pragma: export
#include "duractor/runtime/version.h"           // IWYU pragma: export

#include "duractor/store/lmdb_store.h"  // IWYU pragma: export
#include "duractor/store/store.h"       // IWYU pragma: export

#include "duractor/pubsub/broker.h"           // IWYU pragma: export
#include "duractor/pubsub/broker_protocol.h"  // IWYU pragma: export
#include "duractor/pubsub/caf_errors.h"       // IWYU pragma: export
#include "duractor/pubsub/lifecycle.h"        // IWYU pragma: export

#include "duractor/actors/client.h"           // IWYU pragma: export
#include "duractor/actors/client_protocol.h"  // IWYU pragma: export
#include "duractor/actors/host.h"             // IWYU pragma: export

#include "duractor/ops/export_file.h"   // IWYU pragma: export
#include "duractor/ops/replay_check.h"  // IWYU pragma: export
