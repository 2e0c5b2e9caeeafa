#pragma once
// Runs the real `duractor` binary (built as build/cli/duractor) as a subprocess, the way an
// operator or a script does, and captures its exit code, standard output and standard
// error.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace duractor::testing {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  // Standard output parsed as JSON (fails the test if it is not).
  nlohmann::json json() const;
  // For failure messages: the command's output and errors.
  std::string transcript() const {
    return "exit " + std::to_string(exit_code) + "\nstdout:\n" + out + "\nstderr:\n" + err;
  }
};

struct CliOptions {
  std::string stdin_text;                                // fed to its standard input
  std::vector<std::pair<std::string, std::string>> env;  // added to the environment
};

// Runs `duractor args...` and waits for it.
CliRun run_cli(const std::vector<std::string>& args, const CliOptions& options = {});

}  // namespace duractor::testing
