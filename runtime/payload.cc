#include "duractor/runtime/payload.h"

#include <sstream>

#include <fmt/format.h>

namespace duractor::detail {

Result<msgpack::object_handle> unpack_exactly(std::string_view bytes) {
  if (bytes.empty()) return fail(ErrorCode::kCorrupt, "empty input");
  // Every element of a container takes at least one byte, so no honest container is
  // larger than the input; capping the limits at the input size keeps forged headers from
  // allocating gigabytes before the truncation is noticed.
  const auto n = static_cast<std::size_t>(bytes.size());
  msgpack::unpack_limit limit(n, n / 2 + 1, n, n, n, 64);
  try {
    std::size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
    if (offset != bytes.size()) {
      return fail(ErrorCode::kCorrupt,
                  std::to_string(bytes.size() - offset) + " trailing bytes after the value");
    }
    return handle;
  } catch (const msgpack::insufficient_bytes&) {
    return fail(ErrorCode::kCorrupt, "truncated msgpack value");
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt, std::string("malformed msgpack: ") + e.what());
  }
}

}  // namespace duractor::detail

namespace duractor {

std::string describe_payload(std::string_view bytes, std::size_t max_chars) {
  auto handle = detail::unpack_exactly(bytes);
  std::string text;
  if (!handle) {
    text = fmt::format("<{} undecodable bytes>", bytes.size());
  } else {
    std::ostringstream out;
    out << handle->get();
    text = out.str();
  }
  if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
  return text;
}

}  // namespace duractor
