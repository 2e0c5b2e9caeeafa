#include "duractor/actors/testing.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <thread>
#include <variant>

#include "duractor/store/store.h"

namespace duractor::testing {

namespace {

std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/duractor-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("duractor::testing: cannot create a directory like " + pattern);
  }
  return pattern;
}

// Whether a paused instance can still take a turn: a resume or a terminate waits.
bool paused_but_runnable(Store& store, const InstanceId& id) {
  auto inbox = store.read_inbox(id);
  if (!inbox) return true;  // cannot tell: not idle
  for (const auto& entry : *inbox) {
    if (std::holds_alternative<message::Resume>(entry.message)) return true;
    if (auto* c = std::get_if<message::Cancel>(&entry.message); c != nullptr && c->terminate) {
      return true;
    }
  }
  return false;
}

// What is runnable now, or an empty string when nothing is, as one unchanged state of the
// store shows it. A paused instance holds what arrives for it (inbox messages, and activity
// results and fired timers the runtime keeps for it until the resume): its work and due
// timers do not count, unless a resume or terminate waits for it.
Result<std::string> runnable_work(const Host& host, TimePoint now) {
  Store& store = host.store();
  auto before = store.change_counter();
  if (!before) return fail(before.error());
  std::map<InstanceId, bool> held_by;  // instance -> paused and holding
  auto held = [&](const InstanceId& id) {
    auto [it, fresh] = held_by.try_emplace(id, false);
    if (fresh) {
      auto info = store.read_instance(id);
      it->second =
          info && info->status == InstanceStatus::kPaused && !paused_but_runnable(store, id);
    }
    return it->second;
  };
  if (auto queued = host.queued_activities(); queued > 0) {
    return std::to_string(queued) + " activities queued or running";
  }
  for (std::uint64_t after = 0;;) {
    auto work = store.list_work(after, 256);
    if (!work) return fail(work.error());
    for (const auto& w : *work) {
      if (!held(w.instance)) {
        return "activity '" + w.activity + "' of instance '" + w.instance + "' waits to run";
      }
    }
    if (work->size() < 256) break;
    after = work->back().id;
  }
  auto due = store.due_timers(now, 4096);
  if (!due) return fail(due.error());
  for (const auto& timer : *due) {
    if (!held(timer.instance)) return "a timer of instance '" + timer.instance + "' is due";
  }
  auto depths = store.inbox_depths("", 0);
  if (!depths) return fail(depths.error());
  for (const auto& depth : *depths) {
    if (held(depth.instance)) continue;
    return "instance '" + depth.instance + "' has " + std::to_string(depth.messages) +
           " waiting messages";
  }
  auto after = store.change_counter();
  if (!after) return fail(after.error());
  if (*after != *before) return std::string("the store changed while it was looked at");
  return std::string();
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Step& step) {
  return out << "{" << step.kind << ", \"" << step.name << "\"}";
}

std::vector<Step> steps_of(const std::vector<HistoryEvent>& history) {
  std::map<EventId, std::string> names;  // scheduling events' names, by id
  std::vector<Step> steps;
  steps.reserve(history.size());
  for (const auto& event : history) {
    std::string name = std::visit(
        [&](const auto& body) -> std::string {
          if constexpr (requires { body.name; }) {
            return body.name;
          } else if constexpr (requires { body.topic; }) {
            return body.topic;
          } else if constexpr (requires { body.scheduled_id; }) {
            auto it = names.find(body.scheduled_id);
            return it != names.end() ? it->second : std::string();
          } else {
            return std::string();
          }
        },
        event.body);
    names[event.id] = name;
    steps.push_back(Step{std::string(event.kind_name()), std::move(name)});
  }
  return steps;
}

struct TestHost::State {
  std::string dir;
  std::string store_path;
  ManualClock clock;
  Milliseconds idle_timeout;
  std::unique_ptr<Host> host;

  explicit State(TimePoint start) : clock(start) {}
};

TestHost::TestHost(const Registry& registry, TestHostOptions options)
    : state_(std::make_unique<State>(options.start)) {
  state_->dir = make_temp_dir();
  state_->store_path = state_->dir + "/store";
  state_->idle_timeout = options.idle_timeout;
  HostOptions host_options = std::move(options.host);
  host_options.lmdb.path = state_->store_path;
  host_options.clock = &state_->clock;
  auto host = Host::start(registry, std::move(host_options));
  if (!host) {
    std::error_code ignored;
    std::filesystem::remove_all(state_->dir, ignored);
    throw std::runtime_error("duractor::testing: the host did not start: " +
                             host.error().to_string());
  }
  state_->host = std::move(*host);
}

TestHost::~TestHost() {
  state_->host.reset();  // stops the runtime and closes the store
  std::error_code ignored;
  std::filesystem::remove_all(state_->dir, ignored);
}

Client TestHost::client() const {
  return state_->host->client();
}
Host& TestHost::host() const {
  return *state_->host;
}
const std::string& TestHost::store_path() const {
  return state_->store_path;
}
TimePoint TestHost::now() const {
  return state_->clock.now();
}

Status TestHost::run_until_idle() {
  auto deadline = std::chrono::steady_clock::now() + state_->idle_timeout;
  std::string busy;
  for (;;) {
    auto work = runnable_work(*state_->host, state_->clock.now());
    if (!work) return fail(work.error());
    if (work->empty()) return {};
    busy = std::move(*work);
    if (std::chrono::steady_clock::now() >= deadline) break;
    // Due timers fire when the timer service looks; tell it to look now.
    state_->host->poke_timers();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return fail(ErrorCode::kTimeout, "still not idle after " +
                                       std::to_string(state_->idle_timeout.count()) +
                                       " ms of real time: " + busy);
}

Status TestHost::advance(Milliseconds d) {
  if (d.count() < 0) {
    return fail(ErrorCode::kInvalidArgument, "advance: the virtual clock only moves forward (" +
                                                 std::to_string(d.count()) + " ms)");
  }
  if (auto settled = run_until_idle(); !settled) return settled;
  state_->clock.advance(d);
  state_->host->poke_timers();
  return run_until_idle();
}

std::vector<Step> TestHost::steps(const InstanceId& id, ExecutionId execution) const {
  auto history = state_->host->client().history(id, execution);
  if (!history) {
    throw std::runtime_error("duractor::testing: the history of '" + id +
                             "': " + history.error().to_string());
  }
  return steps_of(*history);
}

}  // namespace duractor::testing
