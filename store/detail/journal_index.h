#pragma once
// The LMDB store's in-memory index of its journal: for each instance, the journal records
// (one per committed turn) not yet compacted into the history table. Kept in memory because
// a table keyed by instance would be written once per turn per instance, costing one
// scattered page per instance in every group commit, which is what the journal exists to
// avoid. Rebuilt from the journal when the store opens. Internal.
//
// Thread-safety: all methods may be called from any thread. The store's writer adds entries
// before it commits (removing them again if the commit fails) and removes them only while
// no read transaction is open, so a reader always finds, in its snapshot, every journal
// record of the instance it reads; it must still check each record it fetches (the entry
// may belong to a turn that never committed) and skip missing ones (compacted into history
// before its snapshot, or deleted by another process).

#include <cstdint>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "duractor/runtime/ids.h"

namespace duractor::detail {

class JournalIndex {
 public:
  struct Entry {
    ExecutionId execution = 0;
    EventId first_event = 0;
    EventId last_event = 0;
    std::uint64_t seq = 0;  // the journal record's key
  };

  // Adds an entry, keeping each instance's entries in seq order (an entry learnt late, from
  // another process's write, may be older than the newest one).
  void add(const InstanceId& instance, const Entry& entry) {
    std::lock_guard lock(mutex_);
    auto& entries = map_[instance];
    auto at = entries.end();
    while (at != entries.begin() && std::prev(at)->seq > entry.seq) --at;
    entries.insert(at, entry);
    if (entry.seq > high_water_) high_water_ = entry.seq;
  }

  // Removes the entry for journal record `seq` of `instance`, if present.
  void remove(const InstanceId& instance, std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(instance);
    if (it == map_.end()) return;
    auto& entries = it->second;
    for (auto e = entries.begin(); e != entries.end(); ++e) {
      if (e->seq == seq) {
        entries.erase(e);
        break;
      }
    }
    if (entries.empty()) map_.erase(it);
  }

  void erase(const InstanceId& instance) {
    std::lock_guard lock(mutex_);
    map_.erase(instance);
  }

  // The entries of one execution, oldest first.
  std::vector<Entry> entries(const InstanceId& instance, ExecutionId execution) const {
    std::lock_guard lock(mutex_);
    std::vector<Entry> out;
    auto it = map_.find(instance);
    if (it == map_.end()) return out;
    for (const auto& e : it->second) {
      if (e.execution == execution) out.push_back(e);
    }
    return out;
  }

  // Every entry of an instance, oldest first.
  std::vector<Entry> entries(const InstanceId& instance) const {
    std::lock_guard lock(mutex_);
    auto it = map_.find(instance);
    if (it == map_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

  // The highest journal seq ever added: records above it were written by someone else.
  std::uint64_t high_water() const {
    std::lock_guard lock(mutex_);
    return high_water_;
  }

  // Every (instance, seq) entry, in no particular order.
  std::vector<std::pair<InstanceId, std::uint64_t>> all() const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<InstanceId, std::uint64_t>> out;
    for (const auto& [instance, entries] : map_) {
      for (const auto& e : entries) out.emplace_back(instance, e.seq);
    }
    return out;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [instance, entries] : map_) n += entries.size();
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<InstanceId, std::deque<Entry>> map_;
  std::uint64_t high_water_ = 0;
};

}  // namespace duractor::detail
