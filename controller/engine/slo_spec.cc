#include "engine/slo_spec.h"

namespace slogate::engine {

const char* indicatorName(IndicatorKind kind) {
  switch (kind) {
    case IndicatorKind::kErrors:
      return "errors";
    case IndicatorKind::kLatency:
      return "latency";
    case IndicatorKind::kSaturation:
      return "saturation";
  }
  return "unknown";
}

const char* ruleActionName(RuleAction action) {
  return action == RuleAction::kRollback ? "rollback" : "halt";
}

std::vector<BurnRateRule> defaultRules(Minutes window) {
  struct Row {
    Minutes longWindow;
    Minutes shortWindow;
    int sharePercent;
    RuleAction action;
  };
  static constexpr Row kRows[] = {
      {kHour, 5, 2, RuleAction::kRollback},
      {6 * kHour, 30, 5, RuleAction::kRollback},
      {kDay, 2 * kHour, 10, RuleAction::kHalt},
      {3 * kDay, 6 * kHour, 10, RuleAction::kHalt},
  };
  std::vector<BurnRateRule> rules;
  rules.reserve(std::size(kRows));
  for (const Row& row : kRows) {
    // share/100 × window/long
    rules.push_back({row.longWindow, row.shortWindow,
                     Ratio{static_cast<Int128>(row.sharePercent) * window,
                           static_cast<Int128>(100) * row.longWindow},
                     row.action});
  }
  return rules;
}

}  // namespace slogate::engine
