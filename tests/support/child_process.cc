#include "tests/support/child_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <stdexcept>

namespace duractor::testing {

ChildProcess::ChildProcess(std::function<int()> body) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int status = 99;
    try {
      status = body();
    } catch (...) {
      status = 99;
    }
    ::_exit(status);
  }
}

ChildProcess::~ChildProcess() {
  kill();
}

bool ChildProcess::running() {
  if (pid_ <= 0 || reaped_) return false;
  int raw = 0;
  pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    reaped_ = true;
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  }
  return false;
}

int ChildProcess::kill() {
  if (pid_ <= 0 || reaped_) return status_;
  ::kill(pid_, SIGKILL);
  return wait();
}

int ChildProcess::wait() {
  if (reaped_) return status_;
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return status_;
}

LinePipe::LinePipe() {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

LinePipe::~LinePipe() {
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
}

void LinePipe::write_line(const std::string& line) const {
  std::string data = line + "\n";
  ssize_t n = ::write(write_fd_, data.data(), data.size());
  (void)n;
}

void LinePipe::close_write_end() {
  if (write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = -1;
}

std::string LinePipe::read_line() {
  return read_line(std::chrono::hours(24 * 365)).value_or(std::string());  // no deadline
}

std::optional<std::string> LinePipe::read_line(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto end = pending_.find('\n');
    if (end != std::string::npos) {
      std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{read_fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60'000)));
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;  // the loop checks the time
    if (ready < 0) return std::nullopt;
    char chunk[4096];
    ssize_t n = ::read(read_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    pending_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::vector<std::string> LinePipe::read_all_lines() {
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(read_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending_.append(chunk, static_cast<std::size_t>(n));
  }
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    auto end = pending_.find('\n', start);
    if (end == std::string::npos) break;  // a partial last line was never acknowledged
    lines.push_back(pending_.substr(start, end - start));
    start = end + 1;
  }
  pending_.erase(0, start);
  return lines;
}

}  // namespace duractor::testing
