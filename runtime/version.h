#pragma once
// The version of the duractor library, as CMake's project() defines it (the one place it
// is written down). The CLI prints it with --version.

namespace duractor {

// "major.minor.patch", as in project(duractor VERSION ...).
const char* version() noexcept;

}  // namespace duractor
