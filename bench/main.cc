// duractor_bench: runs the named workloads and prints their figures as a table (stdout),
// or as JSON lines with --json. Progress goes to stderr. See bench/README.md.
//
// Every workload runs in a child process of its own, so that no figure carries the heap,
// threads or page cache state that an earlier workload left behind (memory figures in
// particular); the child hands its figures back as JSON lines through a pipe.

#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <regex>
#include <string>

#include "bench/bench.h"

namespace {

using namespace duractor::bench;

// Runs `w` in a forked child and adds its figures to `report`. False if it failed (the
// child said why on stderr).
bool run_in_own_process(const WorkloadEntry& w, const Options& options, Report& report) {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("pipe");
    return false;
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    int status = 0;
    try {
      Report own;
      w.run(options, own);
      std::string out;
      for (const auto& f : own.figures()) out += to_json_line(f) + "\n";
      for (std::size_t done = 0; done < out.size();) {
        ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s failed: %s\n", w.name.c_str(), e.what());
      status = 1;
    }
    std::fflush(nullptr);
    ::_exit(status);  // no destructors of what the workload left running
  }
  ::close(fds[1]);
  std::string data;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int raw = 0;
  while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
  }
  for (std::size_t start = 0; start < data.size();) {
    auto end = data.find('\n', start);
    if (end == std::string::npos) break;
    report.merge(figure_from_json_line(data.substr(start, end - start)));
    start = end + 1;
  }
  if (WIFEXITED(raw) && WEXITSTATUS(raw) == 0) return true;
  std::fprintf(stderr, "%s: its process ended with %s %d\n", w.name.c_str(),
               WIFEXITED(raw) ? "status" : "signal",
               WIFEXITED(raw) ? WEXITSTATUS(raw) : WTERMSIG(raw));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duractor benchmarks"};
  Options options;
  std::vector<std::string> selected;
  bool json = false, list = false;
  app.add_option("workloads", selected, "workloads to run (regular expressions); default: all");
  app.add_option("--seconds", options.seconds, "measuring time per figure")->capture_default_str();
  app.add_flag("--quick", options.quick, "smaller sizes: the whole run fits in about a minute");
  app.add_option("--dir", options.dir, "directory for scratch stores")->capture_default_str();
  app.add_flag("--json", json, "print one JSON object per figure instead of a table");
  app.add_flag("--list", list, "list the workloads and exit");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const auto& w : workloads())
      std::printf("%-24s %s\n", w.name.c_str(), w.description.c_str());
    return 0;
  }
  Report report;
  int ran = 0, failed = 0;
  for (const auto& w : workloads()) {
    bool wanted = selected.empty();
    for (const auto& pattern : selected) {
      if (std::regex_search(w.name, std::regex(pattern))) wanted = true;
    }
    if (!wanted) continue;
    std::fprintf(stderr, "%s: %s\n", w.name.c_str(), w.description.c_str());
    if (!run_in_own_process(w, options, report)) ++failed;
    ++ran;
  }
  if (ran == 0) {
    std::fprintf(stderr, "no workload matches; --list shows them\n");
    return 2;
  }
  if (json) {
    report.print_json();
  } else {
    report.print_table();
  }
  return failed == 0 ? 0 : 1;
}
