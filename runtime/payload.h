#pragma once
// Payloads: inputs and outputs of orchestrations and activities, event and topic payloads.
// They travel and are stored as msgpack bytes (Bytes); any type msgpack-c can pack and
// convert works: built-ins, std containers, std::optional, std::variant-free user structs
// with MSGPACK_DEFINE. Decoding is checked: bytes that do not convert to the expected type
// give kPayloadMismatch naming the type, never undefined behaviour.

#include <cstdint>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "duractor/runtime/error.h"

namespace duractor {

// Encoded payload bytes (msgpack).
using Bytes = std::string;

// The payload of operations that produce no value (timers, activities returning nothing).
struct Unit {
  bool operator==(const Unit&) const = default;
  template <class Packer>
  void msgpack_pack(Packer& packer) const {
    packer.pack_nil();
  }
  void msgpack_unpack(const msgpack::object&) {}
};

// The readable name of T, for error messages ("int", "std::vector<Order>").
template <class T>
std::string_view type_name() {
  std::string_view f = __PRETTY_FUNCTION__;
  auto start = f.find("T = ") + 4;
  auto end = f.find_first_of(";]", start);
  return f.substr(start, end - start);
}
template <>
inline std::string_view type_name<std::string>() {
  return "std::string";
}

namespace detail {
// Unpacks one msgpack object spanning all of `bytes`, with size limits derived from the
// input length so that a forged length prefix cannot trigger a huge allocation.
Result<msgpack::object_handle> unpack_exactly(std::string_view bytes);
}  // namespace detail

template <class T>
Bytes encode(const T& value) {
  struct Sink {
    Bytes& out;
    void write(const char* data, std::size_t size) { out.append(data, size); }
  };
  Bytes out;
  Sink sink{out};
  msgpack::pack(sink, value);
  return out;
}

// Decodes `bytes` as T. Errors: kPayloadMismatch when the bytes are not one msgpack value
// or that value does not convert to T; the message names T and the cause.
template <class T>
Result<T> decode(std::string_view bytes) {
  auto handle = detail::unpack_exactly(bytes);
  if (!handle) {
    return fail(ErrorCode::kPayloadMismatch, "payload does not decode as " +
                                                 std::string(type_name<T>()) + ": " +
                                                 handle.error().message);
  }
  try {
    return handle->get().template as<T>();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kPayloadMismatch,
                "payload does not decode as " + std::string(type_name<T>()) + ": " + e.what());
  }
}

// A short readable rendering of a payload for logs and error messages (msgpack's JSON-like
// text form, truncated to `max_chars`).
std::string describe_payload(std::string_view bytes, std::size_t max_chars = 120);

}  // namespace duractor
