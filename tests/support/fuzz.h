#pragma once
// Helpers for the decoders' fuzz tests (codec_test.cc, records_test.cc): a seed that
// changes from run to run and is printed, stacked mutations of valid records, and inputs
// handed to a decoder as an exactly sized heap copy, so that AddressSanitizer (the
// sanitizer build) sees a read one byte past the end.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace duractor::testing {

// The seed for one fuzz test: DURACTOR_FUZZ_SEED if set (to repeat a failure), else a
// fresh random one. The test prints it (MESSAGE) and captures it for failures.
std::uint64_t fuzz_seed();

// Applies between 1 and `max_mutations` mutations, one on top of the other: flip bits, set
// a byte to a msgpack type byte or a boundary value, insert, erase or duplicate a range,
// truncate, or splice in a piece of another record from `corpus`.
std::string mutate(std::string bytes, std::mt19937_64& rng, const std::vector<std::string>& corpus,
                   int max_mutations = 8);

// A random string of 0..max_length bytes, any byte values (NUL and non-UTF-8 included).
std::string random_text(std::mt19937_64& rng, std::size_t max_length = 24);

// Calls decode(std::string_view) on a heap copy of `bytes` that is exactly bytes.size()
// long, and returns what it returns. The copy is freed afterwards: a decoded value must
// not point into it.
template <class Decode>
auto on_exact_heap_copy(std::string_view bytes, Decode decode) {
  auto copy = std::make_unique<char[]>(bytes.size());
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return decode(std::string_view(copy.get(), bytes.size()));
}

// One decoder against `bytes` (on an exact heap copy): if it accepts them, encoding what it
// decoded and decoding that again must give the same value; if it refuses them, its error
// must say why. Returns 1 if it decoded, else 0.
template <class Decode, class Encode>
int check_round_trip(std::string_view bytes, Decode decode, Encode encode) {
  auto value = on_exact_heap_copy(bytes, decode);
  if (!value) {
    CHECK_FALSE(value.error().message.empty());
    return 0;
  }
  auto again = decode(encode(*value));
  REQUIRE_MESSAGE(again, again.error().to_string());
  CHECK(*again == *value);
  return 1;
}

}  // namespace duractor::testing
