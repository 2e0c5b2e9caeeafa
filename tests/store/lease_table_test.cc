// LeaseTable, the turn locks and work leases a store keeps in memory: who holds what, until
// when, and what a stale holder's token is still good for.

#include "duractor/store/detail/lease_table.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "tests/support/history_builders.h"

namespace duractor {

using testing::test_time;
using namespace std::chrono_literals;

TEST_SUITE("lease table") {
  TEST_CASE("a turn lock is exclusive until it expires, then another owner takes it over") {
    LeaseTable table;
    auto first = table.lock("order-1", test_time(0), 1000ms);
    REQUIRE(first);
    CHECK(first->instance == "order-1");
    CHECK(first->expires_at == test_time(1000));
    CHECK(table.check_lock(*first));

    auto busy = table.lock("order-1", test_time(999), 1000ms);
    REQUIRE_FALSE(busy);
    CHECK(busy.error().code == ErrorCode::kBusy);
    CHECK(busy.error().message.find("order-1") != std::string::npos);
    CHECK(table.lock("order-2", test_time(999), 1000ms));  // other instances are free

    auto second = table.lock("order-1", test_time(1000), 1000ms);
    REQUIRE(second);
    CHECK(second->token != first->token);
    CHECK(table.check_lock(*second));
    auto stale = table.check_lock(*first);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == ErrorCode::kConflict);
  }

  TEST_CASE("an expired lock nobody took over still passes its holder's check") {
    LeaseTable table;
    auto lock = table.lock("order-1", test_time(0), 10ms);
    REQUIRE(lock);
    // The check does not look at the clock: a commit after expiry is fine while the lock
    // has not changed hands.
    CHECK(table.check_lock(*lock));
  }

  TEST_CASE("unlock releases only the lock with the caller's token") {
    LeaseTable table;
    auto first = table.lock("order-1", test_time(0), 10ms);
    REQUIRE(first);
    auto second = table.lock("order-1", test_time(10), 1000ms);
    REQUIRE(second);
    table.unlock(*first);  // a stale owner's unlock must not free the new owner's lock
    CHECK(table.check_lock(*second));
    CHECK_FALSE(table.lock("order-1", test_time(20), 1000ms));
    table.unlock(*second);
    CHECK_FALSE(table.check_lock(*second));
    CHECK(table.lock("order-1", test_time(20), 1000ms));
  }

  TEST_CASE("a lock never taken, or with token 0, is not held") {
    LeaseTable table;
    CHECK_FALSE(table.check_lock(InstanceLock{"order-1", 1, test_time(100)}));
    REQUIRE(table.lock("order-1", test_time(0), 1000ms));
    CHECK_FALSE(table.check_lock(InstanceLock{"order-1", 0, test_time(100)}));
  }

  TEST_CASE("forgetting locks frees them whoever holds them") {
    LeaseTable table;
    auto a = table.lock("a", test_time(0), 1000ms);
    auto b = table.lock("b", test_time(0), 1000ms);
    REQUIRE(a);
    REQUIRE(b);
    table.forget_locks({"a"});
    CHECK_FALSE(table.check_lock(*a));
    CHECK(table.check_lock(*b));
    auto held = table.held_locks();
    REQUIRE(held.size() == 1);
    CHECK(held[0].instance == "b");
    CHECK(held[0].token == b->token);
  }

  TEST_CASE("a work lease is exclusive until it expires, then another worker takes it over") {
    LeaseTable table;
    auto first = table.try_lease(7, test_time(0), 500ms);
    REQUIRE(first);
    CHECK(first->item == 7);
    CHECK(first->expires_at == test_time(500));
    CHECK_FALSE(table.try_lease(7, test_time(499), 500ms));
    auto busy = table.lease(7, test_time(499), 500ms);
    REQUIRE_FALSE(busy);
    CHECK(busy.error().code == ErrorCode::kBusy);
    CHECK(busy.error().message == "work item 7 is leased");

    auto second = table.lease(7, test_time(500), 500ms);
    REQUIRE(second);
    CHECK(second->token != first->token);
    CHECK(table.check_lease(*second));
    auto stale = table.check_lease(*first);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == ErrorCode::kConflict);
  }

  TEST_CASE("renewing extends a held lease and refuses one that changed hands") {
    LeaseTable table;
    auto first = table.lease(7, test_time(0), 100ms);
    REQUIRE(first);
    auto renewed = table.renew(*first, test_time(90), 100ms);
    REQUIRE(renewed);
    CHECK(renewed->token == first->token);
    CHECK(renewed->expires_at == test_time(190));
    CHECK_FALSE(table.try_lease(7, test_time(150), 100ms));  // the renewal holds it

    auto taken = table.lease(7, test_time(190), 100ms);
    REQUIRE(taken);
    auto refused = table.renew(*first, test_time(200), 100ms);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kConflict);
    CHECK_FALSE(table.renew(WorkLease{8, 1, test_time(0)}, test_time(0), 100ms));  // never taken
  }

  TEST_CASE("release frees only the lease with the caller's token, and forgetting frees any") {
    LeaseTable table;
    auto first = table.lease(7, test_time(0), 10ms);
    REQUIRE(first);
    auto second = table.lease(7, test_time(10), 1000ms);
    REQUIRE(second);
    table.release(*first);
    CHECK(table.check_lease(*second));
    table.release(*second);
    CHECK_FALSE(table.check_lease(*second));

    auto a = table.lease(1, test_time(0), 1000ms);
    auto b = table.lease(2, test_time(0), 1000ms);
    REQUIRE(a);
    REQUIRE(b);
    table.forget_leases({1});
    CHECK_FALSE(table.check_lease(*a));
    CHECK(table.check_lease(*b));
    auto held = table.held_leases();
    REQUIRE(held.size() == 1);
    CHECK(held[0].item == 2);
    CHECK(held[0].token == b->token);
  }

  TEST_CASE("tokens are never reused, across locks and leases") {
    LeaseTable table;
    std::vector<std::uint64_t> tokens;
    for (int i = 0; i < 50; ++i) {
      auto lock = table.lock("order-1", test_time(i * 10), 10ms);
      REQUIRE(lock);
      tokens.push_back(lock->token);
      auto lease = table.lease(3, test_time(i * 10), 10ms);
      REQUIRE(lease);
      tokens.push_back(lease->token);
    }
    std::sort(tokens.begin(), tokens.end());
    CHECK(std::adjacent_find(tokens.begin(), tokens.end()) == tokens.end());
    CHECK(tokens.front() != 0);
  }

  TEST_CASE("concurrent workers never hold the same item at once") {
    LeaseTable table;
    constexpr int kWorkers = 4, kItems = 200;
    std::vector<std::vector<std::uint64_t>> won(kWorkers);
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&, w] {
        for (std::uint64_t item = 1; item <= kItems; ++item) {
          if (table.try_lease(item, test_time(0), 1000ms)) won[w].push_back(item);
        }
      });
    }
    for (auto& t : workers) t.join();
    std::vector<std::uint64_t> all;
    for (const auto& w : won) all.insert(all.end(), w.begin(), w.end());
    std::sort(all.begin(), all.end());
    CHECK(all.size() == kItems);
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  }
}

}  // namespace duractor
