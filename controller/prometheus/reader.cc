#include "prometheus/reader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace slogate::prometheus {
namespace {

using engine::IndicatorKind;
using engine::Minutes;

// A decimal as sign, integer digits and fraction digits, no leading zeros in
// the integer part and no trailing zeros in the fraction.
struct Decimal {
  bool negative = false;
  std::string whole;  // "" for 0
  std::string frac;
};

std::optional<Decimal> parseDecimal(std::string_view s) {
  Decimal d;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) d.negative = s[i++] == '-';
  std::string digits;
  long point = -1;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '.' && point < 0) {
      point = static_cast<long>(digits.size());
    } else {
      break;
    }
  }
  if (digits.empty()) return std::nullopt;
  if (point < 0) point = static_cast<long>(digits.size());
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool expNegative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) expNegative = s[i++] == '-';
    long exp = 0;
    const std::size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      exp = std::min<long>(exp * 10 + (s[i] - '0'), 100'000);
    }
    if (i == start) return std::nullopt;
    point += expNegative ? -exp : exp;
  }
  if (i != s.size()) return std::nullopt;
  if (point > 400 || point < -400) {
    // Far outside anything a threshold can be: keep the magnitude, drop digits.
    if (digits.find_first_not_of('0') == std::string::npos) return Decimal{};
    if (point > 400) return Decimal{d.negative, std::string(401, '9'), ""};
    return Decimal{d.negative, "", std::string(401, '0') + "1"};
  }
  if (point < 0) {
    digits.insert(0, static_cast<std::size_t>(-point), '0');
    point = 0;
  }
  if (static_cast<std::size_t>(point) > digits.size())
    digits.append(static_cast<std::size_t>(point) - digits.size(), '0');
  d.whole = digits.substr(0, static_cast<std::size_t>(point));
  d.frac = digits.substr(static_cast<std::size_t>(point));
  d.whole.erase(0, std::min(d.whole.find_first_not_of('0'), d.whole.size()));
  while (!d.frac.empty() && d.frac.back() == '0') d.frac.pop_back();
  if (d.whole.empty() && d.frac.empty()) d.negative = false;
  return d;
}

// |a| vs |b|.
int compareMagnitude(const Decimal& a, const Decimal& b) {
  if (a.whole.size() != b.whole.size()) return a.whole.size() < b.whole.size() ? -1 : 1;
  if (const int c = a.whole.compare(b.whole); c != 0) return c < 0 ? -1 : 1;
  const int c = a.frac.compare(b.frac);  // no trailing zeros: lexicographic is numeric
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::int64_t seconds(Minutes m) {
  return m * 60;
}

}  // namespace

std::string bucketQuery(const std::string& selector, Minutes resolution) {
  return "sum(increase(" + selector + "[" + std::to_string(resolution) + "m]))";
}

std::optional<std::uint64_t> eventCount(std::string_view value) {
  const std::string v(value);
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || v.empty() || !std::isfinite(d) || d < -0.5) {
    return std::nullopt;
  }
  if (d >= 9.2e18) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(std::max(d, 0.0)));
}

std::optional<int> compareValue(std::string_view value, engine::Fixed threshold) {
  if (value == "+Inf" || value == "Inf") return 1;
  if (value == "-Inf") return -1;
  const auto v = parseDecimal(value);
  if (!v) return std::nullopt;
  const auto t = parseDecimal(threshold.toString());
  if (!t) return std::nullopt;
  if (v->negative != t->negative) return v->negative ? -1 : 1;
  const int m = compareMagnitude(*v, *t);
  return v->negative ? -m : m;
}

Status SloReader::rangeByMinute(const std::string& promql, Minutes resolution, Minutes from,
                                Minutes to, std::vector<std::optional<std::string>>& values,
                                bool timeslices, engine::Fixed max) {
  // values[i] is the bucket ending at from + (i + 1) × resolution.
  const auto buckets = static_cast<std::size_t>((to - from) / resolution);
  values.assign(buckets, std::nullopt);
  for (Minutes chunkFrom = from; chunkFrom < to; chunkFrom += resolution * kMaxPoints) {
    const Minutes chunkTo = std::min(to, chunkFrom + resolution * kMaxPoints);
    auto r = client_.queryRange(promql, seconds(chunkFrom + resolution), seconds(chunkTo),
                                seconds(resolution));
    if (!r) return r.status().withContext("query " + promql);
    for (const Series& s : r->series) {
      for (const Sample& sample : s.samples) {
        if (sample.millis % 60'000 != 0) continue;  // not a bucket end
        const Minutes end = sample.timestamp / 60;
        if (end <= from || end > to || (end - from) % resolution != 0) continue;
        auto& slot = values[static_cast<std::size_t>((end - from) / resolution - 1)];
        if (!timeslices) {
          slot = sample.value;  // sum() gives one series
        } else if (const auto c = compareValue(sample.value, max)) {
          // Several series: the slice is as bad as its worst one. NaN is no value.
          if (!slot || (*c > 0 && compareValue(*slot, max).value_or(0) <= 0)) slot = sample.value;
        }
      }
    }
  }
  return Status::ok();
}

Result<Slices> SloReader::fetchCounters(const engine::IndicatorSpec& ind, Minutes resolution,
                                        Minutes from, Minutes to) {
  std::vector<std::optional<std::string>> total;
  std::vector<std::optional<std::string>> other;
  if (Status s =
          rangeByMinute(bucketQuery(ind.total, resolution), resolution, from, to, total, false, {});
      !s.isOk()) {
    return s;
  }
  const bool good = !ind.good.empty();
  if (Status s = rangeByMinute(bucketQuery(good ? ind.good : ind.bad, resolution), resolution, from,
                               to, other, false, {});
      !s.isOk()) {
    return s;
  }
  Slices out;
  for (std::size_t i = 0; i < total.size(); ++i) {
    if (!total[i]) continue;  // no data
    const auto t = eventCount(*total[i]);
    if (!t) continue;  // NaN or garbage: no data for this bucket
    // No good/bad series is 0 events; a NaN or garbage one is no data for
    // the bucket (counting it as 0 would approve, or for `good`, condemn).
    std::uint64_t o = 0;
    if (other[i]) {
      const auto parsed = eventCount(*other[i]);
      if (!parsed) continue;
      o = *parsed;
    }
    Slice slice;
    slice.end = from + static_cast<Minutes>(i + 1) * resolution;
    slice.total = std::min(*t, engine::kMaxEvents);
    const std::uint64_t clamped = std::min(o, slice.total);
    slice.bad = good ? slice.total - clamped : clamped;
    out.push_back(slice);
  }
  return out;
}

Result<Slices> SloReader::fetchTimeslices(const engine::IndicatorSpec& ind, Minutes resolution,
                                          Minutes from, Minutes to) {
  std::vector<std::optional<std::string>> values;
  if (Status s = rangeByMinute(ind.query, 1, from, to, values, true, ind.max); !s.isOk()) return s;
  Slices out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!values[i]) continue;
    const Minutes minute = from + static_cast<Minutes>(i) + 1;
    const Minutes end = engine::ceilTo(minute, resolution);
    if (out.empty() || out.back().end != end) out.push_back(Slice{end, 0, 0});
    out.back().total += 1;
    out.back().bad += *compareValue(*values[i], ind.max) > 0 ? 1 : 0;
  }
  return out;
}

Result<Slices> SloReader::fetch(const engine::CompiledSlo& slo, std::size_t k, Minutes resolution,
                                Minutes from, Minutes to) {
  const engine::IndicatorSpec& ind = slo.spec().indicators[k];
  if (to <= from) return Slices{};
  if (ind.kind == IndicatorKind::kSaturation) return fetchTimeslices(ind, resolution, from, to);
  return fetchCounters(ind, resolution, from, to);
}

Result<Slices> SloReader::fetchTraffic(const engine::CompiledSlo& slo, Minutes from, Minutes to) {
  if (slo.guardIndex() < 0 || to <= from) return Slices{};
  const auto& ind = slo.spec().indicators[static_cast<std::size_t>(slo.guardIndex())];
  std::vector<std::optional<std::string>> total;
  const Minutes r = engine::kTrafficResolution;
  if (Status s = rangeByMinute(bucketQuery(ind.total, r), r, from, to, total, false, {});
      !s.isOk()) {
    return s;
  }
  Slices out;
  for (std::size_t i = 0; i < total.size(); ++i) {
    if (!total[i]) continue;
    if (const auto t = eventCount(*total[i])) {
      out.push_back(
          Slice{from + static_cast<Minutes>(i + 1) * r, std::min(*t, engine::kMaxEvents), 0});
    }
  }
  return out;
}

Result<engine::SloState> SloReader::backfill(const std::shared_ptr<const engine::CompiledSlo>& slo,
                                             Minutes head) {
  const engine::BackfillPlan plan = engine::backfillPlan(*slo->layout(), head);
  engine::SloState state = engine::SloState::start(slo, plan.spans.front().from);
  for (std::size_t k = 0; k < slo->spec().indicators.size(); ++k) {
    const std::string name = engine::indicatorName(slo->spec().indicators[k].kind);
    for (const engine::BackfillSpan& span : plan.spans) {
      auto slices = fetch(*slo, k, span.resolution, span.from, span.to);
      if (!slices) return slices.status().withContext(name);
      for (const Slice& s : *slices) {
        const auto outcome = state.series[k].record(span.resolution, s.end, s.total, s.bad);
        if (outcome != engine::RecordOutcome::kRecorded) {
          return internalError(name + ": cannot record the bucket ending at minute " +
                               std::to_string(s.end) + ": " + engine::recordOutcomeName(outcome));
        }
        state.newestData = std::max(state.newestData.value_or(s.end), s.end);
      }
    }
    if (static_cast<int>(k) == slo->guardIndex()) {
      auto traffic = fetchTraffic(*slo, plan.traffic.from, plan.traffic.to);
      if (!traffic) return traffic.status().withContext(name + " traffic");
      for (const Slice& s : *traffic) state.series[k].recordTraffic(s.end, s.total);
    }
  }
  state.advanceTo(head);
  return state;
}

Status SloReader::update(engine::SloState& state, Minutes now) {
  const Minutes from = std::min(state.head(), now) - kRefreshMinutes;
  for (std::size_t k = 0; k < state.series.size(); ++k) {
    auto slices = fetch(*state.slo, k, 1, from, now);
    if (!slices) return slices.status();
    for (const Slice& s : *slices) {
      if (state.series[k].record(1, s.end, s.total, s.bad) == engine::RecordOutcome::kRecorded) {
        state.newestData = std::max(state.newestData.value_or(s.end), s.end);
      }
    }
  }
  state.advanceTo(now);
  return Status::ok();
}

}  // namespace slogate::prometheus
