#include "duractor/runtime/detail/record.h"

namespace duractor::detail {
namespace {

std::string_view type_label(msgpack::type::object_type t) {
  switch (t) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "boolean";
    case msgpack::type::POSITIVE_INTEGER:
      return "positive integer";
    case msgpack::type::NEGATIVE_INTEGER:
      return "negative integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "string";
    case msgpack::type::BIN:
      return "binary";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "extension";
  }
  return "unknown type";
}

}  // namespace

RecordWriter::RecordWriter(std::uint32_t fields) {
  out_.push_back(static_cast<char>(kRecordFormatVersion));
  packer_.pack_array(fields);
}

RecordWriter& RecordWriter::u64(std::uint64_t v) {
  packer_.pack_uint64(v);
  return *this;
}
RecordWriter& RecordWriter::i64(std::int64_t v) {
  packer_.pack_int64(v);
  return *this;
}
RecordWriter& RecordWriter::boolean(bool v) {
  if (v) {
    packer_.pack_true();
  } else {
    packer_.pack_false();
  }
  return *this;
}
RecordWriter& RecordWriter::str(std::string_view v) {
  packer_.pack_str(static_cast<std::uint32_t>(v.size()));
  packer_.pack_str_body(v.data(), static_cast<std::uint32_t>(v.size()));
  return *this;
}
RecordWriter& RecordWriter::bin(std::string_view v) {
  packer_.pack_bin(static_cast<std::uint32_t>(v.size()));
  packer_.pack_bin_body(v.data(), static_cast<std::uint32_t>(v.size()));
  return *this;
}
RecordWriter& RecordWriter::nil() {
  packer_.pack_nil();
  return *this;
}
RecordWriter& RecordWriter::array(std::uint32_t n) {
  packer_.pack_array(n);
  return *this;
}

FieldReader::FieldReader(const msgpack::object& array, std::string context)
    : context_(std::move(context)) {
  if (array.type != msgpack::type::ARRAY) {
    throw DecodeFailure{context_ + ": expected an array of fields, got " +
                        std::string(type_label(array.type))};
  }
  items_ = array.via.array.ptr;
  size_ = array.via.array.size;
}

void FieldReader::fail_field(std::string_view field, std::string_view problem) const {
  throw DecodeFailure{context_ + "." + std::string(field) + ": " + std::string(problem)};
}

const msgpack::object& FieldReader::next(std::string_view field) {
  if (pos_ >= size_) {
    fail_field(field, "missing (record has only " + std::to_string(size_) + " fields)");
  }
  return items_[pos_++];
}

bool FieldReader::next_is_nil() const {
  return pos_ < size_ && items_[pos_].type == msgpack::type::NIL;
}

std::uint64_t FieldReader::u64(std::string_view field) {
  const auto& o = next(field);
  if (o.type != msgpack::type::POSITIVE_INTEGER) {
    fail_field(field, "expected unsigned integer, got " + std::string(type_label(o.type)));
  }
  return o.via.u64;
}

std::uint32_t FieldReader::u32(std::string_view field) {
  auto v = u64(field);
  if (v > UINT32_MAX) fail_field(field, "value " + std::to_string(v) + " exceeds 32 bits");
  return static_cast<std::uint32_t>(v);
}

std::uint8_t FieldReader::u8(std::string_view field) {
  auto v = u64(field);
  if (v > UINT8_MAX) fail_field(field, "value " + std::to_string(v) + " exceeds 8 bits");
  return static_cast<std::uint8_t>(v);
}

std::int64_t FieldReader::i64(std::string_view field) {
  const auto& o = next(field);
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) {
      fail_field(field, "value exceeds signed 64 bits");
    }
    return static_cast<std::int64_t>(o.via.u64);
  }
  fail_field(field, "expected integer, got " + std::string(type_label(o.type)));
}

bool FieldReader::boolean(std::string_view field) {
  const auto& o = next(field);
  if (o.type != msgpack::type::BOOLEAN) {
    fail_field(field, "expected boolean, got " + std::string(type_label(o.type)));
  }
  return o.via.boolean;
}

std::string FieldReader::str(std::string_view field) {
  const auto& o = next(field);
  if (o.type != msgpack::type::STR) {
    fail_field(field, "expected string, got " + std::string(type_label(o.type)));
  }
  return std::string(o.via.str.ptr, o.via.str.size);
}

std::string FieldReader::bin(std::string_view field) {
  const auto& o = next(field);
  if (o.type != msgpack::type::BIN) {
    fail_field(field, "expected binary, got " + std::string(type_label(o.type)));
  }
  return std::string(o.via.bin.ptr, o.via.bin.size);
}

void FieldReader::nil(std::string_view field) {
  const auto& o = next(field);
  if (o.type != msgpack::type::NIL) {
    fail_field(field, "expected nil, got " + std::string(type_label(o.type)));
  }
}

FieldReader FieldReader::array(std::string_view field) {
  const auto& o = next(field);
  if (o.type != msgpack::type::ARRAY) {
    fail_field(field, "expected array, got " + std::string(type_label(o.type)));
  }
  return FieldReader(o, context_ + "." + std::string(field));
}

Result<msgpack::object_handle> open_record(std::string_view bytes, std::string_view what) {
  if (bytes.empty()) return fail(ErrorCode::kCorrupt, std::string(what) + ": empty record");
  auto version = static_cast<std::uint8_t>(bytes[0]);
  if (version != kRecordFormatVersion) {
    if (version > kRecordFormatVersion) {
      return fail(ErrorCode::kUnsupported, std::string(what) + ": record format version " +
                                               std::to_string(version) +
                                               " is newer than this build understands (" +
                                               std::to_string(kRecordFormatVersion) + ")");
    }
    return fail(ErrorCode::kCorrupt,
                std::string(what) + ": unknown record format version " + std::to_string(version));
  }
  auto handle = unpack_exactly(bytes.substr(1));
  if (!handle) return fail(handle.error().with_context(what));
  return handle;
}

}  // namespace duractor::detail
