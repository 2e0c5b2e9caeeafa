#pragma once
// Runs a program (a sample, a command-line tool) as a child process and reads what it
// prints, stdout and stderr together, line by line, with timeouts. For tests that kill a
// real process with SIGKILL and run it again. The program is killed (SIGKILL) when the thread
// that started it ends, so also when the test process dies without running destructors:
// start programs on the thread that outlives them (the test's).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace duractor::testing {

class Program {
 public:
  // Starts `path` with `args` (argv[0] is `path`), in this process's environment plus
  // `environment` ("NAME=value" each; they win over inherited variables of the same name).
  Program(const std::string& path, const std::vector<std::string>& args,
          const std::vector<std::string>& environment = {});
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  ~Program();  // kills the program if it still runs

  // The next line, or nullopt when the program closed its output (exited) or `timeout`
  // passed.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Reads until a line containing `text`; returns it, or nullopt (end of output, timeout).
  std::optional<std::string> read_until(const std::string& text, std::chrono::milliseconds timeout);
  // Reads everything up to the program's exit and returns its exit status (128 + signal if
  // killed), or -1 if it is still running after `timeout` (it is then killed).
  int wait(std::chrono::milliseconds timeout);
  // SIGKILL, then reap. Returns the exit status as wait() does: 128 + SIGKILL (137) if our
  // signal ended it, anything else if it had died already (of its own exit or crash).
  int kill();

  // Every line read so far.
  const std::vector<std::string>& lines() const { return lines_; }
  pid_t pid() const { return pid_; }
  std::string output() const;  // the same, joined with newlines

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string pending_;
  std::vector<std::string> lines_;
};

}  // namespace duractor::testing
