#include "duractor/runtime/ids.h"

#include <array>
#include <cstdio>
#include <mutex>
#include <random>

namespace duractor {
namespace {

Status validate_text(std::string_view text, std::string_view what, std::size_t max_bytes) {
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  if (text.size() > max_bytes) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(what) + " is " + std::to_string(text.size()) +
                    " bytes long; the limit is " + std::to_string(max_bytes));
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      return fail(ErrorCode::kInvalidArgument,
                  std::string(what) + " '" + std::string(text.substr(0, i)) +
                      "...' contains control character " + hex + " at byte " + std::to_string(i));
    }
  }
  return {};
}

std::string format_uuid(std::array<std::uint8_t, 16> b) {
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// FNV-1a 64 with a given offset basis; two differently seeded runs give 128 bits.
std::uint64_t fnv1a(std::string_view data, std::uint64_t basis) {
  std::uint64_t h = basis;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // Final avalanche (splitmix64 finalizer) so nearby seeds give unrelated ids.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

}  // namespace

Status validate_instance_id(std::string_view id) {
  return validate_text(id, "instance id", kMaxInstanceIdBytes);
}

Status validate_name(std::string_view name, std::string_view what) {
  return validate_text(name, what, kMaxNameBytes);
}

std::string random_uuid() {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::array<std::uint8_t, 16> b{};
  {
    std::lock_guard lock(mutex);
    std::uint64_t hi = rng(), lo = rng();
    for (int i = 0; i < 8; ++i) {
      b[i] = static_cast<std::uint8_t>(hi >> (8 * i));
      b[8 + i] = static_cast<std::uint8_t>(lo >> (8 * i));
    }
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  return format_uuid(b);
}

std::string uuid_from_seed(std::string_view seed) {
  std::uint64_t hi = fnv1a(seed, 0xcbf29ce484222325ULL);
  std::uint64_t lo = fnv1a(seed, 0x84222325cbf29ce4ULL);
  std::array<std::uint8_t, 16> b{};
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x50);  // name-based (version 5 layout)
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  return format_uuid(b);
}

}  // namespace duractor
