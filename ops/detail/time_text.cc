// Durations and times as people type them, for the CLI's flags and the HTTP API's
// parameters.

#include "duractor/ops/detail/time_text.h"

#include <cctype>
#include <ctime>
#include <string>

namespace duractor::detail {

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

}  // namespace duractor::detail
