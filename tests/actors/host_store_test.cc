// Host::start on a Store the caller opened (any implementation of store/store.h), and the
// errors of a host given neither a Store nor a path for its default LMDB store.

#include <doctest/doctest.h>

#include <filesystem>

#include "duractor/duractor.h"
#include "tests/support/host_fixture.h"

namespace duractor {
namespace {

using namespace std::chrono_literals;

const Activity<std::string, std::string> Shout{"Shout"};
const Orchestration<std::string, std::string> Loud{"Loud", 1};

Registry loud_registry() {
  Registry r;
  r.add(Shout, [](ActivityContext&, std::string s) { return s + "!"; });
  r.add(Loud, [](OrchestrationContext& ctx, std::string s) -> Task<std::string> {
    co_return co_await ctx.call(Shout, s);
  });
  return r;
}

}  // namespace

TEST_SUITE("host: the store it runs on") {
  TEST_CASE("a host runs on a store the caller opened, and closes it on stop") {
    testing::TempDir given;
    testing::TempDir unused;
    auto registry = loud_registry();
    auto store = LmdbStore::open({.path = given.path() + "/store", .sync = false});
    REQUIRE_MESSAGE(store, (store ? "" : store.error().to_string()));
    auto options = testing::test_host_options(unused.path() + "/default");
    {
      auto host = Host::start(registry, std::unique_ptr<Store>(std::move(*store)), options);
      REQUIRE_MESSAGE(host, (host ? "" : host.error().to_string()));
      auto client = (*host)->client();
      auto out = Loud.run(client, "loud-1", "hey", 20s);
      REQUIRE_MESSAGE(out, (out ? "" : out.error().to_string()));
      CHECK(*out == "hey!");
    }
    // The given store holds the instance; the default store was never opened.
    CHECK_FALSE(std::filesystem::exists(unused.path() + "/default"));
    auto reopened = LmdbStore::open({.path = given.path() + "/store"});
    REQUIRE_MESSAGE(reopened, (reopened ? "" : reopened.error().to_string()));
    auto info = (*reopened)->read_instance("loud-1");
    REQUIRE(info);
    CHECK(info->status == InstanceStatus::kCompleted);
  }

  TEST_CASE("a host given no store and no path for the default one says which option is missing") {
    auto registry = loud_registry();
    HostOptions options;
    auto host = Host::start(registry, options);
    REQUIRE_FALSE(host);
    CHECK(host.error().code == ErrorCode::kInvalidArgument);
    CHECK(host.error().message.find("HostOptions::lmdb.path") != std::string::npos);

    auto null_store = Host::start(registry, std::unique_ptr<Store>(), options);
    REQUIRE_FALSE(null_store);
    CHECK(null_store.error().code == ErrorCode::kInvalidArgument);
    CHECK(null_store.error().message.find("null Store") != std::string::npos);
  }

  TEST_CASE("bad options are refused before the default store is opened") {
    testing::TempDir dir;
    auto registry = loud_registry();
    auto options = testing::test_host_options(dir.path() + "/store");
    options.activity_workers = 0;
    auto host = Host::start(registry, options);
    REQUIRE_FALSE(host);
    CHECK(host.error().message.find("activity_workers") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() + "/store"));
  }
}

}  // namespace duractor
