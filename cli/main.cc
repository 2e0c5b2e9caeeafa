// duractor: the command-line tool for operators (docs/cli.md). The commands live in
// cli/commands.cc.

#include <iostream>

#include "duractor/cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return duractor::cli::run(args, std::cout, std::cerr);
}
