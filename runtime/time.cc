#include "duractor/runtime/time.h"

namespace duractor {

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace duractor
