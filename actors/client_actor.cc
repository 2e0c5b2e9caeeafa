// The client protocol for actors (actors/client_protocol.h): starting instances, reading
// their status, watching them finish, pausing and resuming them. (Events, topics and cancellation:
// the broker actor.) Writes go through the store's asynchronous API; their callbacks (on the
// store's writer thread) come back as messages so that replies are delivered in this actor.

#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "duractor/actors/client.h"
#include "duractor/actors/detail/actor_messages.h"
#include "duractor/actors/detail/actors.h"
#include "duractor/pubsub/caf_errors.h"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::optional<duractor::Error>)

namespace duractor::detail {
namespace {

using reply_atom = caf::atom_constant<caf::atom("dreply")>;

// The client protocol plus the answers that come back from the store's writer thread and
// the completion hub.
using ClientActorImpl =
    ClientActor::extend<caf::reacts_to<reply_atom, std::uint64_t, std::optional<Error>>,
                        caf::reacts_to<finished_atom, std::uint64_t, InstanceInfo>>;

struct PendingReply {
  caf::response_promise promise;
  InstanceId id;
  bool wake = false;  // wake the instance once the write is durable
};

struct ClientActorState {
  std::shared_ptr<HostCore> core;
  std::uint64_t next = 1;
  std::unordered_map<std::uint64_t, PendingReply> pending;
};

using Self = ClientActorImpl::stateful_pointer<ClientActorState>;

// Starts an asynchronous write; its answer comes back as (reply_atom, token, error text).
template <class Start>
void write(Self self, caf::response_promise promise, InstanceId id, bool wake, Start&& start) {
  auto& s = self->state;
  auto token = s.next++;
  s.pending.emplace(token, PendingReply{std::move(promise), id, wake});
  auto me = caf::actor_cast<caf::actor>(self);
  start([me, token](Status result) {
    caf::anon_send(me, reply_atom::value, token,
                   result ? std::optional<Error>() : std::optional<Error>(result.error()));
  });
}

ClientActorImpl::behavior_type client_behavior(Self self, std::shared_ptr<HostCore> core) {
  self->state.core = std::move(core);
  return {
      [=](start_atom, const std::string& name, const InstanceId& id, const Bytes& input) {
        auto& s = self->state;
        auto promise = self->make_response_promise<ok_atom, InstanceId>();
        auto request = start_request(*s.core, name, id, input, 0);
        if (!request) return promise.deliver(to_caf_error(request.error()));
        InstanceId instance = request->id;
        write(self, promise, instance, true, [&](auto done) {
          s.core->store.create_instance_async(std::move(*request), [done](Result<CreateOutcome> r) {
            done(r ? Status{} : Status(std::unexpected(r.error())));
          });
        });
        return promise;
      },
      [=](pause_atom, const InstanceId& id, const std::string& reason) {
        auto& s = self->state;
        auto promise = self->make_response_promise<ok_atom, InstanceId>();
        write(self, promise, id, true, [&](auto done) {
          s.core->store.enqueue_async(id, message::Pause{reason}, [done](Result<std::uint64_t> r) {
            done(r ? Status{} : Status(std::unexpected(r.error())));
          });
        });
        return promise;
      },
      [=](resume_atom, const InstanceId& id) {
        auto& s = self->state;
        auto promise = self->make_response_promise<ok_atom, InstanceId>();
        write(self, promise, id, true, [&](auto done) {
          s.core->store.enqueue_async(id, message::Resume{}, [done](Result<std::uint64_t> r) {
            done(r ? Status{} : Status(std::unexpected(r.error())));
          });
        });
        return promise;
      },
      [=](reply_atom, std::uint64_t token, const std::optional<Error>& error) {
        auto& s = self->state;
        auto it = s.pending.find(token);
        if (it == s.pending.end()) return;
        auto reply = std::move(it->second);
        s.pending.erase(it);
        if (error) {
          reply.promise.deliver(to_caf_error(*error));
          return;
        }
        if (reply.wake) caf::anon_send(s.core->directory, wake_atom::value, reply.id);
        reply.promise.deliver(ok_atom::value, reply.id);
      },
      [=](status_atom, const InstanceId& id) -> caf::result<InstanceInfo> {
        auto info = self->state.core->store.read_instance(id);
        if (!info) return to_caf_error(info.error());
        return *info;
      },
      [=](watch_atom, const InstanceId& id) {
        // The answer is the reply to this message: (finished_atom, InstanceInfo) when the
        // instance ends, or kNotFound at once for an unknown instance (and later for one
        // deleted before it finished).
        auto& s = self->state;
        auto token = s.next++;
        auto promise = self->make_response_promise<finished_atom, InstanceInfo>();
        s.pending.emplace(token, PendingReply{promise, id, false});
        auto me = caf::actor_cast<caf::actor>(self);
        auto done = std::make_shared<std::atomic<bool>>(false);
        auto notify = [me, token, done](const Result<InstanceInfo>& outcome) {
          if (done->exchange(true)) return;
          if (outcome) {
            caf::anon_send(me, finished_atom::value, token, *outcome);
          } else {
            caf::anon_send(me, reply_atom::value, token, std::optional<Error>(outcome.error()));
          }
        };
        auto watch = s.core->hub.watch(id, notify);
        // It may have finished before the watch was registered, or not exist at all.
        auto info = s.core->store.read_instance(id);
        if (info && !is_terminal(info->status)) return promise;
        s.core->hub.unwatch(id, watch);
        notify(info);
        return promise;
      },
      [=](finished_atom, std::uint64_t token, const InstanceInfo& info) {
        auto& s = self->state;
        auto it = s.pending.find(token);
        if (it == s.pending.end()) return;
        auto reply = std::move(it->second);
        s.pending.erase(it);
        reply.promise.deliver(finished_atom::value, info);
      },
  };
}

}  // namespace

ClientActor spawn_client_actor(caf::actor_system& system, std::shared_ptr<HostCore> core) {
  return system.spawn(client_behavior, std::move(core));
}

}  // namespace duractor::detail
