#pragma once
// Key encodings of the LMDB store's tables (see docs/storage-format.md). Integers are
// big-endian and fixed-width so that LMDB's byte order is numeric order; an instance id is
// followed by a 0x00 byte, which cannot occur inside an id (validate_instance_id forbids
// control characters), so "id\0" is a prefix that matches exactly one instance. Internal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duractor/runtime/ids.h"
#include "duractor/runtime/time.h"

namespace duractor::detail {

inline void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
inline void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
inline std::uint32_t get_be32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline std::uint64_t get_be64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// Signed milliseconds mapped to unsigned so that byte order is time order.
inline std::uint64_t time_bits(TimePoint t) {
  return static_cast<std::uint64_t>(to_unix_ms(t)) ^ (std::uint64_t{1} << 63);
}
inline TimePoint time_from_bits(std::uint64_t bits) {
  return from_unix_ms(static_cast<std::int64_t>(bits ^ (std::uint64_t{1} << 63)));
}

// "id\0": the prefix of every per-instance key.
inline std::string instance_prefix(std::string_view id) {
  std::string k(id);
  k.push_back('\0');
  return k;
}

// executions: id \0 execution(be32)
inline std::string execution_key(std::string_view id, ExecutionId execution) {
  auto k = instance_prefix(id);
  put_be32(k, execution);
  return k;
}

// history: id \0 execution(be32) event(be64)
inline std::string history_key(std::string_view id, ExecutionId execution, EventId event) {
  auto k = execution_key(id, execution);
  put_be64(k, event);
  return k;
}

// instance_ids: id -> row(be64);  instances: row(be64) -> record. Rows are given in
// creation order, so the records of recently created (mostly: active) instances share pages.
inline std::string row_key(std::uint64_t row) {
  std::string k;
  put_be64(k, row);
  return k;
}

// journal: seq(be64), one record per committed turn (indexed in memory: JournalIndex)
inline std::string journal_key(std::uint64_t seq) {
  std::string k;
  put_be64(k, seq);
  return k;
}

// inbox: id \0 seq(be64)
inline std::string inbox_key(std::string_view id, std::uint64_t seq) {
  auto k = instance_prefix(id);
  put_be64(k, seq);
  return k;
}

// work: id(be64);  work_index: instance \0 execution(be32) scheduled_id(be64) -> work id
inline std::string work_key(std::uint64_t id) {
  std::string k;
  put_be64(k, id);
  return k;
}
inline std::string scheduled_key(std::string_view instance, ExecutionId execution,
                                 EventId scheduled_id) {
  return history_key(instance, execution, scheduled_id);
}

// timers: fire_at(be64, sign-flipped ms) seq(be64)
inline std::string timer_key(TimePoint fire_at, std::uint64_t seq) {
  std::string k;
  put_be64(k, time_bits(fire_at));
  put_be64(k, seq);
  return k;
}

// subscriptions: topic \0 instance;  instance_topics: instance \0 topic (both empty values)
inline std::string pair_key(std::string_view first, std::string_view second) {
  std::string k(first);
  k.push_back('\0');
  k.append(second);
  return k;
}

// children: parent \0 child
inline std::string child_key(std::string_view parent, std::string_view child) {
  auto k = instance_prefix(parent);
  k.append(child);
  return k;
}

// The instance id at the front of a per-instance key, or nullopt if there is no 0x00.
inline std::optional<std::string_view> id_of_key(std::string_view key) {
  auto zero = key.find('\0');
  if (zero == std::string_view::npos) return std::nullopt;
  return key.substr(0, zero);
}

}  // namespace duractor::detail
