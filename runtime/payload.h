#pragma once
// Payloads: inputs and outputs of orchestrations and activities, event and topic payloads.
// They travel and are stored as msgpack bytes (Bytes); any type msgpack-c can pack and
// convert works: built-ins, std containers, std::optional, std::variant-free user structs
// with MSGPACK_DEFINE. Decoding is checked: bytes that do not convert to the expected type
// give kPayloadMismatch naming the type, never undefined behaviour.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <msgpack.hpp>

#include "duractor/runtime/error.h"

namespace duractor {

// A payload already encoded (msgpack bytes). A distinct type, not std::string, so that a
// std::string is always a value to encode: every API that takes a payload has an overload
// for any T, which encodes it, and one for Bytes, which takes the bytes as they are. Bytes
// are made only on purpose (encode(), or the explicit constructor from encoded bytes) and
// read as a std::string_view (decode(), describe_payload()). Stored and sent exactly as a
// std::string was before (a msgpack str), so stores written before this type keep reading.
class Bytes {
 public:
  Bytes() = default;
  explicit Bytes(std::string encoded) noexcept : encoded_(std::move(encoded)) {}
  explicit Bytes(std::string_view encoded) : encoded_(encoded) {}
  explicit Bytes(const char* data, std::size_t size) : encoded_(data, size) {}

  // The encoded bytes.
  const std::string& str() const& noexcept { return encoded_; }
  std::string str() && noexcept { return std::move(encoded_); }
  operator std::string_view() const noexcept { return encoded_; }  // NOLINT: reading is free
  const char* data() const noexcept { return encoded_.data(); }
  std::size_t size() const noexcept { return encoded_.size(); }
  bool empty() const noexcept { return encoded_.empty(); }

  friend bool operator==(const Bytes&, const Bytes&) = default;

  // msgpack: a str, as std::string (what stores and messages hold).
  template <class Packer>
  void msgpack_pack(Packer& packer) const {
    packer.pack(encoded_);
  }
  void msgpack_unpack(const msgpack::object& object) { object.convert(encoded_); }
  void msgpack_object(msgpack::object* object, msgpack::zone& zone) const {
    *object = msgpack::object(encoded_, zone);
  }
  // CAF (actor messages), without naming CAF here.
  template <class Inspector>
  friend auto inspect(Inspector& f, Bytes& x) {
    return f(x.encoded_);
  }

 private:
  std::string encoded_;
};

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

// Encodes `value` as msgpack. Bytes are encoded already: they are given back as they are.
template <class T>
Bytes encode(const T& value) {
  if constexpr (std::is_same_v<T, Bytes>) {
    return value;
  } else {
    struct Sink {
      std::string& out;
      void write(const char* data, std::size_t size) { out.append(data, size); }
    };
    std::string out;
    Sink sink{out};
    msgpack::pack(sink, value);
    return Bytes(std::move(out));
  }
}

// Decodes `bytes` as T. Errors: kPayloadMismatch when the bytes are not one msgpack value
// or that value does not convert to T; the message names T and the cause.
// Decoding as Bytes checks that they are one msgpack value and gives them back as they are.
template <class T>
Result<T> decode(std::string_view bytes) {
  auto handle = detail::unpack_exactly(bytes);
  if (!handle) {
    return fail(ErrorCode::kPayloadMismatch, "payload does not decode as " +
                                                 std::string(type_name<T>()) + ": " +
                                                 handle.error().message);
  }
  if constexpr (std::is_same_v<T, Bytes>) {
    return Bytes(bytes);
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
