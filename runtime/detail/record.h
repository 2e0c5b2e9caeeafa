#pragma once
// Building blocks of duractor's stored records: one format-version byte followed by one
// msgpack array of fields. RecordWriter appends fields in order; FieldReader reads them back
// with checks that name the record and field on every mismatch. Used by the history codec
// (runtime/codec.cc) and the store's own records (store/records.cc). Internal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "duractor/runtime/error.h"
#include "duractor/runtime/payload.h"

namespace duractor::detail {

// The first byte of every record. A reader that meets a greater value refuses the record
// with kUnsupported rather than guessing.
inline constexpr std::uint8_t kRecordFormatVersion = 1;

class RecordWriter {
 public:
  // Starts a record whose top-level array has `fields` elements.
  explicit RecordWriter(std::uint32_t fields);
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  RecordWriter& u64(std::uint64_t v);
  RecordWriter& i64(std::int64_t v);
  RecordWriter& boolean(bool v);
  RecordWriter& str(std::string_view v);
  RecordWriter& bin(std::string_view v);  // opaque bytes (payloads)
  RecordWriter& nil();
  RecordWriter& array(std::uint32_t n);  // header of a nested array; its n elements follow

  std::string finish() && { return std::move(out_); }

 private:
  struct Sink {
    std::string* out;
    void write(const char* data, std::size_t size) { out->append(data, size); }
  };
  std::string out_;
  Sink sink_{&out_};
  msgpack::packer<Sink> packer_{sink_};
};

// Thrown inside decoders only; decode_record turns it into an Error. Never escapes.
struct DecodeFailure {
  std::string message;
};

// Reads the fields of one msgpack array in order. Every accessor names the field in its
// failure message: "ActivityScheduled.name: expected string, got positive integer".
class FieldReader {
 public:
  FieldReader(const msgpack::object& array, std::string context);

  std::uint32_t size() const { return size_; }
  bool has_more() const { return pos_ < size_; }
  bool next_is_nil() const;

  std::uint64_t u64(std::string_view field);
  std::uint32_t u32(std::string_view field);
  std::uint8_t u8(std::string_view field);
  std::int64_t i64(std::string_view field);
  bool boolean(std::string_view field);
  std::string str(std::string_view field);
  std::string bin(std::string_view field);
  Bytes payload(std::string_view field) { return Bytes(bin(field)); }  // an encoded payload
  void nil(std::string_view field);
  FieldReader array(std::string_view field);

  [[noreturn]] void fail_field(std::string_view field, std::string_view problem) const;

 private:
  const msgpack::object& next(std::string_view field);

  const msgpack::object* items_ = nullptr;
  std::uint32_t size_ = 0;
  std::uint32_t pos_ = 0;
  std::string context_;
};

// Checks the version byte, unpacks the array that follows (exactly, with bounded limits)
// and hands it to `read`. Any failure becomes kCorrupt (or kUnsupported for a newer format)
// with a message that starts with `what`.
template <class T, class ReadFn>
Result<T> decode_record(std::string_view bytes, std::string_view what, ReadFn&& read);

// Non-template half of decode_record: validates the frame and unpacks the body.
Result<msgpack::object_handle> open_record(std::string_view bytes, std::string_view what);

template <class T, class ReadFn>
Result<T> decode_record(std::string_view bytes, std::string_view what, ReadFn&& read) {
  auto handle = open_record(bytes, what);
  if (!handle) return std::unexpected(handle.error());
  try {
    FieldReader reader(handle->get(), std::string(what));
    return read(reader);
  } catch (const DecodeFailure& f) {
    return fail(ErrorCode::kCorrupt, f.message);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt, std::string(what) + ": " + e.what());
  }
}

}  // namespace duractor::detail
