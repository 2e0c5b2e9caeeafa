#include "duractor/runtime/version.h"

#ifndef DURACTOR_VERSION
#error "DURACTOR_VERSION is defined by runtime/CMakeLists.txt from the project's version"
#endif

namespace duractor {

const char* version() noexcept {
  return DURACTOR_VERSION;
}

}  // namespace duractor
