#include "engine/verdict_json.h"

#include "base/json_writer.h"
#include "base/time.h"
#include "engine/evaluate.h"

namespace slogate::engine {

std::string verdictJson(const Verdict& verdict) {
  const CompiledSlo& slo = *verdict.slo;
  const WindowLayout& layout = *slo.layout();
  JsonWriter w;
  w.beginObject();
  w.key("namespace").string(slo.spec().ns);
  w.key("slo").string(slo.spec().name);
  w.key("evaluatedAt").string(formatRfc3339(verdict.evaluatedAt * 60));
  w.key("decision").string(decisionName(verdict.decision));
  w.key("reasons").beginArray();
  for (const std::string& reason : verdict.reasons) w.string(reason);
  w.endArray();
  w.key("frozen").boolean(verdict.frozen);
  if (const auto& calendar = slo.spec().calendar) {
    // Which period the budget covers (an addition to SPEC §2's fields).
    w.key("period").beginObject();
    w.key("calendar").string(calendarPeriodName(calendar->period));
    w.key("timeZone").string(calendar->zone->name());
    w.key("start").string(formatRfc3339(calendarPeriodStart(*calendar, verdict.evaluatedAt) * 60));
    w.endObject();
  }
  w.key("indicators").beginObject();
  for (std::size_t k = 0; k < verdict.indicatorCount; ++k) {
    const IndicatorReading& r = verdict.indicators[k];
    w.key(indicatorName(r.kind)).beginObject();
    w.key("objective").raw(r.objective.toString());
    w.key("budgetRemaining").raw(r.budgetRemaining.toString());
    w.key("burnRates").beginObject();
    const auto windows = layout.windows();
    for (std::size_t i = 0; i < windows.size(); ++i) {
      if (!windows[i].listed) continue;
      const auto burn = r.burnRate(i);
      w.key(windows[i].name).raw(burn ? burn->toString() : "null");
    }
    const auto sloBurn = r.burnRate(static_cast<std::size_t>(layout.sloWindowIndex()));
    w.key("window").raw(sloBurn ? sloBurn->toString() : "null");
    w.endObject();
    w.key("events").beginObject();
    w.key("total").raw(std::to_string(r.events.total));
    w.key("bad").raw(std::to_string(r.events.bad));
    w.endObject();
    w.endObject();
  }
  w.endObject();
  w.endObject();
  return w.take();
}

std::string verdictText(const Verdict& verdict) {
  const CompiledSlo& slo = *verdict.slo;
  const WindowLayout& layout = *slo.layout();
  std::string out = formatRfc3339(verdict.evaluatedAt * 60) + "  " + slo.spec().ns + "/" +
                    slo.spec().name + "  " + decisionName(verdict.decision) +
                    (verdict.frozen ? "  (frozen)" : "") + "\n";
  for (std::size_t k = 0; k < verdict.indicatorCount; ++k) {
    const IndicatorReading& r = verdict.indicators[k];
    out += std::string("    ") + indicatorName(r.kind) + ": budget " +
           r.budgetRemaining.toString(4) + ", burn";
    const auto windows = layout.windows();
    for (std::size_t i = 0; i < windows.size(); ++i) {
      if (!windows[i].listed) continue;
      const auto burn = r.burnRate(i);
      out += " " + windows[i].name + "=" + (burn ? burn->toString(2) : "-");
    }
    out += ", events " + std::to_string(r.events.bad) + "/" + std::to_string(r.events.total) + "\n";
  }
  for (const std::string& reason : verdict.reasons) out += "    - " + reason + "\n";
  return out;
}

}  // namespace slogate::engine
