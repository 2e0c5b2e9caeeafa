#pragma once
// The duractor CLI's export file: one JSON document holding an instance's whole state (an
// InstanceImage, store/store.h), written by `duractor export` and read by `duractor import`.
// It is readable — every record shown as a JSON view (cli/json_view.h), payloads as JSON —
// and exact: every record is also kept as the bytes the store holds (base64, field
// "record"), and import reads only those, so an imported instance replays exactly as the
// original. The layout is versioned and documented in docs/cli.md. The reader is the
// library's (ops/export_file.h), so a user's program reads the same files. Pure functions.

#include <string>
#include <string_view>

#include "duractor/cli/json_view.h"
#include "duractor/ops/detail/export_document.h"

namespace duractor::cli {

using duractor::kExportFormat;
using duractor::kExportVersion;

// The document for `image`, exported from store `source` at `now`.
Json export_document(const InstanceImage& image, const std::string& source, TimePoint now);

// The image a document holds (ops/detail/export_document.h). Errors: kInvalidArgument
// naming the field that is wrong and how ("executions[0].events[2].record: not base64"),
// or the newer version of the document. The readable views are checked against the records
// where they name them (ids and kinds), so that an edited view is refused rather than
// silently ignored.
using duractor::detail::read_export_document;

}  // namespace duractor::cli
