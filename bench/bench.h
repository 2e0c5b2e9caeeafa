#pragma once
// The benchmark harness: named workloads, each reporting figures that are printed as a
// table and, with --json, as one JSON object per line. See bench/README.md.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace duractor::bench {

struct Figure {
  std::string workload;
  std::string figure;
  double value = 0;
  std::string unit;
  std::optional<double> baseline;  // the same figure for the baseline, measured in this run
  std::string baseline_name;       // what the baseline is
  // What we aim for (a goal, not a measurement): printed next to the value, never used as
  // a baseline for the ratio.
  std::optional<double> target;
  std::optional<double> ratio() const {
    if (!baseline || *baseline == 0) return std::nullopt;
    return value / *baseline;
  }
};

struct Options {
  double seconds = 2.0;      // measuring time per figure
  bool quick = false;        // smaller sizes, for a run that fits in a minute
  std::string dir = "/tmp";  // where stores are created (and removed)
};

class Report {
 public:
  // Adds a figure and prints it on stderr as progress.
  void add(Figure f);
  // Adds a figure measured elsewhere (a workload's own process), without printing it.
  void merge(Figure f) { figures_.push_back(std::move(f)); }
  const std::vector<Figure>& figures() const { return figures_; }
  void print_table() const;
  void print_json() const;

 private:
  std::vector<Figure> figures_;
};

// One figure as one line of JSON, and back (throws on a line that is not one).
std::string to_json_line(const Figure& f);
Figure figure_from_json_line(const std::string& line);

using Workload = std::function<void(const Options&, Report&)>;

struct WorkloadEntry {
  std::string name;
  std::string description;
  Workload run;
};

// Every workload, in the order they run.
std::vector<WorkloadEntry>& workloads();
struct Register {
  Register(std::string name, std::string description, Workload run);
};

double seconds_since(std::chrono::steady_clock::time_point start);

// A directory under Options::dir, removed with its contents on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const Options& options, const std::string& tag);
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace duractor::bench
