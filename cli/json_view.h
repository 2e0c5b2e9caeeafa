#pragma once
// The JSON views the CLI prints (ops/detail/json_view.h, shared with the HTTP API), under
// the names the CLI's code uses.

#include "duractor/ops/detail/json_view.h"

namespace duractor::cli {

using json::base64;
using json::event_json;
using json::execution_json;
using json::failure_json;
using json::from_base64;
using json::instance_json;
using json::iso_time;
using json::Json;
using json::message_json;
using json::parse_json_text;
using json::payload_bytes;
using json::payload_json;
using json::stats_json;
using json::timer_json;
using json::work_json;

}  // namespace duractor::cli
