#pragma once
// The routes of the JSON API (docs/http.md), installed on a cpp-httplib server. Internal to
// http/: only server.cc includes it.

#include <httplib.h>

#include <memory>

#include "duractor/http/server.h"

namespace duractor::http::detail {

// Installs authentication (a pre-routing check), the /api/v1 routes and JSON errors for
// everything that fails, httplib's own refusals (404, 413, 400) included.
void install_api(httplib::Server& server, const ServerOptions& options,
                 std::shared_ptr<Backend> backend);

// Whether two tokens are equal, in time that depends on their lengths only.
bool same_token(std::string_view a, std::string_view b);

// Whether `address` (an IP address) is a loopback address: 127.0.0.0/8 or ::1.
bool is_loopback(const std::string& address);

}  // namespace duractor::http::detail
