#include "tests/support/fuzz.h"

#include <array>
#include <cstdlib>

namespace duractor::testing {

std::uint64_t fuzz_seed() {
  if (const char* s = std::getenv("DURACTOR_FUZZ_SEED")) return std::strtoull(s, nullptr, 0);
  std::random_device device;
  return (std::uint64_t{device()} << 32) | device();
}

std::string random_text(std::mt19937_64& rng, std::size_t max_length) {
  std::string s(rng() % (max_length + 1), '\0');
  for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() : 'a' + rng() % 26);
  return s;
}

std::string mutate(std::string bytes, std::mt19937_64& rng, const std::vector<std::string>& corpus,
                   int max_mutations) {
  // msgpack type bytes (arrays, maps, strings, binaries, ints, nil, the unused 0xc1) and
  // boundary values.
  static constexpr std::array<unsigned char, 20> kInteresting = {
      0x00, 0x01, 0x7f, 0x80, 0x90, 0x9f, 0xa0, 0xc0, 0xc1, 0xc2,
      0xc4, 0xc6, 0xcc, 0xcf, 0xd3, 0xdb, 0xdc, 0xdd, 0xde, 0xff};
  int n = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(max_mutations));
  for (int i = 0; i < n; ++i) {
    auto at = [&] { return bytes.empty() ? std::size_t{0} : rng() % bytes.size(); };
    switch (rng() % 8) {
      case 0:
        if (!bytes.empty()) bytes[at()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:
        if (!bytes.empty())
          bytes[at()] = static_cast<char>(kInteresting[rng() % kInteresting.size()]);
        break;
      case 2:
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(rng() % (bytes.size() + 1)),
                     static_cast<char>(rng()));
        break;
      case 3:
        if (!bytes.empty()) {
          auto from = at();
          bytes.erase(from, 1 + rng() % 4);
        }
        break;
      case 4:
        if (!bytes.empty()) {
          auto from = at();
          auto piece = bytes.substr(from, 1 + rng() % 8);
          bytes.insert(rng() % (bytes.size() + 1), piece);
        }
        break;
      case 5:
        if (!bytes.empty() && rng() % 3 == 0) bytes.resize(rng() % bytes.size());
        break;
      case 6:
        if (!corpus.empty()) {
          const auto& other = corpus[rng() % corpus.size()];
          if (!other.empty()) {
            auto from = rng() % other.size();
            bytes.insert(rng() % (bytes.size() + 1), other.substr(from, 1 + rng() % 16));
          }
        }
        break;
      default:
        if (!bytes.empty()) bytes[at()] = static_cast<char>(rng());
    }
  }
  return bytes;
}

}  // namespace duractor::testing
