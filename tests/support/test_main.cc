// The test binaries' main: doctest's, plus one check. ctest runs each test case by name
// (doctest_discover_tests passes --test-case=NAME), and a filter that matches nothing would
// pass without running anything: a test name with a ';' in it, for one, is split by CMake
// into two names that match nothing. So a run whose test-case filter matched no test case
// fails, saying why.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string_view>

namespace {

int matched = -1;  // test cases that passed the filters, once the run has ended

struct MatchCounter : doctest::IReporter {
  explicit MatchCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    matched = static_cast<int>(stats.numTestCasesPassingFilters);
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("match_counter", 1, MatchCounter);

bool names_test_cases(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    for (std::string_view flag : {"--test-case=", "-tc=", "--dt-test-case=", "--dt-tc="}) {
      if (arg.starts_with(flag)) return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int result = context.run();
  if (context.shouldExit()) return result;
  if (result == 0 && matched == 0 && names_test_cases(argc, argv)) {
    std::fprintf(stderr,
                 "no test case matches the --test-case filter (a ';' in a test case's name "
                 "splits it into names that match nothing under ctest)\n");
    return 1;
  }
  return result;
}
