#pragma once
// duractor::testing: a kit for testing your own workflows. A TestHost runs the real
// runtime (actors, activity workers, timers, the LMDB store) on a temporary store with a
// virtual clock, so a test of a 30-day approval flow takes milliseconds:
//
//   duractor::testing::TestHost t(registry);
//   auto client = t.client();
//   client.start(Approval, "claim-1", claim);
//   t.run_until_idle();                       // the instance now waits on its timer
//   t.advance(30 * 24h);                      // the deadline passes; the timer fires
//   auto result = client.wait_output<...>("claim-1", 0s);   // finished already
//   CHECK(t.steps("claim-1") == std::vector<Step>{{"ExecutionStarted", "Approval"}, ...});
//
// run_until_idle() returns when no instance has runnable work: no waiting inbox message, no
// activity queued, running or waiting to be dispatched, and no timer due at the virtual
// time, all seen in one unchanged state of the store. What a paused instance holds (its
// inbox messages, the results of its activities, its due timers) does not count, unless a
// resume or a terminate waits for it. advance(d) settles first, then moves the clock, fires what
// fell due and settles again. What the code waits for from outside (an event, a child in another
// host) is not runnable work: run_until_idle returns while the instance waits for it.
//
// The kit is a library of the installed package (duractor::actors), for users' tests; it
// does not depend on any test framework.

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "duractor/actors/client.h"
#include "duractor/actors/host.h"
#include "duractor/runtime/time.h"

namespace duractor::testing {

struct TestHostOptions {
  // Everything but the store's path and the clock, which the kit sets (the store lives in
  // a new directory under $TMPDIR, removed with the TestHost).
  HostOptions host;
  // Where the virtual clock starts.
  TimePoint start = from_unix_ms(1'700'000'000'000);
  // How long run_until_idle waits, in real time, before it reports what is still busy.
  Milliseconds idle_timeout{20'000};
};

// One history event as a test compares it: the kind ("ActivityScheduled") and the name it
// concerns: the orchestration, activity, child or event name, the topic, or, for an event
// that answers another (ActivityCompleted, TimerFired, ...), the name of the one it answers
// (empty for timers).
struct Step {
  std::string kind;
  std::string name;
  bool operator==(const Step&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Step& step);

// The steps of a history, in order.
std::vector<Step> steps_of(const std::vector<HistoryEvent>& history);

class TestHost {
 public:
  // Starts the runtime on a fresh temporary store. Throws std::runtime_error naming the
  // cause when it cannot (a test cannot go on anyway).
  explicit TestHost(const Registry& registry, TestHostOptions options = {});
  ~TestHost();
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  Client client() const;
  Host& host() const;
  // The store's directory (removed by the destructor).
  const std::string& store_path() const;

  // The virtual time.
  TimePoint now() const;

  // Waits until no instance has runnable work (see the top of this file). Errors:
  // kTimeout after options.idle_timeout, naming what is still busy; store errors.
  Status run_until_idle();

  // Settles, moves the virtual clock forward by `d` (at least 0), fires the timers that fell
  // due and settles again. Errors: those of run_until_idle.
  Status advance(Milliseconds d);

  // The steps of the instance's history (execution 0: the current one). Throws
  // std::runtime_error when the history cannot be read (no such instance).
  std::vector<Step> steps(const InstanceId& id, ExecutionId execution = 0) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace duractor::testing
