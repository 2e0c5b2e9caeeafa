// LmdbStore's lifetime and the environment its Impl holds: closing, the map size (grown on
// demand, adopted from other processes), and dropping index entries once no reader can need
// them. Opening is in lmdb_open.cc; the other concepts have a file each (see lmdb_impl.h).

#include "duractor/store/lmdb_store.h"

#include <sys/statvfs.h>

#include <algorithm>

#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

LmdbStore::LmdbStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LmdbStore::~LmdbStore() = default;

const std::string& LmdbStore::path() const {
  return impl_->options.path;
}
std::uint64_t LmdbStore::map_size() const {
  std::shared_lock lock(impl_->env_mutex);
  return impl_->map_size;
}

LmdbStore::Impl::~Impl() {
  {
    std::lock_guard lock(queue_mutex);
    stopping = true;
  }
  queue_cv.notify_all();
  if (writer.joinable()) writer.join();
  if (env != nullptr) mdb_env_close(env);
}

Error LmdbStore::Impl::with_free_space(Error e) const {
  struct statvfs fs {};
  if (e.code == ErrorCode::kIo && ::statvfs(options.path.c_str(), &fs) == 0) {
    e.message += " [" + std::to_string(std::uint64_t{fs.f_bavail} * fs.f_frsize) +
                 " bytes free on the device]";
  }
  return e;
}

void LmdbStore::Impl::adopt_map_size() {
  std::unique_lock lock(env_mutex);
  mdb_env_set_mapsize(env, 0);
  MDB_envinfo info;
  mdb_env_info(env, &info);
  map_size = info.me_mapsize;
}

bool LmdbStore::Impl::grow_map() {
  std::unique_lock lock(env_mutex);
  MDB_envinfo info;
  mdb_env_info(env, &info);
  std::uint64_t current = info.me_mapsize;
  if (current >= options.max_map_size) return false;
  std::uint64_t next = std::min<std::uint64_t>(current * 2, options.max_map_size);
  if (mdb_env_set_mapsize(env, next) != 0) return false;
  mdb_env_info(env, &info);
  map_size = info.me_mapsize;
  return map_size > current;
}

void LmdbStore::Impl::forget_journal(const JournalUndo& gone) {
  if (gone.empty()) return;
  std::unique_lock exclusive(env_mutex);
  for (const auto& [instance, seq] : gone) journal_index.remove(instance, seq);
}

void LmdbStore::Impl::forget_erased_journal(const JournalUndo& erased) {
  forget_journal(erased);
  auto records = journal_records.load();
  journal_records = records > erased.size() ? records - erased.size() : 0;
}

void LmdbStore::Impl::forget_instances(const std::vector<InstanceId>& ids) {
  {
    std::unique_lock exclusive(env_mutex);
    for (const auto& id : ids) journal_index.erase(id);
  }
  lease_table.forget_locks(ids);
}

}  // namespace duractor
