#pragma once
// Text for humans, for the duractor CLI: durations (parsed from flags and printed), byte
// sizes, aligned tables, and one-line summaries of JSON views. Pure functions; thread-safe.

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "duractor/cli/json_view.h"
#include "duractor/ops/detail/time_text.h"
#include "duractor/runtime/error.h"
#include "duractor/runtime/time.h"

namespace duractor::cli {

// parse_duration, parse_time: ops/detail/time_text.h, shared with the HTTP API.
using duractor::detail::parse_duration;
using duractor::detail::parse_time;
// The two largest units: "3d 4h", "2h 5m", "5m 3s", "12s", "850ms"; negative: "-5s".
std::string format_duration(Milliseconds d);
// "1.5 MiB", "512 B".
std::string format_bytes(std::uint64_t bytes);
// An ISO time and how long ago (or ahead) of `now` it is: "2024-...Z (5m 3s ago)".
std::string time_and_age(TimePoint t, TimePoint now);

// The fields of a JSON view after the ones named in `skip`, on one line for a table:
// name=value pairs, payloads (input, output, payload) as compact JSON, failures as
// "type: message", parents as "instance/execution#id". Cut at `width` characters (0: never).
std::string summary(const Json& view, const std::vector<std::string>& skip, std::size_t width);

// Columns aligned on their widest cell; the last column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out, std::string_view indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace duractor::cli
