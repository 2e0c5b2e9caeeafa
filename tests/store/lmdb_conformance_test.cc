// Runs the store conformance suite (tests/store/conformance/) against the LMDB store.

#include "duractor/store/lmdb_store.h"
#include "tests/store/conformance.h"
#include "tests/support/temp_dir.h"

namespace duractor::testing {
namespace {

class LmdbFixture final : public StoreFixture {
 public:
  LmdbFixture() : dir_("duractor-conformance") { reopen(); }

  Store& store() override { return *store_; }

  void reopen() override {
    store_.reset();
    LmdbOptions o;
    o.path = dir_.sub("store");
    o.sync = false;  // durability is covered by the crash tests; keep the suite fast
    o.clock = &clock;
    o.initial_map_size = 1 << 20;  // small, so that tests exercise map growth too
#ifdef DURACTOR_TEST_JOURNAL_LIMIT
    // The suite's second run (tests/CMakeLists.txt): a journal so small that nearly every
    // commit also compacts, so that both places history lives are covered.
    o.journal_limit = DURACTOR_TEST_JOURNAL_LIMIT;
#endif
    o.fault_injector = [this](std::string_view step) -> Status {
      return faults ? faults(step) : Status{};
    };
    auto opened = LmdbStore::open(std::move(o));
    if (!opened) throw std::runtime_error(opened.error().to_string());
    store_ = std::move(*opened);
  }

 private:
  TempDir dir_;
  std::unique_ptr<LmdbStore> store_;
};

}  // namespace

std::unique_ptr<StoreFixture> make_store_fixture() {
  return std::make_unique<LmdbFixture>();
}

}  // namespace duractor::testing
