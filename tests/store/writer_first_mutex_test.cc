// WriterFirstSharedMutex, the LMDB store's environment lock: a writer waiting for it gets
// in although readers keep overlapping, which glibc's default rwlock (std::shared_mutex)
// never lets it do.

#include "duractor/store/detail/writer_first_mutex.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace duractor {

using namespace std::chrono_literals;

TEST_SUITE("writer-first mutex") {
  TEST_CASE("a writer gets in while three readers take turns so that one always holds it") {
    detail::WriterFirstSharedMutex mutex;
    std::atomic<bool> stop{false};
    std::atomic<int> overlaps{0};
    // Each reader holds the lock for 6 ms and takes it again at once; they start 2 ms
    // apart, so that the lock is never free unless two of them are late at once.
    auto reader = [&](std::chrono::milliseconds delay) {
      std::this_thread::sleep_for(delay);
      while (!stop) {
        std::shared_lock lock(mutex);
        ++overlaps;
        std::this_thread::sleep_for(6ms);
      }
    };
    std::vector<std::thread> readers;
    readers.emplace_back(reader, 0ms);
    readers.emplace_back(reader, 2ms);
    readers.emplace_back(reader, 4ms);
    std::this_thread::sleep_for(20ms);
    std::promise<void> entered;
    auto got_in = entered.get_future();
    std::thread writer([&] {
      std::unique_lock lock(mutex);
      entered.set_value();
    });
    bool in_time = got_in.wait_for(2s) == std::future_status::ready;
    stop = true;
    writer.join();
    for (auto& t : readers) t.join();
    CHECK(overlaps > 4);
    CHECK(in_time);
  }

  TEST_CASE("an exclusive holder is alone, with shared and exclusive takers mixed") {
    detail::WriterFirstSharedMutex mutex;
    std::atomic<int> inside{0};
    std::atomic<bool> exclusive_alone{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < 200; ++k) {
          if ((k + t) % 5 == 0) {
            std::unique_lock lock(mutex);
            if (++inside != 1) exclusive_alone = false;
            std::this_thread::yield();
            --inside;
          } else {
            std::shared_lock lock(mutex);
            ++inside;
            std::this_thread::yield();
            --inside;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(exclusive_alone);
    CHECK(inside == 0);
  }
}

}  // namespace duractor
