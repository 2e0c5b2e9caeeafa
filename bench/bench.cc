#include "bench/bench.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace duractor::bench {

std::vector<WorkloadEntry>& workloads() {
  static std::vector<WorkloadEntry> all;
  return all;
}

Register::Register(std::string name, std::string description, Workload run) {
  workloads().push_back({std::move(name), std::move(description), std::move(run)});
}

void Report::add(Figure f) {
  figures_.push_back(std::move(f));
  const auto& x = figures_.back();
  std::fprintf(stderr, "  %-24s %-34s %14.1f %s\n", x.workload.c_str(), x.figure.c_str(), x.value,
               x.unit.c_str());
}

void Report::print_table() const {
  std::printf("%-24s %-52s %14s %-12s %10s %8s  %-18s %s\n", "workload", "figure", "value", "unit",
              "baseline", "ratio", "baseline is", "target");
  for (const auto& f : figures_) {
    char baseline[32] = "";
    if (f.baseline) std::snprintf(baseline, sizeof baseline, "%.1f", *f.baseline);
    char ratio[32] = "";
    if (auto r = f.ratio()) std::snprintf(ratio, sizeof ratio, "%.2fx", *r);
    char target[32] = "";
    if (f.target) std::snprintf(target, sizeof target, "%.1f", *f.target);
    std::printf("%-24s %-52s %14.1f %-12s %10s %8s  %-18s %s\n", f.workload.c_str(),
                f.figure.c_str(), f.value, f.unit.c_str(), baseline, ratio, f.baseline_name.c_str(),
                target);
  }
}

std::string to_json_line(const Figure& f) {
  nlohmann::json j{
      {"workload", f.workload}, {"figure", f.figure}, {"value", f.value}, {"unit", f.unit}};
  j["baseline"] = f.baseline ? nlohmann::json(*f.baseline) : nlohmann::json(nullptr);
  auto r = f.ratio();
  j["ratio"] = r ? nlohmann::json(*r) : nlohmann::json(nullptr);
  if (!f.baseline_name.empty()) j["baseline_name"] = f.baseline_name;
  j["target"] = f.target ? nlohmann::json(*f.target) : nlohmann::json(nullptr);
  return j.dump();
}

Figure figure_from_json_line(const std::string& line) {
  auto j = nlohmann::json::parse(line);
  Figure f;
  f.workload = j.at("workload");
  f.figure = j.at("figure");
  f.value = j.at("value");
  f.unit = j.at("unit");
  if (!j.at("baseline").is_null()) f.baseline = j.at("baseline").get<double>();
  f.baseline_name = j.value("baseline_name", "");
  if (!j.at("target").is_null()) f.target = j.at("target").get<double>();
  return f;
}

void Report::print_json() const {
  for (const auto& f : figures_) std::printf("%s\n", to_json_line(f).c_str());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ScratchDir::ScratchDir(const Options& options, const std::string& tag) {
  std::string pattern = options.dir + "/duractor-bench-" + tag + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("cannot create " + pattern);
  path_ = buffer.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace duractor::bench
