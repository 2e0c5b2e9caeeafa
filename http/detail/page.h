#pragma once
// The web page (http/page.html, compiled in by the build): the instance list and one
// instance's timeline, over the JSON API.

#include <string_view>

namespace duractor::http::detail {

std::string_view page_html();

}  // namespace duractor::http::detail
