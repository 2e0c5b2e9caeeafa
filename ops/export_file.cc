#include "duractor/ops/export_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "duractor/ops/detail/base64.h"
#include "duractor/ops/detail/export_document.h"
#include "duractor/runtime/detail/codec.h"
#include "duractor/store/detail/records.h"

namespace duractor {
namespace detail {
namespace {

using Json = nlohmann::ordered_json;

std::unexpected<Error> bad(const std::string& where, const std::string& what) {
  return fail(ErrorCode::kInvalidArgument, where + ": " + what);
}

// The bytes of the record kept in `node` (at `where` in the document).
Result<std::string> record_bytes(const Json& node, const std::string& where) {
  if (!node.is_object()) return bad(where, "expected an object");
  auto it = node.find("record");
  if (it == node.end() || !it->is_string()) {
    return bad(where + ".record", "missing (import reads each record's stored bytes, in base64)");
  }
  auto bytes = from_base64(it->get<std::string>());
  if (!bytes) return bad(where + ".record", "not base64");
  return std::move(*bytes);
}

// Decodes the record in `node` with `decode` (a codec function).
template <class T, class Decode>
Result<T> read_record(const Json& node, const std::string& where, Decode decode) {
  auto bytes = record_bytes(node, where);
  if (!bytes) return fail(bytes.error());
  auto value = decode(*bytes);
  if (!value) return bad(where + ".record", "does not decode: " + value.error().message);
  return std::move(*value);
}

// The array `key` of `node`, which is at `where` (empty if absent and not `required`).
Result<Json> array_field(const Json& node, const std::string& where, const std::string& key,
                         bool required) {
  auto name = where.empty() ? key : where + "." + key;
  auto it = node.find(key);
  if (it == node.end()) {
    if (required) return bad(name, "missing");
    return Json::array();
  }
  if (!it->is_array()) return bad(name, "expected an array");
  return *it;
}

// Checks that field `key` of the readable view, if present, says what the record holds.
template <class T>
Status agrees(const Json& view, const std::string& where, const std::string& key,
              const T& recorded) {
  auto it = view.find(key);
  if (it == view.end() || *it == Json(recorded)) return {};
  return bad(where + "." + key, "is " + it->dump() + " but the record holds " +
                                    Json(recorded).dump() +
                                    " (import reads the records; edit them, not the views)");
}

Result<ExecutionImage> read_execution(const Json& node, const std::string& where) {
  auto info = read_record<ExecutionInfo>(node, where, decode_execution);
  if (!info) return fail(info.error());
  ExecutionImage x;
  x.info = *info;
  auto events = array_field(node, where, "events", true);
  if (!events) return fail(events.error());
  for (std::size_t i = 0; i < events->size(); ++i) {
    auto at = where + ".events[" + std::to_string(i) + "]";
    const auto& view = (*events)[i];
    auto event = read_record<HistoryEvent>(view, at, decode_event);
    if (!event) return fail(event.error());
    if (auto ok = agrees(view, at, "id", event->id); !ok) return fail(ok.error());
    if (auto ok = agrees(view, at, "kind", std::string(event->kind_name())); !ok) {
      return fail(ok.error());
    }
    x.events.push_back(std::move(*event));
  }
  return x;
}

}  // namespace

Result<InstanceImage> read_export_document(const Json& document) {
  if (!document.is_object()) return bad("document", "expected a JSON object");
  auto format = document.find("format");
  if (format == document.end() || *format != Json(std::string(kExportFormat))) {
    return bad("format",
               "expected \"" + std::string(kExportFormat) + "\" (not a duractor export file?)");
  }
  auto version = document.find("version");
  if (version == document.end() || !version->is_number_integer()) {
    return bad("version", "missing or not an integer");
  }
  if (version->get<int>() > kExportVersion) {
    return fail(ErrorCode::kInvalidArgument, "version: the file has version " + version->dump() +
                                                 ", newer than this duractor reads (" +
                                                 std::to_string(kExportVersion) + ")");
  }
  InstanceImage image;
  auto instance = document.find("instance");
  if (instance == document.end()) return bad("instance", "missing");
  auto info = read_record<InstanceInfo>(*instance, "instance", decode_instance);
  if (!info) return fail(info.error());
  if (auto it = instance->find("id"); it != instance->end() && *it != Json(info->id)) {
    return bad("instance.id",
               "is " + it->dump() + " but the record holds \"" + info->id +
                   "\" (the record decides: to import under another id, use --as, not an edit)");
  }
  image.info = std::move(*info);

  auto executions = array_field(document, "", "executions", true);
  if (!executions) return fail(executions.error());
  for (std::size_t i = 0; i < executions->size(); ++i) {
    auto x = read_execution((*executions)[i], "executions[" + std::to_string(i) + "]");
    if (!x) return fail(x.error());
    image.executions.push_back(std::move(*x));
  }
  auto each = [&](const std::string& key, auto&& add) -> Status {
    auto items = array_field(document, "", key, false);
    if (!items) return fail(items.error());
    for (std::size_t i = 0; i < items->size(); ++i) {
      if (auto ok = add((*items)[i], key + "[" + std::to_string(i) + "]"); !ok) return ok;
    }
    return {};
  };
  // A list of records, each kept as the store's bytes and decoded by `decoder`.
  auto records = [&]<class T>(const std::string& key, std::vector<T>& out, auto decoder) {
    return each(key, [&](const Json& node, const std::string& where) -> Status {
      auto r = read_record<T>(node, where, decoder);
      if (!r) return fail(r.error());
      out.push_back(std::move(*r));
      return {};
    });
  };
  if (auto ok = records("inbox", image.inbox, decode_message); !ok) return fail(ok.error());
  if (auto ok = records("work", image.work, decode_work_item); !ok) return fail(ok.error());
  if (auto ok = records("timers", image.timers, decode_timer); !ok) return fail(ok.error());
  auto topics = each("topics", [&](const Json& node, const std::string& where) -> Status {
    if (!node.is_string()) return bad(where, "expected a topic name (a string)");
    image.topics.push_back(node.get<std::string>());
    return {};
  });
  if (!topics) return fail(topics.error());
  return image;
}

}  // namespace detail

Result<InstanceImage> read_export_text(std::string_view text) {
  nlohmann::ordered_json document;
  try {
    document = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::ordered_json::parse_error& e) {
    std::string message = e.what();
    auto tag = message.find("] ");  // drop nlohmann's "[json.exception.parse_error.101] "
    if (tag != std::string::npos) message = message.substr(tag + 2);
    return fail(ErrorCode::kInvalidArgument, "bad JSON: " + message);
  }
  return detail::read_export_document(document);
}

Result<InstanceImage> read_export_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(ErrorCode::kNotFound, "cannot read export file " + path + ": no such file");
  }
  if (std::filesystem::is_directory(path, ec)) {
    return fail(ErrorCode::kIo, "cannot read export file " + path + ": it is a directory");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return fail(ErrorCode::kIo, "cannot read export file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return fail(ErrorCode::kIo, "cannot read export file " + path + ": " + std::strerror(errno));
  }
  auto image = read_export_text(text.str());
  if (!image) return fail(image.error().code, "export file " + path + ": " + image.error().message);
  return image;
}

}  // namespace duractor
