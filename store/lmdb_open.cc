// Opening an LMDB store: the directory is checked (or created), the environment opened,
// the file's length checked against its header, the tables opened or created, the format
// version checked and the journal indexed; then the writer thread starts.

#include "duractor/store/lmdb_store.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "duractor/store/detail/keys.h"
#include "duractor/store/detail/lmdb_impl.h"

namespace duractor {

using detail::lmdb_error;
using detail::Tx;
using detail::TxnGuard;

namespace {

constexpr std::uint32_t kStoreFormat = 1;

Status prepare_directory(const LmdbOptions& o) {
  if (o.path.empty()) return fail(ErrorCode::kInvalidArgument, "store path is empty");
  struct stat st {};
  if (::stat(o.path.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail(lmdb_error(errno, "open", o.path));
    if (!o.create_if_missing || o.read_only) {
      return fail(ErrorCode::kNotFound, "store " + o.path + ": directory does not exist");
    }
    if (::mkdir(o.path.c_str(), 0775) != 0) {
      return fail(lmdb_error(errno, "create directory", o.path));
    }
    return {};
  }
  if (!S_ISDIR(st.st_mode)) {
    auto e = Error::make(ErrorCode::kIo, "store " + o.path + ": not a directory");
    e.retryable = false;
    return fail(e);
  }
  if (!o.read_only && ::access(o.path.c_str(), W_OK) != 0) {
    return fail(lmdb_error(errno, "open for writing", o.path));
  }
  return {};
}

// Opens the tables, checks the format version and indexes the journal. In a read
// transaction (`write` unset) it returns false when the store still needs creating (tables
// or format marker missing) and may be created; in a write transaction it creates them.
Result<bool> initialise(LmdbStore::Impl& impl, bool write) {
  const auto& o = impl.options;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(impl.env, nullptr, write ? 0 : MDB_RDONLY, &txn);
  if (rc != 0) return fail(impl.error(rc, "begin transaction"));
  TxnGuard guard(txn);
  // Refuse an LMDB file that holds someone else's data rather than adding tables to it.
  MDB_dbi main_dbi = 0;
  MDB_stat main_stat{};
  if (mdb_dbi_open(txn, nullptr, 0, &main_dbi) == 0 && mdb_stat(txn, main_dbi, &main_stat) == 0 &&
      main_stat.ms_entries > 0) {
    MDB_dbi probe = 0;
    rc = mdb_dbi_open(txn, "meta", 0, &probe);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
      return fail(ErrorCode::kCorrupt, "store " + o.path +
                                           ": data.mdb holds an LMDB database that is not a "
                                           "duractor store");
    }
  }
  unsigned dbi_flags = write ? MDB_CREATE : 0;
  struct Named {
    const char* name;
    MDB_dbi* dbi;
  };
  auto& t = impl.tables;
  for (auto [name, dbi] :
       {Named{"meta", &t.meta}, Named{"instance_ids", &t.instance_ids},
        Named{"instances", &t.instances}, Named{"executions", &t.executions},
        Named{"history", &t.history}, Named{"journal", &t.journal}, Named{"inbox", &t.inbox},
        Named{"work", &t.work}, Named{"work_index", &t.work_index}, Named{"timers", &t.timers},
        Named{"timer_index", &t.timer_index}, Named{"children", &t.children},
        Named{"subscriptions", &t.subscriptions}, Named{"instance_topics", &t.instance_topics},
        Named{"turn_deliveries", &t.turn_deliveries}, Named{"message_ids", &t.message_ids},
        Named{"message_id_times", &t.message_id_times}}) {
    // Tables added after format 1 was fixed.
    bool optional =
        dbi == &t.turn_deliveries || dbi == &t.message_ids || dbi == &t.message_id_times;
    rc = mdb_dbi_open(txn, name, dbi_flags, dbi);
    if (rc == MDB_NOTFOUND && optional && o.read_only) continue;
    if (dbi == &t.turn_deliveries && rc == 0) t.turn_deliveries_open = true;
    if (dbi == &t.message_id_times && rc == 0) t.message_ids_open = true;
    if (rc == MDB_NOTFOUND && !o.read_only) return false;  // to be created
    if (rc == MDB_NOTFOUND) {
      return fail(ErrorCode::kCorrupt, "store " + o.path + ": table '" + std::string(name) +
                                           "' is missing (not a duractor store?)");
    }
    if (rc == MDB_INCOMPATIBLE) {
      return fail(ErrorCode::kCorrupt, "store " + o.path + ": '" + std::string(name) +
                                           "' is not a duractor table (not a duractor store?)");
    }
    if (rc != 0) return fail(impl.error(rc, std::string("open table ") + name));
  }
  Tx tx(txn, t, o.path, nullptr, impl.now(), impl.journal_index);
  auto format = tx.get(t.meta, "format");
  if (!format) return fail(format.error());
  if (*format) {
    if ((*format)->size() != 4) {
      return fail(ErrorCode::kCorrupt, "store " + o.path + ": format marker is malformed");
    }
    auto version = detail::get_be32(**format);
    if (version > kStoreFormat) {
      return fail(ErrorCode::kUnsupported,
                  "store " + o.path + " has format " + std::to_string(version) +
                      ", newer than this build supports (" + std::to_string(kStoreFormat) + ")");
    }
  } else if (!o.read_only) {
    if (!write) return false;
    std::string bytes;
    detail::put_be32(bytes, kStoreFormat);
    DURACTOR_TRY(tx.put(t.meta, "format", bytes));
  } else {
    return fail(ErrorCode::kCorrupt, "store " + o.path + ": not initialised (no format marker)");
  }
  // Index the journal: one entry per record not yet compacted.
  DURACTOR_TRY(
      tx.scan_from(t.journal, "", [&](std::string_view k, std::string_view v) -> Result<bool> {
        auto record = decode_journal_record(v);
        if (!record) {
          return fail(
              tx.corrupt("journal record " + std::to_string(detail::get_be64(k)), record.error()));
        }
        if (record->events.empty()) return true;
        impl.journal_index.add(record->instance, {record->execution, record->first_event,
                                                  record->first_event + record->events.size() - 1,
                                                  detail::get_be64(k)});
        return true;
      }));
  impl.journal_records = tx.entries(t.journal);
  rc = guard.commit();
  if (rc != 0) return fail(impl.error(rc, "initialise"));
  return true;
}

}  // namespace

Result<std::unique_ptr<LmdbStore>> LmdbStore::open(LmdbOptions options) {
  DURACTOR_TRY(prepare_directory(options));
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const auto& o = impl->options;
  impl->clock = o.clock != nullptr ? o.clock : &SystemClock::instance();

  int rc = mdb_env_create(&impl->env);
  if (rc != 0) return fail(impl->error(rc, "create environment"));
  mdb_env_set_maxdbs(impl->env, 24);
  mdb_env_set_maxreaders(impl->env, o.max_readers);
  mdb_env_set_mapsize(impl->env, o.initial_map_size);
  unsigned flags = MDB_NOTLS;
  if (!o.sync) flags |= MDB_NOSYNC | MDB_NOMETASYNC;
  if (o.read_only) flags |= MDB_RDONLY;
  rc = mdb_env_open(impl->env, o.path.c_str(), flags, 0664);
  if (rc != 0) {
    mdb_env_close(impl->env);
    impl->env = nullptr;
    return fail(impl->error(rc, "open"));
  }
  MDB_envinfo info;
  mdb_env_info(impl->env, &info);
  impl->map_size = info.me_mapsize;
  int dead_readers = 0;
  mdb_reader_check(impl->env, &dead_readers);  // slots of crashed processes

  // LMDB maps the file and trusts its header; a file cut short would fault on first access
  // past its end, so check its length against the last page the header claims.
  MDB_stat env_stat;
  mdb_env_stat(impl->env, &env_stat);
  std::uint64_t needed = (info.me_last_pgno + 1) * std::uint64_t{env_stat.ms_psize};
  struct stat file {};
  if (::stat((o.path + "/data.mdb").c_str(), &file) == 0 &&
      static_cast<std::uint64_t>(file.st_size) < needed) {
    return fail(ErrorCode::kCorrupt, "store " + o.path + ": data.mdb is truncated: it has " +
                                         std::to_string(file.st_size) +
                                         " bytes but its last page ends at byte " +
                                         std::to_string(needed));
  }

  // Open the tables and check the format version: in a read transaction if the store
  // exists already (so that opening never waits for another process's writer), else in a
  // write transaction that creates them.
  auto ready = initialise(*impl, false);
  if (!ready) return fail(ready.error());
  if (!*ready) {
    auto created = initialise(*impl, true);
    if (!created) return fail(created.error());
  }
  mdb_env_info(impl->env, &info);
  impl->last_txn = info.me_last_txnid;

  auto* raw = impl.get();
  if (!o.read_only) {
    raw->writer = std::thread([raw] {
      ::pthread_setname_np(::pthread_self(), "duractor-store");
      raw->writer_loop();
    });
  }
  return std::unique_ptr<LmdbStore>(new LmdbStore(std::move(impl)));
}

}  // namespace duractor
