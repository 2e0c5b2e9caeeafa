#pragma once
// Reading the export file that `duractor export` writes (docs/cli.md, "The export file"):
// one JSON document with an instance's whole state, every record kept as the bytes the
// store holds. A program reads one back as the InstanceImage Store::export_instance gave,
// for example to replay-check production histories against new code (ops/replay_check.h).
// The CLI's `duractor import` reads files with the same reader. Thread-safe.

#include <string>
#include <string_view>

#include "duractor/store/store.h"

namespace duractor {

inline constexpr std::string_view kExportFormat = "duractor-export";
inline constexpr int kExportVersion = 1;

// The image held by the export document `text`. Reads only the records (and topics); the
// readable views must agree with them where they name ids, kinds and the instance id.
// Errors (nothing else happens): kInvalidArgument naming the problem: bad JSON, the field
// that is wrong and how ("executions[0].events[2].record: not base64"), a document of a
// newer version than this build reads.
[[nodiscard]] Result<InstanceImage> read_export_text(std::string_view text);

// The image held by the export file at `path`. Errors, each message naming the path:
//   kNotFound         the file does not exist
//   kIo               it cannot be read (permissions, a directory)
//   kInvalidArgument  what read_export_text reports
[[nodiscard]] Result<InstanceImage> read_export_file(const std::string& path);

}  // namespace duractor
