// The CLI's library, in-process: payloads as JSON and back, base64, times and durations,
// one-line summaries and tables, the export document's round trip over every event and
// message kind, and `run` itself for what needs no store.

#include <doctest/doctest.h>

#include <random>
#include <sstream>

#include "duractor/cli/commands.h"
#include "duractor/cli/format.h"
#include "duractor/cli/json_view.h"
#include "duractor/cli/transfer.h"
#include "tests/cli/cli_fixture.h"

namespace duractor {
namespace {

using cli::Json;
using testing::contains;

std::string msgpack_of(const nlohmann::json& value) {
  auto bytes = nlohmann::json::to_msgpack(value);
  return std::string(bytes.begin(), bytes.end());
}

// An image with every event kind and every message kind, a work item, a timer and a topic.
InstanceImage every_kind() {
  auto t = from_unix_ms(1'700'000'000'000);
  FailureDetails failure{ErrorCategory::kApplication, "std::runtime_error", "nope"};
  ParentLink parent{"parent", 1, 2};
  std::vector<EventBody> bodies{
      event::ExecutionStarted{"Order", 2, encode(1), parent, {CarriedEvent{"Late", encode(3)}}},
      event::ActivityScheduled{"Charge", encode(std::string("card")), 2},
      event::ActivityCompleted{2, encode(9)},
      event::ActivityFailed{2, failure},
      event::ActivityCancelRequested{2, "lost the race"},
      event::TimerCreated{t},
      event::TimerFired{6, t},
      event::EventRaised{"Approval", encode(true)},
      event::EventSent{"peer", "Ping", encode(7)},
      event::SubOrchestrationScheduled{"Child", 1, "kid", encode(4), false},
      event::SubOrchestrationCompleted{10, encode(5)},
      event::SubOrchestrationFailed{10, failure},
      event::SubOrchestrationCancelRequested{10, "stop", true},
      event::CancelRequested{"operator", false},
      event::CustomStatusSet{"busy"},
      event::TopicSubscribed{"news"},
      event::TopicUnsubscribed{"news"},
      event::TopicPublished{"news", encode(std::string("extra"))},
      event::ContinuedAsNew{encode(2), 2},
  };
  InstanceImage image;
  image.info.id = "every";
  image.info.name = "Order";
  image.info.version = 2;
  image.info.status = InstanceStatus::kRunning;
  image.info.execution = 2;
  image.info.created_at = image.info.updated_at = t;
  image.info.input = encode(1);
  image.info.custom_status = "busy";
  image.info.parent = parent;
  ExecutionImage first;
  first.info = ExecutionInfo{1, 2, InstanceStatus::kCompleted, t, t, bodies.size(), true};
  for (std::size_t i = 0; i < bodies.size(); ++i)
    first.events.push_back(HistoryEvent{i + 1, t, bodies[i]});
  ExecutionImage second;
  second.info = ExecutionInfo{2, 2, InstanceStatus::kRunning, t, std::nullopt, 4, false};
  second.events = {
      HistoryEvent{1, t, event::ExecutionStarted{"Order", 2, encode(2), std::nullopt, {}}},
      HistoryEvent{2, t, event::ActivityScheduled{"Ship", encode(1), 1}},
      HistoryEvent{3, t, event::TimerCreated{t}},
      HistoryEvent{4, t, event::ExecutionCompleted{encode(1)}}};
  image.executions = {first, second};
  std::vector<InboxMessage> messages{message::Start{3, "Order", 2, encode(1), parent, {}},
                                     message::Event{"Approval", encode(false)},
                                     message::Cancel{"enough", true},
                                     message::ActivityResult{2, 2, encode(1), std::nullopt},
                                     message::TimerFired{2, 3, t},
                                     message::ChildResult{2, 9, {}, failure}};
  std::uint64_t seq = 100;
  for (auto& m : messages) image.inbox.push_back(InboxEntry{++seq, t, m});
  image.work = {WorkItem{7, "every", 2, 2, "Ship", encode(1), 1, t}};
  image.timers = {TimerEntry{TimerKey{t, 3}, "every", 2, 3}};
  image.topics = {"news"};
  return image;
}

}  // namespace

TEST_SUITE("cli: formats") {
  TEST_CASE("payloads show as JSON, and as hex when JSON cannot hold them") {
    CHECK(cli::payload_json(encode(42)) == Json(42));
    CHECK(cli::payload_json(encode(std::string("ada"))) == Json("ada"));
    CHECK(cli::payload_json(encode(Unit{})).is_null());
    CHECK(cli::payload_json(encode(std::vector<int>{1, 2})) == Json::array({1, 2}));
    CHECK(cli::payload_json(encode(std::map<std::string, int>{{"a", 1}})) == Json{{"a", 1}});
    CHECK(cli::payload_json(encode(testing::Decision{"ada", 3})) == Json::array({"ada", 3}));
    // Keys JSON cannot have, bytes that are not msgpack, nothing at all.
    CHECK(cli::payload_json(encode(std::map<int, int>{{1, 2}})) == Json{{"msgpack_hex", "810102"}});
    CHECK(cli::payload_json(std::string("\xc1", 1)) == Json{{"msgpack_hex", "c1"}});
    CHECK(cli::payload_json(encode(1).str() + encode(2).str()) == Json{{"msgpack_hex", "0102"}});
    CHECK(cli::payload_json("") == Json{{"msgpack_hex", ""}});
    // msgpack binary becomes base64.
    std::vector<char> bin{'h', 'i'};
    CHECK(cli::payload_json(encode(bin)) == Json{{"base64", "aGk="}});
  }

  TEST_CASE(
      "JSON payloads become msgpack that decode<T> reads: ints, strings, array and map structs") {
    CHECK(*decode<int>(cli::payload_bytes(Json(42))) == 42);
    CHECK(*decode<std::int64_t>(cli::payload_bytes(Json(-5'000'000'000LL))) == -5'000'000'000LL);
    CHECK(*decode<double>(cli::payload_bytes(Json(2.5))) == 2.5);
    CHECK(*decode<std::string>(cli::payload_bytes(Json("ada"))) == "ada");
    CHECK(decode<Unit>(cli::payload_bytes(Json())));
    auto d = decode<testing::Decision>(cli::payload_bytes(Json::parse(R"(["bob", 2])")));
    REQUIRE(d);
    CHECK(d->by == "bob");
    CHECK(d->level == 2);
    auto t = decode<testing::Ticket>(
        cli::payload_bytes(Json::parse(R"({"priority": 1, "title": "x"})")));
    REQUIRE(t);
    CHECK(t->title == "x");
    CHECK(t->priority == 1);
    auto wrong = decode<int>(cli::payload_bytes(Json("not a number")));
    CHECK_FALSE(wrong);
    CHECK(msgpack_of(nlohmann::json::array({1, "a"})) ==
          cli::payload_bytes(Json::array({1, "a"})).str());
  }

  TEST_CASE("base64 round-trips any bytes and refuses what is not base64") {
    std::mt19937 random(7);
    for (std::size_t n = 0; n < 40; ++n) {
      std::string bytes;
      for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(random() & 0xff));
      auto text = cli::base64(bytes);
      CHECK(text.size() % 4 == 0);
      CHECK(cli::from_base64(text) == bytes);
    }
    CHECK(cli::base64("Man") == "TWFu");
    CHECK(cli::base64("Ma") == "TWE=");
    CHECK(cli::base64("M") == "TQ==");
    for (const char* bad : {"abc", "ab=c", "a===", "@@@@", "TQ==TQ==", "TQ=a"}) {
      CAPTURE(bad);
      CHECK_FALSE(cli::from_base64(bad));
    }
  }

  TEST_CASE("times are ISO-8601 UTC with milliseconds, before 1970 too") {
    CHECK(cli::iso_time(from_unix_ms(0)) == "1970-01-01T00:00:00.000Z");
    CHECK(cli::iso_time(from_unix_ms(-1)) == "1969-12-31T23:59:59.999Z");
    CHECK(cli::iso_time(from_unix_ms(1'700'000'000'123)) == "2023-11-14T22:13:20.123Z");
  }

  TEST_CASE("durations parse from flags and print in their two largest units") {
    using std::chrono::milliseconds;
    CHECK(*cli::parse_duration("500ms") == milliseconds(500));
    CHECK(*cli::parse_duration("30s") == milliseconds(30'000));
    CHECK(*cli::parse_duration("10m") == milliseconds(600'000));
    CHECK(*cli::parse_duration("2h") == milliseconds(7'200'000));
    CHECK(*cli::parse_duration("7d") == milliseconds(604'800'000));
    CHECK(*cli::parse_duration("1w") == milliseconds(604'800'000));
    CHECK(*cli::parse_duration("1h30m") == milliseconds(5'400'000));
    for (const char* bad : {"", "7", "x", "7x", "1.5h", "-3s", "s", "10 m"}) {
      CAPTURE(bad);
      auto d = cli::parse_duration(bad);
      REQUIRE_FALSE(d);
      CHECK(d.error().code == ErrorCode::kInvalidArgument);
      CHECK(contains(d.error().message, "e.g. 30s, 10m, 2h, 7d"));
    }
    CHECK(cli::format_duration(milliseconds(850)) == "850ms");
    CHECK(cli::format_duration(milliseconds(12'400)) == "12s");
    CHECK(cli::format_duration(milliseconds(60'000)) == "1m");
    CHECK(cli::format_duration(milliseconds(303'000)) == "5m 3s");
    CHECK(cli::format_duration(milliseconds(7'500'000)) == "2h 5m");
    CHECK(cli::format_duration(milliseconds(273'600'000)) == "3d 4h");
    CHECK(cli::format_duration(milliseconds(-5'000)) == "-5s");
    CHECK(cli::format_bytes(512) == "512 B");
    CHECK(cli::format_bytes(1536) == "1.5 KiB");
    CHECK(cli::format_bytes(std::uint64_t{3} << 30) == "3.0 GiB");
  }

  TEST_CASE("times parse from flags as UTC times, dates or durations ago, and nothing else") {
    auto now = from_unix_ms(1'764'158'772'553);  // 2025-11-26T12:06:12.553Z
    CHECK(*cli::parse_time("2025-11-26T10:46:12.553Z", now) == from_unix_ms(1'764'153'972'553));
    CHECK(*cli::parse_time("2025-11-26T10:46:12Z", now) == from_unix_ms(1'764'153'972'000));
    CHECK(*cli::parse_time("2025-11-26", now) == from_unix_ms(1'764'115'200'000));
    CHECK(*cli::parse_time("1969-12-31T23:59:59.999Z", now) == from_unix_ms(-1));
    CHECK(*cli::parse_time("7d", now) == now - std::chrono::hours(24 * 7));
    CHECK(*cli::parse_time("0s", now) == now);
    CHECK(cli::iso_time(*cli::parse_time(cli::iso_time(now), now)) == cli::iso_time(now));
    for (const char* bad : {"", "yesterday", "2025-11-26T10:46:12", "2025-11-26 10:46:12Z",
                            "2025-02-30", "2025-13-01", "2025-11-26T24:00:00Z", "2025-11-2",
                            "2025-11-26T10:46:12.5Z", "-7d", "7 d", "+2025-11-26"}) {
      CAPTURE(bad);
      auto t = cli::parse_time(bad, now);
      REQUIRE_FALSE(t);
      CHECK(t.error().code == ErrorCode::kInvalidArgument);
      CHECK(contains(t.error().message, "bad time '" + std::string(bad) + "'"));
    }
  }

  TEST_CASE("summaries show a view's fields on one line, and tables align their columns") {
    Json view = cli::event_json(HistoryEvent{
        4, from_unix_ms(0), event::SubOrchestrationCancelRequested{2, "no longer needed", true}});
    CHECK(cli::summary(view, {"id", "timestamp", "kind"}, 0) ==
          "scheduled_id=2 reason=\"no longer needed\" terminate");
    Json failed = cli::event_json(HistoryEvent{
        5, from_unix_ms(0),
        event::ActivityFailed{3, FailureDetails{ErrorCategory::kApplication, "E", "boom"}}});
    CHECK(cli::summary(failed, {"id", "timestamp", "kind"}, 0) ==
          "scheduled_id=3 failure=E: boom failure_kind=application");
    Json long_input = cli::event_json(HistoryEvent{
        2, from_unix_ms(0), event::ActivityScheduled{"A", encode(std::string(200, 'x')), 1}});
    auto cut = cli::summary(long_input, {"id", "timestamp", "kind"}, 40);
    CHECK(cut.size() == 40);
    CHECK(cut.ends_with("..."));

    cli::Table table({"A", "LONGER", "C"});
    table.add({"wide cell", "x", "last"});
    std::ostringstream out;
    table.print(out, "  ");
    CHECK(out.str() == "  A          LONGER  C\n  wide cell  x       last\n");
  }

  TEST_CASE("an export document holds every event and message kind and reads back exactly") {
    auto image = every_kind();
    auto document = cli::export_document(image, "/some/store", from_unix_ms(0));
    CHECK(document["format"] == "duractor-export");
    CHECK(document["version"] == 1);
    CHECK(document["exported_at"] == "1970-01-01T00:00:00.000Z");
    CHECK(document["instance"]["parent"]["instance"] == "parent");
    const auto& events = document["executions"][0]["events"];
    REQUIRE(events.size() == 19);
    CHECK(events[0]["carried_events"][0]["payload"] == 3);
    CHECK(events[1]["input"] == "card");
    CHECK(events[3]["failure"]["message"] == "nope");
    CHECK(document["inbox"][5]["failure"]["type"] == "std::runtime_error");
    CHECK(document["work"][0]["activity"] == "Ship");
    CHECK(document["timers"][0]["scheduled_id"] == 3);
    CHECK(events[17]["kind"] == "TopicPublished");
    CHECK(events[17]["topic"] == "news");

    // Through text, as a file would carry it.
    auto reread = Json::parse(document.dump(2));
    auto back = cli::read_export_document(reread);
    REQUIRE_MESSAGE(back, (back ? "" : back.error().to_string()));
    CHECK(*back == image);
  }
}

TEST_SUITE("cli: run") {
  TEST_CASE("run answers --help and usage errors without a store, and reads a store in-process") {
    std::ostringstream out, err;
    CHECK(cli::run({"--help"}, out, err) == 0);
    CHECK(contains(out.str(), "Exit codes:"));
    std::ostringstream out2, err2;
    CHECK(cli::run({"stats"}, out2, err2) == 2);
    CHECK(out2.str().empty());
    CHECK(err2.str() == "duractor: no store given: pass --store PATH or set DURACTOR_STORE\n");

    testing::TempDir dir;
    {
      auto s = LmdbStore::open(LmdbOptions{.path = dir.sub("s"), .sync = false});
      REQUIRE(s);
      REQUIRE((*s)->create_instance(NewInstance{.id = "a", .name = "Order", .input = encode(1)}));
    }
    std::ostringstream out3, err3;
    CHECK(cli::run({"--store", dir.sub("s"), "show", "a", "--json"}, out3, err3) == 0);
    auto shown = Json::parse(out3.str());
    CHECK(shown["instance"]["status"] == "pending");
    CHECK(shown["inbox"][0]["kind"] == "Start");
    CHECK(shown["inbox"][0]["input"] == 1);
  }
}

}  // namespace duractor
