// The example in README.md ("Using the store") compiles and does what the text says.

#include <doctest/doctest.h>

#include <iostream>

#include "duractor/store/lmdb_store.h"
#include "tests/support/temp_dir.h"

TEST_SUITE("readme") {
  TEST_CASE("the README's store example opens a store and creates an instance") {
    duractor::testing::TempDir dir;
    auto run = [&]() -> int {
      // --- begin README example (path changed) ---
      auto store = duractor::LmdbStore::open({.path = dir.sub("my-store")});
      if (!store) {
        std::cerr << store.error().to_string() << "\n";
        return 1;
      }
      auto created = (*store)->create_instance(
          {.id = "order-17", .name = "Order", .input = duractor::encode(42)});
      // --- end README example ---
      REQUIRE(created);
      CHECK((*store)->read_instance("order-17")->status == duractor::InstanceStatus::kPending);
      return 0;
    };
    CHECK(run() == 0);
  }
}
