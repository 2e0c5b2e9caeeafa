// fan_out_fan_in: fan-out/fan-in. An orchestration counts the words of a set of documents
// by calling one activity per document, all at once, and joins their results with
// when_all. The calls run in parallel on the activity workers; the results come back in
// the order the calls were made, whatever order they finished in. A second, larger job
// fans out in batches to keep at most 4 calls in flight.
//
//   fan_out_fan_in [store-directory]      (default: ./duractor-fan-out-store)

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "samples/common.h"

using namespace std::chrono_literals;
using duractor::ActivityContext;
using duractor::DurableFuture;
using duractor::OrchestrationContext;
using duractor::Task;

const duractor::Activity<std::string, int> CountWords{"CountWords"};
const duractor::Orchestration<std::vector<std::string>, int> WordCount{"WordCount", 1};
const duractor::Orchestration<std::vector<std::string>, int> BatchedWordCount{"BatchedWordCount",
                                                                              1};

int count_words(ActivityContext&, std::string text) {
  std::this_thread::sleep_for(50ms);  // the real work takes a while
  std::istringstream in(text);
  int words = 0;
  for (std::string w; in >> w;) ++words;
  return words;
}

// Fan out: one call per document, all scheduled before the first co_await. Fan in: when_all.
Task<int> word_count(OrchestrationContext& ctx, std::vector<std::string> documents) {
  std::vector<DurableFuture<int>> counts;
  for (const auto& doc : documents) counts.push_back(ctx.call(CountWords, doc));
  int total = 0;
  for (int n : co_await ctx.when_all(std::move(counts))) total += n;
  co_return total;
}

// The same, at most `batch` calls in flight: a when_all per batch.
Task<int> batched_word_count(OrchestrationContext& ctx, std::vector<std::string> documents) {
  constexpr std::size_t batch = 4;
  int total = 0;
  for (std::size_t first = 0; first < documents.size(); first += batch) {
    std::vector<DurableFuture<int>> counts;
    for (std::size_t i = first; i < documents.size() && i < first + batch; ++i) {
      counts.push_back(ctx.call(CountWords, documents[i]));
    }
    for (int n : co_await ctx.when_all(std::move(counts))) total += n;
    ctx.set_custom_status(std::to_string(std::min(first + batch, documents.size())) + "/" +
                          std::to_string(documents.size()) + " documents");
  }
  co_return total;
}

int main(int argc, char** argv) {
  duractor::Registry registry;
  registry.add(CountWords, count_words);
  registry.add(WordCount, word_count);
  registry.add(BatchedWordCount, batched_word_count);

  auto host = samples::or_exit(
      duractor::Host::start(registry,
                            samples::options(argc > 1 ? argv[1] : "duractor-fan-out-store")),
      "start");
  auto client = host->client();

  std::vector<std::string> documents = {
      "the quick brown fox jumps over the lazy dog",
      "durable execution survives crashes",
      "every step is recorded in a history",
      "and replayed after a restart",
      "activities run at least once",
      "orchestrations are deterministic code",
      "timers are durable too",
      "fan out then fan in",
  };
  auto start = std::chrono::steady_clock::now();
  int total = samples::or_exit(WordCount.run(client, "word-count-1", documents, 30s), "word count");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  std::printf("%zu documents, %d words (all at once, %lld ms)\n", documents.size(), total,
              static_cast<long long>(ms.count()));

  std::vector<std::string> many;
  for (int i = 0; i < 3; ++i) many.insert(many.end(), documents.begin(), documents.end());
  total = samples::or_exit(BatchedWordCount.run(client, "word-count-2", many, 30s),
                           "batched word count");
  std::printf("%zu documents, %d words (in batches of 4)\n", many.size(), total);
  return 0;
}
