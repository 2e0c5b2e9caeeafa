// The power-loss shim, an LD_PRELOAD library for tests: it keeps an undo log of every
// unsynced write to one file, so that a test can drop those writes after the process died
// (see tests/support/power_loss.h for the contract and simulate_power_loss()).
//
// It wraps the calls LMDB makes to write and sync its data file (`nm -D liblmdb.so`:
// open, write, pwrite, writev, fsync, fdatasync, ftruncate) and their 64-bit and
// vectored siblings. Descriptors of other files pass straight through. Writes to the
// watched file are serialized by one mutex, with the log record appended before the write
// begins: a process killed in between leaves a record whose undo is a no-op.

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/power_loss.h"

using duractor::testing::PowerLossRecord;

namespace {

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

using OpenFn = int (*)(const char*, int, ...);
using OpenatFn = int (*)(int, const char*, int, ...);
using WriteFn = ssize_t (*)(int, const void*, size_t);
using PwriteFn = ssize_t (*)(int, const void*, size_t, off_t);
using WritevFn = ssize_t (*)(int, const struct iovec*, int);
using PwritevFn = ssize_t (*)(int, const struct iovec*, int, off_t);
using SyncFn = int (*)(int);
using TruncateFn = int (*)(int, off_t);
using LseekFn = off_t (*)(int, off_t, int);

constexpr int kMaxFd = 4096;

struct State {
  std::mutex mutex;
  std::string watched;  // DURACTOR_POWER_LOSS_FILE; empty: the shim does nothing
  std::string log_path;
  int log_fd = -1;   // O_APPEND; under mutex
  int read_fd = -1;  // the watched file, for reading pre-images; under mutex
  std::atomic<bool> tracked[kMaxFd] = {};
};

State& state() {
  static State* s = [] {
    auto* st = new State;  // never destroyed: destructors may run while others still write
    if (const char* f = std::getenv("DURACTOR_POWER_LOSS_FILE")) st->watched = f;
    if (const char* l = std::getenv("DURACTOR_POWER_LOSS_LOG")) st->log_path = l;
    if (st->log_path.empty()) st->watched.clear();
    return st;
  }();
  return *s;
}

// The canonical path of the watched file: its directory resolved (the file may not
// exist yet when the shim starts).
std::string canonical_watched() {
  const auto& w = state().watched;
  auto slash = w.rfind('/');
  if (slash == std::string::npos) return w;
  char dir[PATH_MAX];
  if (::realpath(w.substr(0, slash).c_str(), dir) == nullptr) return w;
  return std::string(dir) + w.substr(slash);
}

void note_open(int fd) {
  if (fd < 0 || fd >= kMaxFd || state().watched.empty()) return;
  char link[64], target[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  bool watched = false;
  if (n > 0) {
    target[n] = '\0';
    watched = canonical_watched() == target;
  }
  state().tracked[fd].store(watched);
}

bool is_tracked(int fd) {
  return fd >= 0 && fd < kMaxFd && state().tracked[fd].load();
}

void append_all(int fd, const void* data, std::size_t size) {
  static auto real_write = real<WriteFn>("write");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = real_write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::abort();  // a lost log record would make the test lie
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Under mutex: records what a write of `length` bytes at `offset` through `fd` will change.
void record_write(int fd, std::uint64_t offset, const std::vector<const struct iovec*>& parts,
                  std::uint64_t length) {
  auto& s = state();
  static auto real_open = real<OpenFn>("open");
  if (s.log_fd < 0) {
    s.log_fd = real_open(s.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s.log_fd < 0) std::abort();
  }
  if (s.read_fd < 0) {
    s.read_fd = real_open(canonical_watched().c_str(), O_RDONLY | O_CLOEXEC);
    if (s.read_fd < 0) std::abort();
  }
  struct stat st {};
  if (::fstat(s.read_fd, &st) != 0) std::abort();
  PowerLossRecord header;
  header.offset = offset;
  header.size_before = static_cast<std::uint64_t>(st.st_size);
  int flags = ::fcntl(fd, F_GETFL);
  bool durable = flags >= 0 && (flags & O_DSYNC) != 0;  // O_SYNC includes O_DSYNC
  std::string bytes;
  if (durable) {
    header.kind = PowerLossRecord::kRedo;
    for (const auto* part : parts)
      bytes.append(static_cast<const char*>(part->iov_base), part->iov_len);
  } else {
    header.kind = PowerLossRecord::kUndo;
    std::uint64_t existing =
        offset >= header.size_before ? 0 : std::min(length, header.size_before - offset);
    bytes.resize(existing);
    std::size_t done = 0;
    while (done < existing) {
      ssize_t n = ::pread(s.read_fd, bytes.data() + done, existing - done,
                          static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
  }
  header.length = bytes.size();
  append_all(s.log_fd, &header, sizeof header);
  append_all(s.log_fd, bytes.data(), bytes.size());
}

std::uint64_t total(const struct iovec* iov, int count) {
  std::uint64_t n = 0;
  for (int i = 0; i < count; ++i) n += iov[i].iov_len;
  return n;
}

std::vector<const struct iovec*> parts_of(const struct iovec* iov, int count) {
  std::vector<const struct iovec*> parts;
  for (int i = 0; i < count; ++i) parts.push_back(&iov[i]);
  return parts;
}

off_t current_offset(int fd) {
  static auto real_lseek = real<LseekFn>("lseek");
  return real_lseek(fd, 0, SEEK_CUR);
}

// Under mutex: the watched file is durable up to here; the log starts over.
void synced() {
  auto& s = state();
  if (s.log_fd >= 0 && ::ftruncate(s.log_fd, 0) != 0) std::abort();
}

mode_t mode_argument(int flags, va_list args) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(args, mode_t) : 0;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  static auto real_open = real<OpenFn>("open");
  va_list args;
  va_start(args, flags);
  mode_t mode = mode_argument(flags, args);
  va_end(args);
  int fd = real_open(path, flags, mode);
  note_open(fd);
  return fd;
}

int open64(const char* path, int flags, ...) {
  static auto real_open = real<OpenFn>("open64");
  va_list args;
  va_start(args, flags);
  mode_t mode = mode_argument(flags, args);
  va_end(args);
  int fd = real_open(path, flags, mode);
  note_open(fd);
  return fd;
}

int openat(int dir, const char* path, int flags, ...) {
  static auto real_openat = real<OpenatFn>("openat");
  va_list args;
  va_start(args, flags);
  mode_t mode = mode_argument(flags, args);
  va_end(args);
  int fd = real_openat(dir, path, flags, mode);
  note_open(fd);
  return fd;
}

ssize_t write(int fd, const void* data, size_t size) {
  static auto real_write = real<WriteFn>("write");
  if (!is_tracked(fd)) return real_write(fd, data, size);
  std::lock_guard lock(state().mutex);
  struct iovec part {
    const_cast<void*>(data), size
  };
  record_write(fd, static_cast<std::uint64_t>(current_offset(fd)), {&part}, size);
  return real_write(fd, data, size);
}

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  static auto real_pwrite = real<PwriteFn>("pwrite");
  if (!is_tracked(fd)) return real_pwrite(fd, data, size, offset);
  std::lock_guard lock(state().mutex);
  struct iovec part {
    const_cast<void*>(data), size
  };
  record_write(fd, static_cast<std::uint64_t>(offset), {&part}, size);
  return real_pwrite(fd, data, size, offset);
}

ssize_t pwrite64(int fd, const void* data, size_t size, off_t offset) {
  static auto real_pwrite = real<PwriteFn>("pwrite64");
  if (!is_tracked(fd)) return real_pwrite(fd, data, size, offset);
  std::lock_guard lock(state().mutex);
  struct iovec part {
    const_cast<void*>(data), size
  };
  record_write(fd, static_cast<std::uint64_t>(offset), {&part}, size);
  return real_pwrite(fd, data, size, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  static auto real_writev = real<WritevFn>("writev");
  if (!is_tracked(fd)) return real_writev(fd, iov, count);
  std::lock_guard lock(state().mutex);
  record_write(fd, static_cast<std::uint64_t>(current_offset(fd)), parts_of(iov, count),
               total(iov, count));
  return real_writev(fd, iov, count);
}

ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  static auto real_pwritev = real<PwritevFn>("pwritev");
  if (!is_tracked(fd)) return real_pwritev(fd, iov, count, offset);
  std::lock_guard lock(state().mutex);
  record_write(fd, static_cast<std::uint64_t>(offset), parts_of(iov, count), total(iov, count));
  return real_pwritev(fd, iov, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec* iov, int count, off_t offset) {
  static auto real_pwritev = real<PwritevFn>("pwritev64");
  if (!is_tracked(fd)) return real_pwritev(fd, iov, count, offset);
  std::lock_guard lock(state().mutex);
  record_write(fd, static_cast<std::uint64_t>(offset), parts_of(iov, count), total(iov, count));
  return real_pwritev(fd, iov, count, offset);
}

int fsync(int fd) {
  static auto real_fsync = real<SyncFn>("fsync");
  if (!is_tracked(fd)) return real_fsync(fd);
  std::lock_guard lock(state().mutex);
  int rc = real_fsync(fd);
  if (rc == 0) synced();
  return rc;
}

int fdatasync(int fd) {
  static auto real_fdatasync = real<SyncFn>("fdatasync");
  if (!is_tracked(fd)) return real_fdatasync(fd);
  std::lock_guard lock(state().mutex);
  int rc = real_fdatasync(fd);
  if (rc == 0) synced();
  return rc;
}

// Growing the file is recorded as an empty write at its old end, whose size_before the
// power loss restores. Shrinking it would lose bytes the undo log cannot bring back; LMDB
// does not shrink its data file without MDB_WRITEMAP, so the shim refuses loudly rather
// than lie.
int ftruncate(int fd, off_t length) {
  static auto real_ftruncate = real<TruncateFn>("ftruncate");
  if (!is_tracked(fd)) return real_ftruncate(fd, length);
  std::lock_guard lock(state().mutex);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return real_ftruncate(fd, length);
  if (length < st.st_size) std::abort();
  record_write(fd, static_cast<std::uint64_t>(st.st_size), {}, 0);
  return real_ftruncate(fd, length);
}

int close(int fd) {
  static auto real_close = real<SyncFn>("close");
  if (fd >= 0 && fd < kMaxFd) state().tracked[fd].store(false);
  return real_close(fd);
}

}  // extern "C"
