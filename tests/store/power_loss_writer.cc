// The child program of power_loss_test.cc, run with the power-loss shim preloaded:
//   power_loss_writer STORE [--no-sync]
// Opens the store (sync on unless --no-sync), prints "opened", then commits turns from
// several threads (tests/support/turn_writers.h) and prints "<writer> <k>" on stdout after
// each acknowledged commit, until it is killed. A separate program rather than a forked
// child because LD_PRELOAD takes effect only when a program starts.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "tests/support/turn_writers.h"

namespace {

void say(const std::string& line) {
  std::string data = line + "\n";  // one write, shorter than PIPE_BUF: never interleaved
  (void)::write(1, data.data(), data.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: power_loss_writer STORE [--no-sync]\n");
    return 64;
  }
  bool sync = !(argc > 2 && std::string(argv[2]) == "--no-sync");
  auto store = duractor::testing::open_turn_store(argv[1], sync);
  if (!store) {
    say("open-failed " + store.error().to_string());
    return 1;
  }
  say("opened");
  return duractor::testing::run_turn_writers(**store, say);
}
