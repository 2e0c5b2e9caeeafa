// duractor_bench: runs the named workloads and prints their figures as a table (stdout),
// or as JSON lines with --json. Progress goes to stderr. See bench/README.md.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <regex>

#include "bench/bench.h"

int main(int argc, char** argv) {
  using namespace duractor::bench;
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
    for (const auto& w : workloads()) std::printf("%-24s %s\n", w.name.c_str(), w.description.c_str());
    return 0;
  }
  Report report;
  int ran = 0;
  for (const auto& w : workloads()) {
    bool wanted = selected.empty();
    for (const auto& pattern : selected) {
      if (std::regex_search(w.name, std::regex(pattern))) wanted = true;
    }
    if (!wanted) continue;
    std::fprintf(stderr, "%s: %s\n", w.name.c_str(), w.description.c_str());
    w.run(options, report);
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
  return 0;
}
