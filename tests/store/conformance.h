#pragma once
// The store conformance suite, written once against the Store interface. A store
// implementation gets it by linking the suite's files (tests/store/conformance/*.cc, one
// per TEST_SUITE; the store_conformance_suite object library) into a test binary together
// with a definition of make_store_fixture() that opens a fresh, empty store of its kind.
// Every store must pass every case.

#include <functional>
#include <memory>
#include <string_view>

#include "duractor/runtime/time.h"
#include "duractor/store/store.h"

namespace duractor::testing {

class StoreFixture {
 public:
  virtual ~StoreFixture() = default;

  // The store under test, empty when the fixture is made.
  virtual Store& store() = 0;
  // Closes the store and opens it again on the same data.
  virtual void reopen() = 0;

  // The store's clock (timestamps, lock and lease expiry). Tests move it.
  ManualClock clock;
  // The store calls this at named steps inside writes; a returned error must make the
  // write fail right there, as a real failure at that step would. Empty: no faults.
  std::function<Status(std::string_view step)> faults;
};

std::unique_ptr<StoreFixture> make_store_fixture();

}  // namespace duractor::testing
