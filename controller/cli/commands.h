// commands.h — `slogate evaluate` and `slogate replay` (SPEC §3).
//
// Each command takes its arguments (after the command name) and two streams,
// and returns the process exit code. Verdicts go to `out` only once every SLO
// was evaluated, so a failure never leaves half the output on stdout; errors
// go to `err` as one line naming the file, field or flag and what is wrong.
//
// Exit codes of evaluate: 0 approve · 10 halt · 11 rollback · 12 freeze ·
// 13 inconclusive · 1 could not evaluate · 2 invalid input. With several SLOs
// the most severe decision wins (rollback > freeze > halt > inconclusive >
// approve). replay: 0 when every step was evaluated, 1 if evaluation failed,
// 2 on invalid input.
//
// Thread safety: each call is independent; they share no state.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "engine/verdict.h"

namespace slogate::cli {

inline constexpr int kExitCouldNotEvaluate = 1;
inline constexpr int kExitInvalidInput = 2;

// The evaluate exit code for a decision.
int exitCodeFor(engine::Decision decision);

// Where "now" comes from (tests pin it). Unix seconds.
using NowFn = std::function<std::int64_t()>;

int runEvaluate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                const NowFn& now);
int runReplay(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `slogate controller --config FILE`: runs until SIGTERM/SIGINT. Exit 2 on a
// bad config (one line naming file, line and field), 0 after a clean stop.
int runController(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace slogate::cli
