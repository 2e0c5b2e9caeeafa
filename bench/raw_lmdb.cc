#include "bench/raw_lmdb.h"

#include <lmdb.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace duractor::bench {

double raw_lmdb_commits_per_second(const std::string& dir, int puts, int value_bytes,
                                   double seconds) {
  MDB_env* env = nullptr;
  auto check = [](int rc, const char* what) {
    if (rc != 0)
      throw std::runtime_error(std::string("raw lmdb ") + what + ": " + mdb_strerror(rc));
  };
  check(mdb_env_create(&env), "create");
  check(mdb_env_set_mapsize(env, std::size_t{1} << 32), "mapsize");
  check(mdb_env_set_maxdbs(env, 4), "maxdbs");
  check(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0664), "open");
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  check(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
  check(mdb_dbi_open(txn, "t", MDB_CREATE, &dbi), "dbi");
  check(mdb_txn_commit(txn), "commit");

  std::string value(static_cast<std::size_t>(value_bytes), 'v');
  std::uint64_t commits = 0, key = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    check(mdb_txn_begin(env, nullptr, 0, &txn), "begin");
    for (int i = 0; i < puts; ++i) {
      std::uint64_t k = __builtin_bswap64(++key);  // big-endian: appends in key order
      MDB_val kv{sizeof k, &k}, vv{value.size(), value.data()};
      check(mdb_put(txn, dbi, &kv, &vv, 0), "put");
    }
    check(mdb_txn_commit(txn), "commit");
    ++commits;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  mdb_env_close(env);
  return static_cast<double>(commits) / elapsed;
}

}  // namespace duractor::bench
