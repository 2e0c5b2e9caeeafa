#include "duractor/cli/format.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace duractor::cli {

Result<Milliseconds> parse_duration(std::string_view text) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "bad duration '" + std::string(text) +
                    "': expected a number followed by ms, s, m, h, d or w (e.g. 30s, 10m, 2h, 7d)");
  };
  if (text.empty()) return bad();
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t digits = i;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == i || digits - i > 12) return bad();
    std::int64_t number = std::stoll(std::string(text.substr(i, digits - i)));
    std::size_t unit_end = digits;
    while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end]))) {
      ++unit_end;
    }
    auto unit = text.substr(digits, unit_end - digits);
    std::int64_t scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else if (unit == "d")
      scale = 86'400'000;
    else if (unit == "w")
      scale = 7 * 86'400'000LL;
    else
      return bad();
    total += number * scale;
    i = unit_end;
  }
  return Milliseconds(total);
}

Result<TimePoint> parse_time(std::string_view text, TimePoint now) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "bad time '" + std::string(text) +
                    "': expected a UTC time (2026-11-26T10:46:12Z, 2026-11-26T10:46:12.553Z), a "
                    "date (2026-11-26) or a duration ago (30m, 7d)");
  };
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text.back()))) {
    // Only a date ends in a digit ("2026-11-26"); a time ends in Z, a duration in a unit.
    if (text.size() != 10) return bad();
  } else if (text.find('-') == std::string_view::npos) {
    auto ago = parse_duration(text);
    if (!ago) return bad();
    return now - *ago;
  }
  // Every field has a fixed width: check each character's kind, then read the numbers.
  std::string_view shape = text.size() == 10   ? "dddd-dd-dd"
                           : text.size() == 20 ? "dddd-dd-ddTdd:dd:ddZ"
                           : text.size() == 24 ? "dddd-dd-ddTdd:dd:dd.dddZ"
                                               : "";
  if (shape.empty()) return bad();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return bad();
  }
  auto number = [&](std::size_t at, std::size_t width) {
    return std::stoi(std::string(text.substr(at, width)));
  };
  std::tm utc{};
  utc.tm_year = number(0, 4) - 1900;
  utc.tm_mon = number(5, 2) - 1;
  utc.tm_mday = number(8, 2);
  if (text.size() > 10) {
    utc.tm_hour = number(11, 2);
    utc.tm_min = number(14, 2);
    utc.tm_sec = number(17, 2);
  }
  int millis = text.size() == 24 ? number(20, 3) : 0;
  std::tm normalized = utc;
  std::time_t seconds = ::timegm(&normalized);
  // timegm carries an out-of-range field over (Feb 30 becomes Mar 2): refuse those.
  if (normalized.tm_year != utc.tm_year || normalized.tm_mon != utc.tm_mon ||
      normalized.tm_mday != utc.tm_mday || normalized.tm_hour != utc.tm_hour ||
      normalized.tm_min != utc.tm_min || normalized.tm_sec != utc.tm_sec) {
    return bad();
  }
  return from_unix_ms(static_cast<std::int64_t>(seconds) * 1000 + millis);
}

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
