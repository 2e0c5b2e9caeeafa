#pragma once
// The duractor command line: operations on a store directory, for operators and scripts,
// safe to use while a runtime runs on the same store (docs/cli.md). `run` parses the
// arguments, runs one command and returns its exit code (ExitCode, cli/store_access.h);
// main.cc only calls it.
//
// Output: human-readable text by default, one JSON document with --json (field names in
// docs/cli.md). Errors go to `err` as one line "duractor: <message>" (with --json, one JSON
// object {"error": {"exit_code": n, "message": "..."}}), and nothing goes to `out`.

#include <ostream>
#include <string>
#include <vector>

namespace duractor::cli {

// Runs `duractor <args...>` (`args` without the program name).
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace duractor::cli
