// main.cpp — wiring only: dispatches the subcommand.
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage =
    "slogate — SLO error-budget deploy gatekeeper for Kubernetes\n"
    "\n"
    "usage:\n"
    "  slogate controller --config FILE\n"
    "  slogate evaluate --slo FILE --prometheus URL [--at TIME] [--output json|text]\n"
    "  slogate replay   --slo FILE --prometheus URL --from TIME --to TIME [--step 1m]\n"
    "  slogate --version | --help\n"
    "\n"
    "evaluate exit codes: 0 approve, 10 halt, 11 rollback, 12 freeze, 13 inconclusive,\n"
    "                     1 could not evaluate, 2 invalid input\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--version" || command == "version") {
    std::printf("slogate %s\n", SLOGATE_VERSION);
    return 0;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "evaluate") {
    return slogate::cli::runEvaluate(args, std::cout, std::cerr,
                                     [] { return static_cast<std::int64_t>(std::time(nullptr)); });
  }
  if (command == "replay") return slogate::cli::runReplay(args, std::cout, std::cerr);
  if (command == "controller") return slogate::cli::runController(args, std::cout, std::cerr);
  std::fprintf(stderr, "slogate: unknown command \"%s\" (see slogate --help)\n", argv[1]);
  return 2;
}
