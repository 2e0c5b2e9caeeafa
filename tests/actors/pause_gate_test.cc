// split_for_pause: which waiting messages a turn may take around Pause and Resume.

#include <doctest/doctest.h>

#include "duractor/actors/detail/pause_gate.h"

namespace duractor {
namespace {

InboxEntry entry(std::uint64_t seq, InboxMessage message) {
  return InboxEntry{seq, TimePoint{}, std::move(message)};
}
InboxEntry raised(std::uint64_t seq) {
  return entry(seq, message::Event{"E" + std::to_string(seq), {}});
}

std::vector<std::uint64_t> seqs(const std::vector<InboxEntry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(e.seq);
  return out;
}

using Seqs = std::vector<std::uint64_t>;

}  // namespace

TEST_SUITE("pause gate") {
  TEST_CASE("without Pause or Resume every message runs") {
    auto split = split_for_pause({raised(1), raised(2)}, false, true);
    CHECK(seqs(split.run) == Seqs{1, 2});
    CHECK(split.control.empty());
    CHECK_FALSE(split.paused);
  }

  TEST_CASE("a Pause holds what follows it, and what came before runs") {
    auto split =
        split_for_pause({raised(1), entry(2, message::Pause{"why"}), raised(3)}, false, true);
    CHECK(seqs(split.run) == Seqs{1});
    CHECK(split.control == Seqs{2});
    CHECK(split.paused);
    CHECK(split.reason == "why");
  }

  TEST_CASE("a paused instance holds everything until a Resume, then takes it all in order") {
    auto held = split_for_pause({raised(1), raised(2)}, true, true);
    CHECK(held.nothing());
    CHECK(held.paused);
    auto resumed =
        split_for_pause({raised(1), raised(2), entry(3, message::Resume{}), raised(4)}, true, true);
    CHECK(seqs(resumed.run) == Seqs{1, 2, 4});
    CHECK(resumed.control == Seqs{3});
    CHECK_FALSE(resumed.paused);
  }

  TEST_CASE("a Pause after a Resume holds again from there") {
    auto split = split_for_pause({raised(1), entry(2, message::Resume{}), raised(3),
                                  entry(4, message::Pause{"again"}), raised(5)},
                                 true, true);
    CHECK(seqs(split.run) == Seqs{1, 3});
    CHECK(split.control == Seqs{2, 4});
    CHECK(split.paused);
  }

  TEST_CASE("a terminate is taken while paused, and a cooperative cancel waits") {
    auto split = split_for_pause({raised(1), entry(2, message::Cancel{"soft", false}),
                                  entry(3, message::Cancel{"now", true})},
                                 true, true);
    CHECK(seqs(split.run) == Seqs{3});
    CHECK(split.paused);
    auto soft = split_for_pause({entry(1, message::Cancel{"soft", false})}, true, true);
    CHECK(soft.nothing());
  }

  TEST_CASE("an instance that has not started holds its Start while paused, unless terminated") {
    message::Start start;
    start.name = "Flow";
    auto held = split_for_pause({entry(1, start), entry(2, message::Pause{"hold"})}, false, false);
    CHECK(held.run.empty());
    CHECK(held.control == Seqs{2});
    CHECK(held.paused);
    auto ended = split_for_pause({entry(1, start), raised(2), entry(3, message::Cancel{"x", true})},
                                 true, false);
    CHECK(seqs(ended.run) == Seqs{1, 3});
    // Started instances never take the Start out of order (it is not theirs any more).
    auto started =
        split_for_pause({entry(1, start), entry(2, message::Cancel{"x", true})}, true, true);
    CHECK(seqs(started.run) == Seqs{2});
  }
}

}  // namespace duractor
