#pragma once
// Real child processes for crash and fault tests: fork, run a function in the child, and
// kill it (SIGKILL) or wait for it. The child never returns into the test framework: it
// leaves with _exit(status). Fork before the parent starts threads or opens stores: the
// child inherits only the calling thread.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace duractor::testing {

class ChildProcess {
 public:
  // Forks and runs `body` in the child; its return value is the child's exit status.
  // An exception escaping `body` exits with status 99.
  explicit ChildProcess(std::function<int()> body);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills the child if it is still running.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Whether the child is still running (reaps it if it has exited).
  bool running();
  // SIGKILL, then reap. Idempotent. Returns the exit status as wait() does: 128 + SIGKILL
  // (137) if our signal ended it; anything else means it had died already, of its own
  // exit or crash (a sanitizer abort is 134, say). Crash tests check for 137.
  int kill();
  // Waits for the child to exit; returns its exit status, or 128 + signal if killed.
  int wait();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// A pipe whose write end a child uses to report progress, one line per fact; the parent
// reads every line written before the child died.
class LinePipe {
 public:
  LinePipe();
  LinePipe(const LinePipe&) = delete;
  LinePipe& operator=(const LinePipe&) = delete;
  ~LinePipe();

  // In the child: writes one line atomically (lines shorter than PIPE_BUF).
  void write_line(const std::string& line) const;
  // In the parent, after forking: closes the write end so that reads end at the child's
  // death.
  void close_write_end();
  // Reads all lines until every writer has closed its end (exited).
  std::vector<std::string> read_all_lines();
  // Reads one line, waiting for it; empty if every writer closed its end first.
  std::string read_line();
  // The same, giving up after `timeout`: nullopt if it passed, or every writer closed.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::string pending_;  // read but not yet returned
};

}  // namespace duractor::testing
