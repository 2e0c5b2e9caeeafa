#pragma once
// WriterFirstSharedMutex: a reader-writer lock under which a waiting writer goes before
// readers that arrive after it. Internal.
//
// std::shared_mutex is glibc's default rwlock, which prefers readers: while readers overlap
// without a gap, a thread waiting for the exclusive lock waits for ever. The LMDB store
// takes its environment lock exclusively after each journal compaction; a few threads that
// read histories in a loop (a dashboard, a replay check) could hold the store's writer
// there and so stop every commit. This lock takes glibc's writer-preferring kind instead.
//
// The price is that a thread must not take the shared lock twice: with a writer waiting,
// its second shared lock would wait for the writer, which waits for its first. Debug builds
// check that (an assertion names it); the store never nests its transactions.

#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <system_error>
#include <vector>

namespace duractor::detail {

class WriterFirstSharedMutex {
 public:
  WriterFirstSharedMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_rwlock_init");
  }
  ~WriterFirstSharedMutex() { pthread_rwlock_destroy(&lock_); }
  WriterFirstSharedMutex(const WriterFirstSharedMutex&) = delete;
  WriterFirstSharedMutex& operator=(const WriterFirstSharedMutex&) = delete;

  void lock() {
    note_taken();
    pthread_rwlock_wrlock(&lock_);
  }
  void unlock() {
    pthread_rwlock_unlock(&lock_);
    note_released();
  }
  void lock_shared() {
    note_taken();
    pthread_rwlock_rdlock(&lock_);
  }
  void unlock_shared() {
    pthread_rwlock_unlock(&lock_);
    note_released();
  }

 private:
#ifndef NDEBUG
  // The locks of this kind the calling thread holds.
  static std::vector<const WriterFirstSharedMutex*>& held() {
    thread_local std::vector<const WriterFirstSharedMutex*> locks;
    return locks;
  }
  void note_taken() const {
    auto& locks = held();
    assert(std::find(locks.begin(), locks.end(), this) == locks.end() &&
           "WriterFirstSharedMutex taken twice by one thread");
    locks.push_back(this);
  }
  void note_released() const {
    auto& locks = held();
    locks.erase(std::find(locks.begin(), locks.end(), this));
  }
#else
  void note_taken() const {}
  void note_released() const {}
#endif

  pthread_rwlock_t lock_;
};

}  // namespace duractor::detail
