// approval: human approval with a deadline. An expense claim waits for a manager's
// decision, an external event, raced against a durable timer. If the decision arrives in
// time it is applied; if the deadline passes first, the claim is escalated and the late
// decision, should it still come, is ignored. The timer lives in the store: a deadline of
// days survives restarts just the same.
//
// The sample files two claims: the first gets an approval (raised by this program, as a
// web hook or an operator would: `duractor --store <dir> raise <id> Decision '{...}'` does the
// same from the command line); the second gets no answer and is escalated after its deadline.
//
//   approval [store-directory]      (default: ./duractor-approval-store)

#include <msgpack.hpp>

#include <cstdio>
#include <string>
#include <thread>

#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::OrchestrationContext;
using duractor::Task;

struct Claim {
  std::string employee;
  int amount_eur = 0;
  int deadline_ms = 0;  // how long the manager has
  MSGPACK_DEFINE_MAP(employee, amount_eur, deadline_ms)
};

// The event's payload. A map in msgpack, so that JSON {"approved": true, "by": "..."}
// from the command line decodes into it.
struct Decision {
  bool approved = false;
  std::string by;
  MSGPACK_DEFINE_MAP(approved, by)
};

const duractor::Activity<Claim, void> AskManager{"AskManager"};
const duractor::Activity<Claim, void> Escalate{"Escalate"};
const duractor::Activity<Claim, void> Pay{"Pay"};
const duractor::Orchestration<Claim, std::string> Expense{"Expense", 1};

void ask_manager(ActivityContext& ctx, Claim c) {
  std::printf("  mail to manager: %s claims %d EUR (%s)\n", c.employee.c_str(), c.amount_eur,
              ctx.instance_id().c_str());
}
void escalate(ActivityContext&, Claim c) {
  std::printf("  no decision on %s's claim in time: escalated to finance\n", c.employee.c_str());
}
void pay(ActivityContext&, Claim c) {
  std::printf("  paid %d EUR to %s\n", c.amount_eur, c.employee.c_str());
}

Task<std::string> expense(OrchestrationContext& ctx, Claim claim) {
  co_await ctx.call(AskManager, claim);
  ctx.set_custom_status("waiting for a decision");
  // Whichever is recorded first wins; the loser is abandoned (the timer never fires into
  // this code, a late event is left unconsumed).
  auto first = co_await ctx.when_any(ctx.wait_event<Decision>("Decision"),
                                     ctx.timer(std::chrono::milliseconds(claim.deadline_ms)));
  if (first.index() == 1) {
    co_await ctx.call(Escalate, claim);
    co_return "escalated";
  }
  Decision decision = first.get<0>();
  if (!decision.approved) co_return "rejected by " + decision.by;
  co_await ctx.call(Pay, claim);
  co_return "approved by " + decision.by;
}

// Waits until `id` reports that it waits for a decision.
void wait_until_waiting(duractor::Client& client, const std::string& id) {
  for (;;) {
    auto info = samples::or_exit(client.status(id), "status");
    if (info.custom_status == "waiting for a decision" ||
        info.status != duractor::InstanceStatus::kRunning)
      return;
    std::this_thread::sleep_for(10ms);
  }
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(AskManager, ask_manager);
  registry.add(Escalate, escalate);
  registry.add(Pay, pay);
  registry.add(Expense, expense);

  auto host = samples::or_exit(
      duractor::Host::start(registry,
                            samples::options(argc > 1 ? argv[1] : "duractor-approval-store")),
      "start");
  auto client = host->client();

  // Claim 1: the manager approves within the deadline (24 hours).
  samples::or_exit(Expense.start(client, "claim-1", Claim{"ada", 120, 24 * 3600 * 1000}),
                   "start claim-1");
  wait_until_waiting(client, "claim-1");
  auto raised = client.raise("claim-1", "Decision", Decision{true, "grace"});
  if (!raised && raised.error().code != duractor::ErrorCode::kFailedPrecondition) {
    samples::or_exit(raised, "raise");  // (kFailedPrecondition: decided on an earlier run)
  }
  std::printf("claim-1: %s\n",
              samples::or_exit(Expense.wait(client, "claim-1", 30s), "claim-1").c_str());

  // Claim 2: nobody answers; the deadline (1 second) passes.
  auto result =
      samples::or_exit(Expense.run(client, "claim-2", Claim{"linus", 80, 1000}, 30s), "claim-2");
  std::printf("claim-2: %s\n", result.c_str());
  return 0;
}
