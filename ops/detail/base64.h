#pragma once
// Standard base64 (RFC 4648 alphabet, padded): how the export file keeps each record's
// bytes. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace duractor::detail {

std::string base64(std::string_view bytes);
// Nullopt if `text` is not base64 (standard alphabet, padded).
std::optional<std::string> from_base64(std::string_view text);

}  // namespace duractor::detail
