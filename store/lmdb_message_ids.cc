// Idempotent writes from outside (Store::enqueue_once, publish_once). The table message_ids
// keeps, for each message id seen, a fingerprint of the request it came with and the answer
// it got; message_id_times orders the ids by first use, so that the ones past
// LmdbOptions::message_id_retention are removed, a few with every idempotent write.
// docs/storage-format.md has the layout.

#include <chrono>

#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

namespace {

using detail::Tx;

constexpr std::uint8_t kSeenVersion = 1;
// Expired ids removed per idempotent write: enough to keep up with any rate of new ids, few
// enough that a write after a long pause stays quick.
constexpr std::size_t kForgetPerWrite = 16;

enum class Kind : std::uint8_t { kEnqueue = 1, kPublish = 2 };

// What the store remembers of a message id.
struct Seen {
  Kind kind = Kind::kEnqueue;
  std::string fingerprint;  // of the request (uuid_from_seed: 36 bytes)
  TimePoint first_used;
  std::string answer;
};

// version(u8) kind(u8) first_used_ms(be64) fingerprint_length(u8) fingerprint answer
std::string encode_seen(const Seen& s) {
  std::string out;
  out.push_back(static_cast<char>(kSeenVersion));
  out.push_back(static_cast<char>(s.kind));
  detail::put_be64(out, static_cast<std::uint64_t>(to_unix_ms(s.first_used)));
  out.push_back(static_cast<char>(s.fingerprint.size()));
  out += s.fingerprint;
  out += s.answer;
  return out;
}

Result<Seen> decode_seen(std::string_view bytes, const MessageId& id) {
  auto corrupt = [&](const char* what) {
    return fail(ErrorCode::kCorrupt, "message id '" + id.value + "': record " + what);
  };
  if (bytes.size() < 11) return corrupt("is too short");
  if (static_cast<std::uint8_t>(bytes[0]) != kSeenVersion) return corrupt("has an unknown version");
  Seen s;
  auto kind = static_cast<std::uint8_t>(bytes[1]);
  if (kind != 1 && kind != 2) return corrupt("has an unknown kind");
  s.kind = static_cast<Kind>(kind);
  s.first_used = from_unix_ms(static_cast<std::int64_t>(detail::get_be64(bytes.substr(2))));
  std::size_t length = static_cast<std::uint8_t>(bytes[10]);
  if (bytes.size() < 11 + length) return corrupt("is cut short");
  s.fingerprint = std::string(bytes.substr(11, length));
  s.answer = std::string(bytes.substr(11 + length));
  return s;
}

std::string time_key(TimePoint t, const MessageId& id) {
  std::string k;
  detail::put_be64(k, static_cast<std::uint64_t>(to_unix_ms(t)));
  return k + id.value;
}

Status check_id(const MessageId& id) {
  if (id.empty()) return fail(ErrorCode::kInvalidArgument, "message id: empty");
  return validate_name(id.value, "message id");
}

// Removes up to kForgetPerWrite ids first used before `horizon`.
Status forget_expired(Tx& tx, TimePoint horizon) {
  std::vector<std::string> times, ids;
  auto limit = static_cast<std::uint64_t>(to_unix_ms(horizon));
  DURACTOR_TRY(tx.scan_from(tx.tables().message_id_times, "",
                            [&](std::string_view k, std::string_view) -> Result<bool> {
                              if (k.size() < 8 || detail::get_be64(k) >= limit) return false;
                              times.emplace_back(k);
                              ids.emplace_back(k.substr(8));
                              return times.size() < kForgetPerWrite;
                            }));
  if (times.empty()) return {};
  DURACTOR_TRY(tx.erase_keys(tx.tables().message_id_times, times));
  DURACTOR_TRY(tx.erase_keys(tx.tables().message_ids, ids));
  return {};
}

// Applies `apply` once per message id: a repeat answers what the first write answered.
// `target` is the instance the write is for (empty for a publication), for the fault step.
template <class T, class Apply, class Encode, class Decode>
Result<T> once(Tx& tx, const MessageId& id, Kind kind, const std::string& fingerprint,
               const InstanceId& target, std::chrono::milliseconds retention, Apply&& apply,
               Encode&& encode_answer, Decode&& decode_answer) {
  DURACTOR_TRY(check_id(id));
  auto raw = tx.get(tx.tables().message_ids, id.value);
  if (!raw) return fail(raw.error());
  auto now = tx.now();
  if (*raw) {
    auto seen = decode_seen(**raw, id);
    if (!seen) return fail(seen.error());
    // A remembered id past its retention that no write has removed yet is forgotten too.
    if (seen->first_used + retention > now) {
      if (seen->kind != kind || seen->fingerprint != fingerprint) {
        auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - seen->first_used);
        return fail(ErrorCode::kAlreadyExists,
                    "message id '" + id.value + "' was used " + std::to_string(ago.count()) +
                        " s ago for a different request; nothing was applied");
      }
      return decode_answer(seen->answer);
    }
    std::vector<std::string> stale{time_key(seen->first_used, id)};
    DURACTOR_TRY(tx.erase_keys(tx.tables().message_id_times, stale));
  }
  auto result = apply();
  if (!result) return result;
  DURACTOR_TRY(tx.fault("message_id.record", target));
  Seen seen{kind, fingerprint, now, encode_answer(*result)};
  DURACTOR_TRY(tx.put(tx.tables().message_ids, id.value, encode_seen(seen)));
  DURACTOR_TRY(tx.put(tx.tables().message_id_times, time_key(now, id), ""));
  DURACTOR_TRY(forget_expired(tx, now - retention));
  return result;
}

}  // namespace

Result<std::uint64_t> LmdbStore::Impl::enqueue_once(Tx& tx, const MessageId& id,
                                                    const InstanceId& instance,
                                                    const InboxMessage& message) {
  auto fingerprint =
      uuid_from_seed("enqueue\n" + instance + '\n' + encode_message(InboxEntry{0, {}, message}));
  return once<std::uint64_t>(
      tx, id, Kind::kEnqueue, fingerprint, instance, options.message_id_retention,
      [&] { return enqueue(tx, instance, message); },
      [](std::uint64_t seq) {
        std::string out;
        detail::put_be64(out, seq);
        return out;
      },
      [&](const std::string& answer) -> Result<std::uint64_t> {
        if (answer.size() != 8) {
          return fail(ErrorCode::kCorrupt, "message id '" + id.value + "': answer is malformed");
        }
        return detail::get_be64(answer);
      });
}

Result<PublishReceipt> LmdbStore::Impl::publish_once(Tx& tx, const MessageId& id,
                                                     const std::string& topic,
                                                     const Bytes& payload) {
  auto fingerprint = uuid_from_seed("publish\n" + topic + '\n' + payload.str());
  return once<PublishReceipt>(
      tx, id, Kind::kPublish, fingerprint, InstanceId(), options.message_id_retention,
      [&] { return publish(tx, topic, payload); },
      [](const PublishReceipt& r) { return encode(r.delivered).str(); },
      [&](const std::string& answer) -> Result<PublishReceipt> {
        auto delivered = decode<std::vector<InstanceId>>(std::string_view(answer));
        if (!delivered) {
          return fail(ErrorCode::kCorrupt, "message id '" + id.value + "': answer is malformed");
        }
        return PublishReceipt{std::move(*delivered)};
      });
}

void LmdbStore::enqueue_once_async(MessageId id, InstanceId instance, InboxMessage message,
                                   Callback<std::uint64_t> done) {
  auto* impl = impl_.get();
  impl->submit<std::uint64_t>(
      [impl, id = std::move(id), i = std::move(instance), m = std::move(message)](Tx& tx) {
        return impl->enqueue_once(tx, id, i, m);
      },
      std::move(done));
}

void LmdbStore::publish_once_async(MessageId id, std::string topic, Bytes payload,
                                   Callback<PublishReceipt> done) {
  auto* impl = impl_.get();
  impl->submit<PublishReceipt>(
      [impl, id = std::move(id), t = std::move(topic), p = std::move(payload)](Tx& tx) {
        return impl->publish_once(tx, id, t, p);
      },
      std::move(done));
}

}  // namespace duractor
