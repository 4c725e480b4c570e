#include "config/slo_document.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>

#include "config/time_zone_loader.h"

namespace slogate::config {
namespace {

using engine::Fixed;
using engine::IndicatorKind;
using engine::IndicatorSpec;
using engine::Minutes;
using engine::SloSpec;

// Errors are one line: control characters from the input are escaped.
std::string oneLine(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// The error context of one document: "file:line: document N (ns/name): ".
class Context {
 public:
  Context(std::string_view file, int document) : file_(file), document_(document) {}
  void setId(std::string id) { id_ = std::move(id); }

  Status error(const YAML::Node& at, const std::string& field, const std::string& what) const {
    std::string msg(file_);
    if (at.IsDefined() && at.Mark().line >= 0) msg += ":" + std::to_string(at.Mark().line + 1);
    msg += ": document " + std::to_string(document_);
    if (!id_.empty()) msg += " (" + id_ + ")";
    msg += ": " + field + ": " + what;
    return invalidArgument(oneLine(msg));
  }

 private:
  std::string_view file_;
  int document_;
  std::string id_;
};

// A scalar shown back to the user, quoted and cut short.
std::string quote(const std::string& s) {
  std::string shown = s.size() > 80 ? s.substr(0, 77) + "..." : s;
  return "\"" + shown + "\"";
}

const char* nodeKind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "empty";
    case YAML::NodeType::Undefined:
      break;
  }
  return "missing";
}

// Checks that `node` is a mapping whose keys are all in `allowed`, each once.
Status checkMap(const Context& ctx, const YAML::Node& node, const std::string& field,
                std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap())
    return ctx.error(node, field, std::string("must be a mapping, is ") + nodeKind(node));
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return ctx.error(kv.first, field, "keys must be strings");
    const std::string key = kv.first.Scalar();
    const std::string path = field.empty() ? key : field + "." + key;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return ctx.error(kv.first, path, "unknown field");
    }
    if (!seen.insert(key).second) return ctx.error(kv.first, path, "duplicate field");
  }
  return Status::ok();
}

Result<std::string> scalar(const Context& ctx, const YAML::Node& node, const std::string& field) {
  if (!node.IsDefined() || node.IsNull()) return ctx.error(node, field, "required");
  if (!node.IsScalar()) {
    return ctx.error(node, field, std::string("must be a scalar, is ") + nodeKind(node));
  }
  return node.Scalar();
}

Result<std::string> nonEmpty(const Context& ctx, const YAML::Node& node, const std::string& field) {
  auto s = scalar(ctx, node, field);
  if (s && s->empty()) return ctx.error(node, field, "must not be empty");
  return s;
}

Result<Minutes> duration(const Context& ctx, const YAML::Node& node, const std::string& field) {
  auto s = scalar(ctx, node, field);
  if (!s) return s.status();
  auto d = engine::parseDuration(*s);
  if (!d) return ctx.error(node, field, quote(*s) + ": " + d.status().message());
  return *d;
}

Result<Fixed> decimal(const Context& ctx, const YAML::Node& node, const std::string& field) {
  auto s = scalar(ctx, node, field);
  if (!s) return s.status();
  auto f = Fixed::parse(*s);
  if (!f) return ctx.error(node, field, quote(*s) + ": " + f.status().message());
  return *f;
}

Result<Fixed> objective(const Context& ctx, const YAML::Node& node, const std::string& field) {
  auto s = scalar(ctx, node, field);
  if (!s) return s.status();
  auto f = Fixed::parsePercent(*s);
  if (!f) return ctx.error(node, field, quote(*s) + ": " + f.status().message());
  if (*f <= engine::kZero || *f >= engine::kOne) {
    return ctx.error(node, field, quote(*s) + " is not a percentage above 0 and below 100");
  }
  return *f;
}

// Kubernetes names: DNS-1123 subdomain for objects, label for namespaces.
bool isDnsName(const std::string& s, std::size_t maxLength, bool allowDots) {
  if (s.empty() || s.size() > maxLength) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '-' || (allowDots && c == '.'); });
}

Status parseMetadata(Context& ctx, const YAML::Node& meta, SloSpec& spec) {
  if (!meta.IsDefined() || meta.IsNull()) return ctx.error(meta, "metadata", "required");
  // ObjectMeta as the API server returns it, so `kubectl get -o yaml` output loads.
  auto st = checkMap(
      ctx, meta, "metadata",
      {"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
       "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers",
       "ownerReferences", "managedFields", "generateName", "selfLink"});
  if (!st.isOk()) return st;
  auto name = scalar(ctx, meta["name"], "metadata.name");
  if (!name) return name.status();
  if (!isDnsName(*name, 253, true)) {
    return ctx.error(meta["name"], "metadata.name",
                     quote(*name) +
                         " is not a valid name (lowercase letters, digits, '-' and '.', "
                         "starting and ending with a letter or digit)");
  }
  spec.name = *name;
  spec.ns = "default";
  if (meta["namespace"].IsDefined()) {
    auto ns = scalar(ctx, meta["namespace"], "metadata.namespace");
    if (!ns) return ns.status();
    if (!isDnsName(*ns, 63, false)) {
      return ctx.error(meta["namespace"], "metadata.namespace",
                       quote(*ns) + " is not a valid namespace name");
    }
    spec.ns = *ns;
  }
  ctx.setId(spec.ns + "/" + spec.name);
  return Status::ok();
}

Status parseSelector(const Context& ctx, const YAML::Node& node, const std::string& field,
                     std::string& out) {
  auto s = nonEmpty(ctx, node, field);
  if (!s) return s.status();
  if (auto why = checkSelector(*s)) return ctx.error(node, field, quote(*s) + ": " + *why);
  out = *s;
  return Status::ok();
}

Status parseOccurrences(const Context& ctx, const YAML::Node& node, IndicatorKind kind,
                        SloSpec& spec) {
  const std::string field = std::string("spec.indicators.") + engine::indicatorName(kind);
  auto st = checkMap(ctx, node, field, {"objective", "total", "good", "bad"});
  if (!st.isOk()) return st;
  IndicatorSpec ind;
  ind.kind = kind;
  auto obj = objective(ctx, node["objective"], field + ".objective");
  if (!obj) return obj.status();
  ind.objective = *obj;
  st = parseSelector(ctx, node["total"], field + ".total", ind.total);
  if (!st.isOk()) return st;
  const bool hasGood = node["good"].IsDefined();
  const bool hasBad = node["bad"].IsDefined();
  if (hasGood == hasBad) {
    return ctx.error(node, field,
                     hasGood ? "both good and bad are given; give exactly one"
                             : "one of good or bad is required");
  }
  st = hasGood ? parseSelector(ctx, node["good"], field + ".good", ind.good)
               : parseSelector(ctx, node["bad"], field + ".bad", ind.bad);
  if (!st.isOk()) return st;
  spec.indicators.push_back(std::move(ind));
  return Status::ok();
}

Status parseSaturation(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  const std::string field = "spec.indicators.saturation";
  auto st = checkMap(ctx, node, field, {"objective", "query", "max"});
  if (!st.isOk()) return st;
  IndicatorSpec ind;
  ind.kind = IndicatorKind::kSaturation;
  auto obj = objective(ctx, node["objective"], field + ".objective");
  if (!obj) return obj.status();
  ind.objective = *obj;
  auto q = nonEmpty(ctx, node["query"], field + ".query");
  if (!q) return q.status();
  ind.query = *q;
  auto max = decimal(ctx, node["max"], field + ".max");
  if (!max) return max.status();
  ind.max = *max;
  spec.indicators.push_back(std::move(ind));
  return Status::ok();
}

Status parseTraffic(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  const std::string field = "spec.indicators.traffic";
  auto st = checkMap(ctx, node, field, {"minEvents", "maxDrop"});
  if (!st.isOk()) return st;
  if (node["minEvents"].IsDefined()) {
    auto s = scalar(ctx, node["minEvents"], field + ".minEvents");
    if (!s) return s.status();
    const bool digits =
        !s->empty() && s->size() <= 18 &&
        std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      return ctx.error(node["minEvents"], field + ".minEvents",
                       quote(*s) + " is not a whole number of events (0 to 10^18)");
    }
    spec.traffic.minEvents = std::stoull(*s);
  }
  if (node["maxDrop"].IsDefined()) {
    auto d = decimal(ctx, node["maxDrop"], field + ".maxDrop");
    if (!d) return d.status();
    if (*d <= engine::kZero || *d >= engine::kOne) {
      return ctx.error(node["maxDrop"], field + ".maxDrop",
                       quote(node["maxDrop"].Scalar()) + " must be above 0 and below 1");
    }
    spec.traffic.maxDrop = *d;
  }
  return Status::ok();
}

Status parseIndicators(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  if (!node.IsDefined() || node.IsNull()) return ctx.error(node, "spec.indicators", "required");
  auto st = checkMap(ctx, node, "spec.indicators", {"errors", "latency", "saturation", "traffic"});
  if (!st.isOk()) return st;
  if (!node["errors"].IsDefined() && !node["latency"].IsDefined()) {
    return ctx.error(node, "spec.indicators", "errors or latency is required");
  }
  if (node["errors"].IsDefined()) {
    st = parseOccurrences(ctx, node["errors"], IndicatorKind::kErrors, spec);
    if (!st.isOk()) return st;
  }
  if (node["latency"].IsDefined()) {
    st = parseOccurrences(ctx, node["latency"], IndicatorKind::kLatency, spec);
    if (!st.isOk()) return st;
  }
  if (node["saturation"].IsDefined()) {
    st = parseSaturation(ctx, node["saturation"], spec);
    if (!st.isOk()) return st;
  }
  if (node["traffic"].IsDefined()) {
    st = parseTraffic(ctx, node["traffic"], spec);
    if (!st.isOk()) return st;
  }
  return Status::ok();
}

Status parseRules(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  const std::string field = "spec.policy.burnRateRules";
  if (!node.IsSequence()) {
    return ctx.error(node, field, std::string("must be a list, is ") + nodeKind(node));
  }
  if (node.size() == 0)
    return ctx.error(node, field, "must hold at least one rule (or be left out)");
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node r = node[i];
    const std::string rf = field + "[" + std::to_string(i) + "]";
    auto st = checkMap(ctx, r, rf, {"long", "short", "factor", "action"});
    if (!st.isOk()) return st;
    engine::BurnRateRule rule;
    auto l = duration(ctx, r["long"], rf + ".long");
    if (!l) return l.status();
    auto s = duration(ctx, r["short"], rf + ".short");
    if (!s) return s.status();
    if (*s >= *l) {
      return ctx.error(
          r["short"], rf + ".short",
          quote(r["short"].Scalar()) + " must be shorter than long (" + r["long"].Scalar() + ")");
    }
    for (const auto& [len, key] : {std::pair{*l, "long"}, std::pair{*s, "short"}}) {
      if (len > engine::kMaxSloWindow) {
        return ctx.error(r[key], rf + "." + key, quote(r[key].Scalar()) + " is longer than 90d");
      }
    }
    auto f = decimal(ctx, r["factor"], rf + ".factor");
    if (!f) return f.status();
    if (*f <= engine::kZero) {
      return ctx.error(r["factor"], rf + ".factor",
                       quote(r["factor"].Scalar()) + " must be above 0");
    }
    auto a = scalar(ctx, r["action"], rf + ".action");
    if (!a) return a.status();
    if (*a == "rollback") {
      rule.action = engine::RuleAction::kRollback;
    } else if (*a == "halt") {
      rule.action = engine::RuleAction::kHalt;
    } else {
      return ctx.error(r["action"], rf + ".action", quote(*a) + " is not one of rollback, halt");
    }
    rule.longWindow = *l;
    rule.shortWindow = *s;
    rule.factor = engine::toRatio(*f);
    spec.policy.rules.push_back(rule);
  }
  return Status::ok();
}

Status parsePolicy(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  const std::string field = "spec.policy";
  auto st = checkMap(ctx, node, field,
                     {"mode", "onNoData", "freezeBelow", "unfreezeAbove", "burnRateRules"});
  if (!st.isOk()) return st;
  if (node["mode"].IsDefined()) {
    auto m = scalar(ctx, node["mode"], field + ".mode");
    if (!m) return m.status();
    if (*m == "enforce") {
      spec.policy.mode = engine::Mode::kEnforce;
    } else if (*m == "warn") {
      spec.policy.mode = engine::Mode::kWarn;
    } else if (*m == "dryRun") {
      spec.policy.mode = engine::Mode::kDryRun;
    } else {
      return ctx.error(node["mode"], field + ".mode",
                       quote(*m) + " is not one of enforce, warn, dryRun");
    }
  }
  if (node["onNoData"].IsDefined()) {
    auto m = scalar(ctx, node["onNoData"], field + ".onNoData");
    if (!m) return m.status();
    if (*m == "halt") {
      spec.policy.onNoData = engine::OnNoData::kHalt;
    } else if (*m == "approve") {
      spec.policy.onNoData = engine::OnNoData::kApprove;
    } else {
      return ctx.error(node["onNoData"], field + ".onNoData",
                       quote(*m) + " is not one of halt, approve");
    }
  }
  for (const auto& [key, target] : {std::pair{"freezeBelow", &spec.policy.freezeBelow},
                                    std::pair{"unfreezeAbove", &spec.policy.unfreezeAbove}}) {
    if (!node[key].IsDefined()) continue;
    auto d = decimal(ctx, node[key], field + "." + key);
    if (!d) return d.status();
    *target = *d;
  }
  if (spec.policy.unfreezeAbove < spec.policy.freezeBelow) {
    const YAML::Node at = node["unfreezeAbove"].IsDefined() ? node["unfreezeAbove"] : node;
    return ctx.error(at, field + ".unfreezeAbove",
                     quote(spec.policy.unfreezeAbove.toString()) +
                         " must be at least freezeBelow (" + spec.policy.freezeBelow.toString() +
                         ")");
  }
  if (node["burnRateRules"].IsDefined()) return parseRules(ctx, node["burnRateRules"], spec);
  return Status::ok();
}

Status parseTarget(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  const std::string field = "spec.target";
  auto st = checkMap(ctx, node, field, {"apiVersion", "kind", "name"});
  if (!st.isOk()) return st;
  engine::TargetRef t;
  auto v = node["apiVersion"].IsDefined()
               ? scalar(ctx, node["apiVersion"], field + ".apiVersion")
               : Result<std::string>(std::string("argoproj.io/v1alpha1"));
  if (!v) return v.status();
  auto k = node["kind"].IsDefined() ? scalar(ctx, node["kind"], field + ".kind")
                                    : Result<std::string>(std::string("Rollout"));
  if (!k) return k.status();
  if (*v != "argoproj.io/v1alpha1" || *k != "Rollout") {
    return ctx.error(node, field,
                     quote(*v + " " + *k) + ": only argoproj.io/v1alpha1 Rollout can be gated");
  }
  auto n = nonEmpty(ctx, node["name"], field + ".name");
  if (!n) return n.status();
  if (!isDnsName(*n, 253, true)) {
    return ctx.error(node["name"], field + ".name", quote(*n) + " is not a valid name");
  }
  t.apiVersion = *v;
  t.kind = *k;
  t.name = *n;
  spec.target = t;
  return Status::ok();
}

Status parseCalendar(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  auto st = checkMap(ctx, node, "spec.calendar", {"period", "timeZone"});
  if (!st.isOk()) return st;
  auto period = scalar(ctx, node["period"], "spec.calendar.period");
  if (!period) return period.status();
  engine::CalendarWindow calendar;
  if (*period == "month") {
    calendar.period = engine::CalendarPeriod::kMonth;
  } else if (*period == "week") {
    calendar.period = engine::CalendarPeriod::kIsoWeek;
  } else {
    return ctx.error(node["period"], "spec.calendar.period",
                     quote(*period) + " is not month or week");
  }
  std::string zoneName = "UTC";
  if (node["timeZone"].IsDefined()) {
    auto z = nonEmpty(ctx, node["timeZone"], "spec.calendar.timeZone");
    if (!z) return z.status();
    zoneName = *z;
  }
  auto zone = loadTimeZone(zoneName);
  if (!zone)
    return ctx.error(node["timeZone"].IsDefined() ? node["timeZone"] : node,
                     "spec.calendar.timeZone", zone.status().message());
  calendar.zone = *zone;
  spec.calendar = calendar;
  spec.window = engine::nominalPeriodLength(calendar.period);
  return Status::ok();
}

Status parseSpec(const Context& ctx, const YAML::Node& node, SloSpec& spec) {
  if (!node.IsDefined() || node.IsNull()) return ctx.error(node, "spec", "required");
  auto st = checkMap(ctx, node, "spec",
                     {"service", "window", "calendar", "target", "indicators", "policy"});
  if (!st.isOk()) return st;
  spec.service = spec.name;
  if (node["service"].IsDefined()) {
    auto s = nonEmpty(ctx, node["service"], "spec.service");
    if (!s) return s.status();
    spec.service = *s;
  }
  if (node["calendar"].IsDefined()) {
    if (node["window"].IsDefined()) {
      return ctx.error(node["calendar"], "spec.calendar", "give window or calendar, not both");
    }
    st = parseCalendar(ctx, node["calendar"], spec);
    if (!st.isOk()) return st;
  }
  if (node["window"].IsDefined()) {
    auto w = duration(ctx, node["window"], "spec.window");
    if (!w) return w.status();
    if (*w > engine::kMaxSloWindow) {
      return ctx.error(node["window"], "spec.window",
                       quote(node["window"].Scalar()) + " is longer than 90d");
    }
    spec.window = *w;
  }
  if (node["target"].IsDefined()) {
    st = parseTarget(ctx, node["target"], spec);
    if (!st.isOk()) return st;
  }
  st = parseIndicators(ctx, node["indicators"], spec);
  if (!st.isOk()) return st;
  if (node["policy"].IsDefined()) {
    st = parsePolicy(ctx, node["policy"], spec);
    if (!st.isOk()) return st;
  }
  if (spec.policy.rules.empty()) spec.policy.rules = engine::defaultRules(spec.window);
  return Status::ok();
}

Result<std::shared_ptr<const engine::CompiledSlo>> parseDocument(Context& ctx,
                                                                 const YAML::Node& doc) {
  auto st = checkMap(ctx, doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  if (!st.isOk()) return st;
  auto apiVersion = scalar(ctx, doc["apiVersion"], "apiVersion");
  if (!apiVersion) return apiVersion.status();
  if (*apiVersion != kApiVersion) {
    return ctx.error(doc["apiVersion"], "apiVersion",
                     quote(*apiVersion) + " is not " + std::string(kApiVersion));
  }
  auto kind = scalar(ctx, doc["kind"], "kind");
  if (!kind) return kind.status();
  if (*kind != kKind) {
    return ctx.error(doc["kind"], "kind", quote(*kind) + " is not " + std::string(kKind));
  }
  SloSpec spec;
  st = parseMetadata(ctx, doc["metadata"], spec);
  if (!st.isOk()) return st;
  st = parseSpec(ctx, doc["spec"], spec);
  if (!st.isOk()) return st;
  auto compiled = engine::CompiledSlo::compile(std::move(spec));
  if (!compiled) return ctx.error(doc["spec"], "spec", compiled.status().message());
  return compiled;
}

}  // namespace

std::optional<std::string> checkSelector(std::string_view s) {
  std::size_t i = 0;
  const auto nameChar = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
  };
  while (i < s.size() && s[i] == ' ') ++i;
  const std::size_t nameStart = i;
  while (i < s.size() && nameChar(s[i], i == nameStart)) ++i;
  const bool hasName = i > nameStart;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i == s.size()) {
    return hasName ? std::nullopt : std::optional<std::string>("not a metric selector");
  }
  if (s[i] != '{') {
    return "expected a metric name and {label matchers}, found '" + std::string(1, s[i]) +
           "' (functions, ranges and operators are not allowed: slogate adds them)";
  }
  ++i;
  char quote = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'' || c == '`') {
      quote = c;
    } else if (c == '}') {
      break;
    } else if (c == '{' || c == '[' || c == '(') {
      return std::string("unexpected '") + c + "' inside {label matchers}";
    }
  }
  if (quote != 0) return "unterminated string";
  if (i >= s.size()) return "missing '}'";
  ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i != s.size()) {
    return "unexpected text after '}' (ranges, functions and operators are not allowed: slogate "
           "adds them)";
  }
  return std::nullopt;
}

namespace {

// yaml-cpp 0.7's LoadAll never returns on some malformed input (a lone ","
// yields an endless run of empty documents, all starting at the same place:
// yaml-cpp issue 1040). One pass over the parser's events first finds that —
// a document that starts where the one before it started — and caps the
// number of documents, so LoadAll is only called on input it can finish.
class DocumentProgress : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {}
  void OnMapEnd() override {}

  YAML::Mark start = YAML::Mark::null_mark();
};

constexpr int kMaxDocuments = 100'000;

// Throws YAML::Exception like LoadAll for what yaml-cpp itself rejects.
std::optional<std::string> checkDocuments(const std::string& text, std::string_view fileName) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentProgress progress;
  int count = 0;
  int lastStart = -1;
  while (parser.HandleNextDocument(progress)) {
    if (progress.start.pos <= lastStart) {
      return std::string(fileName) + ":" + std::to_string(progress.start.line + 1) + ":" +
             std::to_string(progress.start.column + 1) +
             ": not valid YAML: the parser cannot get past this point (a stray ',' or ']'?)";
    }
    lastStart = progress.start.pos;
    if (++count > kMaxDocuments) {
      return std::string(fileName) + ": more than " + std::to_string(kMaxDocuments) +
             " YAML documents";
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<std::shared_ptr<const engine::CompiledSlo>>> parseSloDocuments(
    std::string_view text, std::string_view fileName) {
  std::vector<YAML::Node> docs;
  try {
    const std::string owned(text);
    if (auto stuck = checkDocuments(owned, fileName)) return invalidArgument(oneLine(*stuck));
    docs = YAML::LoadAll(owned);
  } catch (const YAML::Exception& e) {
    std::string msg(fileName);
    if (e.mark.line >= 0) {
      msg += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return invalidArgument(oneLine(msg + ": not valid YAML: " + e.msg));
  }
  std::vector<std::shared_ptr<const engine::CompiledSlo>> out;
  std::set<std::string> ids;
  int index = 0;
  for (const YAML::Node& doc : docs) {
    ++index;
    if (doc.IsNull()) continue;  // an empty document between `---` lines
    Context ctx(fileName, index);
    try {
      auto slo = parseDocument(ctx, doc);
      if (!slo) return slo.status();
      const std::string id = (*slo)->spec().ns + "/" + (*slo)->spec().name;
      if (!ids.insert(id).second) {
        return ctx.error(doc["metadata"], "metadata.name",
                         quote(id) + " is defined twice in this file");
      }
      out.push_back(std::move(*slo));
    } catch (const YAML::Exception& e) {
      // yaml-cpp throws on some malformed shapes (e.g. indexing a scalar).
      return ctx.error(doc, "document", std::string("cannot be read: ") + e.what());
    }
  }
  if (out.empty()) {
    return invalidArgument(std::string(fileName) + ": no ServiceLevelObjective documents found");
  }
  return out;
}

Result<std::vector<std::shared_ptr<const engine::CompiledSlo>>> loadSloFile(
    const std::string& path) {
  if (path == "-") {
    const std::string text(std::istreambuf_iterator<char>(std::cin),
                           std::istreambuf_iterator<char>{});
    return parseSloDocuments(text, "<stdin>");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return invalidArgument(path + ": cannot open: " + std::generic_category().message(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    return invalidArgument(path + ": cannot read: " + std::generic_category().message(errno));
  return parseSloDocuments(ss.str(), path);
}

}  // namespace slogate::config
