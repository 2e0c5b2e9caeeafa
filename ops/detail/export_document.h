#pragma once
// The export file's reader at the JSON level, for callers that parse the document
// themselves (the CLI's import). Most callers want read_export_file (ops/export_file.h).

#include <nlohmann/json.hpp>

#include "duractor/ops/export_file.h"

namespace duractor::detail {

// The image `document` holds; errors as read_export_text, without the JSON parse errors.
[[nodiscard]] Result<InstanceImage> read_export_document(const nlohmann::ordered_json& document);

}  // namespace duractor::detail
