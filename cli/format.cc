#include "duractor/cli/format.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace duractor::cli {

std::string format_duration(Milliseconds d) {
  if (d.count() < 0) return "-" + format_duration(-d);
  struct Unit {
    std::int64_t ms;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  std::int64_t left = d.count();
  if (left < 1000) return std::to_string(left) + "ms";
  std::string out;
  int parts = 0;
  for (const auto& u : kUnits) {
    if (parts == 2) break;
    if (left >= u.ms || parts == 1) {
      std::int64_t n = left / u.ms;
      left %= u.ms;
      if (parts == 1 && n == 0) break;
      if (!out.empty()) out += ' ';
      out += std::to_string(n) + u.name;
      ++parts;
    }
  }
  return out;
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) value /= 1024, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string time_and_age(TimePoint t, TimePoint now) {
  auto age = std::chrono::duration_cast<Milliseconds>(now - t);
  return iso_time(t) + (age.count() >= 0 ? " (" + format_duration(age) + " ago)"
                                         : " (in " + format_duration(-age) + ")");
}

std::string summary(const Json& view, const std::vector<std::string>& skip, std::size_t width) {
  // A string value as a field shows it: quoted as JSON if it is empty or holds a space, a
  // quote or an equals sign.
  auto field_text = [](const std::string& text) {
    if (text.empty() || text.find_first_of(" \"=") != std::string::npos) return Json(text).dump();
    return text;
  };
  std::string out;
  for (auto it = view.begin(); it != view.end(); ++it) {
    const auto& key = it.key();
    const auto& value = it.value();
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    if (value.is_null() || (value.is_array() && value.empty())) continue;
    if (value.is_boolean() && !value.get<bool>()) continue;
    std::string text;
    if (key == "input" || key == "output" || key == "payload") {
      text = value.dump();
    } else if (key == "failure") {
      // The kind and the chain follow as fields of their own.
      text = value.value("type", "") + ": " + value.value("message", "") +
             " failure_kind=" + field_text(value.value("kind", ""));
      if (value.contains("causes")) {
        std::string chain;
        for (const auto& c : value["causes"]) {
          chain += (chain.empty() ? "" : " <- ") + c.value("instance", "") + " (" +
                   c.value("name", "") + ", " + c.value("kind", "") + ")";
        }
        text += " causes=" + field_text(chain);
      }
    } else if (key == "parent") {
      text = value.value("instance", "") + "/" + std::to_string(value.value("execution", 0)) + "#" +
             std::to_string(value.value("scheduled_id", 0));
    } else if (key == "carried_events") {
      text = std::to_string(value.size());
    } else if (value.is_string()) {
      text = field_text(value.get<std::string>());
    } else if (value.is_boolean()) {
      text = "";  // a flag that is set: its name says it
    } else {
      text = value.dump();
    }
    if (!out.empty()) out += ' ';
    out += text.empty() ? key : key + "=" + text;
  }
  if (width > 3 && out.size() > width) out = out.substr(0, width - 3) + "...";
  return out;
}

void Table::print(std::ostream& out, std::string_view indent) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) widths[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text(indent);
    for (std::size_t c = 0; c < cells.size() && c < widths.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text += std::string(widths[c] - cells[c].size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

}  // namespace duractor::cli
