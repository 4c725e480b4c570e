#include "config/slo_document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace slogate::config {
namespace {

using ::testing::HasSubstr;

constexpr const char* kMinimal = R"(apiVersion: slogate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api, namespace: shop}
spec:
  window: 30d
  indicators:
    errors:
      objective: "99.9"
      total: http_requests_total{service="api"}
      bad: http_requests_total{service="api",code=~"5.."}
)";

TEST(SloDocument, LoadsTheSpecExample) {
  auto slos = loadSloFile(std::string(SLOGATE_SOURCE_DIR) + "/tests/fixtures/slo/checkout.yaml");
  ASSERT_TRUE(slos.ok()) << slos.status().message();
  ASSERT_EQ(slos->size(), 2u);
  const engine::SloSpec& s = (*slos)[0]->spec();
  EXPECT_EQ(s.ns, "shop");
  EXPECT_EQ(s.name, "checkout");
  EXPECT_EQ(s.window, 30 * engine::kDay);
  ASSERT_TRUE(s.target.has_value());
  EXPECT_EQ(s.target->name, "checkout");
  ASSERT_EQ(s.indicators.size(), 3u);
  EXPECT_EQ(s.indicators[0].kind, engine::IndicatorKind::kErrors);
  EXPECT_EQ(s.indicators[0].objective.raw(), 999'000'000);
  EXPECT_EQ(s.indicators[0].bad, R"(http_requests_total{service="checkout",code=~"5.."})");
  EXPECT_EQ(s.indicators[1].good,
            R"(http_request_duration_seconds_bucket{service="checkout",le="0.3"})");
  EXPECT_EQ(s.indicators[2].query, "max(container_cpu_utilization_ratio{container=\"checkout\"})");
  EXPECT_EQ(s.indicators[2].max.raw(), 900'000'000);
  EXPECT_EQ(s.traffic.minEvents, 100u);
  ASSERT_TRUE(s.traffic.maxDrop.has_value());
  EXPECT_EQ(s.traffic.maxDrop->raw(), 700'000'000);
  EXPECT_EQ(s.policy.unfreezeAbove.raw(), 50'000'000);
  ASSERT_EQ(s.policy.rules.size(), 4u);
  EXPECT_EQ(s.policy.rules[0].longWindow, 60);
  EXPECT_EQ(s.policy.rules[0].shortWindow, 5);
  EXPECT_EQ(engine::compare(s.policy.rules[0].factor, engine::Ratio{144, 10}), 0);
  EXPECT_EQ(s.policy.rules[0].action, engine::RuleAction::kRollback);
  // Second document: defaults for a 7d window, service defaults to the name.
  const engine::SloSpec& search = (*slos)[1]->spec();
  EXPECT_EQ(search.service, "search");
  ASSERT_EQ(search.policy.rules.size(), 4u);
  EXPECT_EQ(engine::compare(search.policy.rules[0].factor, engine::Ratio{336, 100}), 0);
  EXPECT_EQ(search.policy.mode, engine::Mode::kEnforce);
}

TEST(SloDocument, DefaultsAndEmptyDocuments) {
  auto slos = parseSloDocuments(std::string("---\n") + kMinimal + "---\n", "x.yaml");
  ASSERT_TRUE(slos.ok()) << slos.status().message();
  ASSERT_EQ(slos->size(), 1u);
  EXPECT_EQ((*slos)[0]->spec().policy.onNoData, engine::OnNoData::kHalt);
  EXPECT_FALSE((*slos)[0]->spec().target.has_value());
}

TEST(SloDocument, AcceptsKubectlGetOutputWithStatusAndMetadata) {
  std::string doc = kMinimal;
  doc.replace(doc.find("metadata: {name: api, namespace: shop}"),
              std::string("metadata: {name: api, namespace: shop}").size(),
              "metadata:\n  name: api\n  namespace: shop\n  uid: 1234\n  resourceVersion: \"7\"\n"
              "  generation: 2\n  labels: {team: a}\n  annotations: {x: y}");
  doc += "status:\n  decision: approve\n";
  auto slos = parseSloDocuments(doc, "x.yaml");
  EXPECT_TRUE(slos.ok()) << slos.status().message();
}

struct BadCase {
  const char* name;
  const char* from;  // text in kMinimal to replace
  const char* to;
  const char* message;  // the one line expected, after "x.yaml:"
};

class SloDocumentRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(SloDocumentRejects, WithOneLineNamingFileFieldAndValue) {
  const BadCase& c = GetParam();
  std::string doc = kMinimal;
  const auto at = doc.find(c.from);
  ASSERT_NE(at, std::string::npos) << c.from;
  doc.replace(at, std::string(c.from).size(), c.to);
  auto slos = parseSloDocuments(doc, "x.yaml");
  ASSERT_FALSE(slos.ok()) << c.name;
  EXPECT_EQ(slos.status().code(), Code::kInvalidArgument);
  const std::string& msg = slos.status().message();
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_THAT(msg, ::testing::StartsWith("x.yaml:")) << msg;
  EXPECT_THAT(msg, HasSubstr(c.message)) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SloDocumentRejects,
    ::testing::Values(
        BadCase{
            "objective100", R"("99.9")", R"("100")",
            R"(:8: document 1 (shop/api): spec.indicators.errors.objective: "100" is not a percentage above 0 and below 100)"},
        BadCase{"objectiveZero", R"("99.9")", R"("0")",
                R"(errors.objective: "0" is not a percentage)"},
        BadCase{"objectiveAbc", R"("99.9")", R"("abc")",
                R"(spec.indicators.errors.objective: "abc": )"},
        BadCase{"objectiveExponent", R"("99.9")", R"("9.99e1")", R"(errors.objective: "9.99e1")"},
        BadCase{"windowZero", "window: 30d", "window: 0m", R"(spec.window: "0m": )"},
        BadCase{"windowJunk", "window: 30d", "window: 30days", R"(spec.window: "30days")"},
        BadCase{"windowTooLong", "window: 30d", "window: 91d",
                R"(spec.window: "91d" is longer than 90d)"},
        BadCase{"selectorMissing", "      total: http_requests_total{service=\"api\"}\n", "",
                "spec.indicators.errors.total: required"},
        BadCase{"selectorWithRange", R"(total: http_requests_total{service="api"})",
                R"(total: http_requests_total{service="api"}[5m])",
                "spec.indicators.errors.total: "},
        BadCase{"selectorFunction", R"(total: http_requests_total{service="api"})",
                R"(total: rate(http_requests_total[5m]))", "expected a metric name"},
        BadCase{"selectorUnterminated", R"(total: http_requests_total{service="api"})",
                R"(total: 'http_requests_total{service="api}')", "unterminated string"},
        BadCase{"unknownIndicator", "    errors:", "    availability:\n      x: 1\n    errors:",
                "spec.indicators.availability: unknown field"},
        BadCase{"bothGoodAndBad", R"(bad: http_requests_total{service="api",code=~"5.."})",
                "bad: a_total\n      good: b_total",
                "spec.indicators.errors: both good and bad are given; give exactly one"},
        BadCase{"neitherGoodNorBad", R"(bad: http_requests_total{service="api",code=~"5.."})", "",
                "spec.indicators.errors: one of good or bad is required"},
        BadCase{"unknownSpecField", "  window: 30d", "  windw: 30d", "spec.windw: unknown field"},
        BadCase{"unknownTopField", "kind: ServiceLevelObjective",
                "kind: ServiceLevelObjective\nextra: 1", ": extra: unknown field"},
        BadCase{"duplicateField", "  window: 30d", "  window: 30d\n  window: 7d",
                "spec.window: duplicate field"},
        BadCase{"wrongKind", "kind: ServiceLevelObjective", "kind: Rollout",
                R"(kind: "Rollout" is not ServiceLevelObjective)"},
        BadCase{"wrongVersion", "slogate.dev/v1alpha1", "slogate.dev/v2",
                R"(apiVersion: "slogate.dev/v2" is not slogate.dev/v1alpha1)"},
        BadCase{"noName", "{name: api, namespace: shop}", "{namespace: shop}",
                "metadata.name: required"},
        BadCase{"badName", "{name: api,", "{name: API_1,",
                R"(metadata.name: "API_1" is not a valid name)"},
        BadCase{"noIndicators", "  indicators:", "  other:", "spec.other: unknown field"},
        BadCase{
            "onlySaturation", "    errors:\n",
            "    saturation:\n      query: up\n      max: \"1\"\n      objective: \"99\"\n    x:\n",
            "spec.indicators.x: unknown field"},
        BadCase{"calendarPeriod", "  window: 30d", "  calendar: {period: day}",
                R"(spec.calendar.period: "day" is not month or week)"},
        BadCase{"calendarNoPeriod", "  window: 30d", "  calendar: {timeZone: UTC}",
                "spec.calendar.period: required"},
        BadCase{"calendarUnknownZone", "  window: 30d",
                "  calendar: {period: month, timeZone: Mars/Olympus_Mons}",
                R"(spec.calendar.timeZone: "Mars/Olympus_Mons": unknown time zone)"},
        BadCase{"calendarZonePath", "  window: 30d",
                "  calendar: {period: week, timeZone: ../../etc/passwd}",
                R"(spec.calendar.timeZone: "../../etc/passwd" is not an IANA time zone name)"},
        BadCase{"calendarZoneDirectory", "  window: 30d",
                "  calendar: {period: week, timeZone: Europe}",
                R"(spec.calendar.timeZone: "Europe": /usr/share/zoneinfo/Europe: )"},
        BadCase{"calendarExtraKey", "  window: 30d", "  calendar: {period: week, start: monday}",
                "spec.calendar.start: unknown field"},
        BadCase{"windowAndCalendar", "  window: 30d", "  window: 30d\n  calendar: {period: month}",
                "spec.calendar: give window or calendar, not both"},
        BadCase{"badMode", "  window: 30d", "  window: 30d\n  policy: {mode: strict}",
                R"(spec.policy.mode: "strict" is not one of enforce, warn, dryRun)"},
        BadCase{"badOnNoData", "  window: 30d", "  window: 30d\n  policy: {onNoData: maybe}",
                R"(spec.policy.onNoData: "maybe" is not one of halt, approve)"},
        BadCase{"unfreezeBelowFreeze", "  window: 30d",
                "  window: 30d\n  policy: {freezeBelow: \"0.2\", unfreezeAbove: \"0.1\"}",
                R"(spec.policy.unfreezeAbove: "0.1" must be at least freezeBelow (0.2))"},
        BadCase{"ruleShortNotShorter", "  window: 30d",
                "  window: 30d\n  policy:\n    burnRateRules: [{long: 1h, short: 1h, factor: "
                "\"2\", action: halt}]",
                R"(spec.policy.burnRateRules[0].short: "1h" must be shorter than long (1h))"},
        BadCase{"ruleBadAction", "  window: 30d",
                "  window: 30d\n  policy:\n    burnRateRules: [{long: 1h, short: 5m, factor: "
                "\"2\", action: page}]",
                R"(spec.policy.burnRateRules[0].action: "page" is not one of rollback, halt)"},
        BadCase{"ruleZeroFactor", "  window: 30d",
                "  window: 30d\n  policy:\n    burnRateRules: [{long: 1h, short: 5m, factor: "
                "\"0\", action: halt}]",
                R"(burnRateRules[0].factor: "0" must be above 0)"},
        BadCase{"ruleUnknownField", "  window: 30d",
                "  window: 30d\n  policy:\n    burnRateRules: [{long: 1h, short: 5m, factor: "
                "\"2\", action: halt, severity: page}]",
                "spec.policy.burnRateRules[0].severity: unknown field"},
        BadCase{"rulesEmpty", "  window: 30d", "  window: 30d\n  policy: {burnRateRules: []}",
                "spec.policy.burnRateRules: must hold at least one rule"},
        BadCase{"minEventsNegative", "    errors:", "    traffic: {minEvents: -1}\n    errors:",
                R"(spec.indicators.traffic.minEvents: "-1" is not a whole number)"},
        BadCase{"maxDropOne", "    errors:", "    traffic: {maxDrop: \"1\"}\n    errors:",
                R"(spec.indicators.traffic.maxDrop: "1" must be above 0 and below 1)"},
        BadCase{"minEventsText", "    errors:", "    traffic: {minEvents: many}\n    errors:",
                R"(spec.indicators.traffic.minEvents: "many" is not a whole number)"},
        BadCase{"targetKind", "  window: 30d",
                "  window: 30d\n  target: {kind: Deployment, name: api}",
                "only argoproj.io/v1alpha1 Rollout can be gated"},
        BadCase{"metadataList", "{name: api, namespace: shop}", "[api]",
                "metadata: must be a mapping, is a list"},
        BadCase{"objectiveMap", R"(objective: "99.9")", "objective: {a: 1}",
                "spec.indicators.errors.objective: must be a scalar, is a mapping"},
        BadCase{"brokenYaml", "kind: ServiceLevelObjective", "kind: [unclosed", "not valid YAML"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return std::string(p.param.name); });

TEST(SloDocument, CalendarWindowsLoadTheirZoneAndDefaultToUtc) {
  std::string doc = kMinimal;
  doc.replace(doc.find("  window: 30d"), std::string("  window: 30d").size(),
              "  calendar: {period: month, timeZone: Europe/Berlin}");
  auto slos = parseSloDocuments(doc, "x.yaml");
  ASSERT_TRUE(slos.ok()) << slos.status().message();
  const engine::SloSpec& spec = (*slos)[0]->spec();
  ASSERT_TRUE(spec.calendar.has_value());
  EXPECT_EQ(spec.calendar->period, engine::CalendarPeriod::kMonth);
  EXPECT_EQ(spec.calendar->zone->name(), "Europe/Berlin");
  // Default factors scale with the nominal 30d: the SRE Workbook's 14.4 for 1h/5m.
  EXPECT_EQ(spec.window, 30 * engine::kDay);
  ASSERT_FALSE(spec.policy.rules.empty());
  EXPECT_EQ(spec.policy.rules[0].factor.num * 10, spec.policy.rules[0].factor.den * 144);

  doc = kMinimal;
  doc.replace(doc.find("  window: 30d"), std::string("  window: 30d").size(),
              "  calendar: {period: week}");
  slos = parseSloDocuments(doc, "x.yaml");
  ASSERT_TRUE(slos.ok()) << slos.status().message();
  EXPECT_EQ((*slos)[0]->spec().calendar->period, engine::CalendarPeriod::kIsoWeek);
  EXPECT_EQ((*slos)[0]->spec().calendar->zone->name(), "UTC");
  EXPECT_EQ((*slos)[0]->spec().window, engine::kWeek);
}

TEST(SloDocument, StreamsYamlCppWouldLoopOnAreRejectedNotHung) {
  // yaml-cpp 0.7's LoadAll never returns on these (found by fuzz_slo_yaml).
  for (const std::string& text : {std::string(","), std::string(kMinimal) + "---\n,\n",
                                  std::string("]"), std::string("---\n,")}) {
    auto slos = parseSloDocuments(text, "x.yaml");
    ASSERT_FALSE(slos.ok()) << text;
    EXPECT_THAT(slos.status().message(), ::testing::StartsWith("x.yaml:")) << text;
    EXPECT_THAT(slos.status().message(), HasSubstr("not valid YAML")) << text;
  }
  // Many empty documents are fine.
  std::string many(kMinimal);
  for (int i = 0; i < 1000; ++i) many += "---\n";
  EXPECT_TRUE(parseSloDocuments(many, "x.yaml").ok());
}

TEST(SloDocument, RejectsTheSameSloTwice) {
  auto slos = parseSloDocuments(std::string(kMinimal) + "---\n" + kMinimal, "x.yaml");
  ASSERT_FALSE(slos.ok());
  EXPECT_THAT(slos.status().message(),
              HasSubstr("document 2 (shop/api): metadata.name: \"shop/api\" is defined twice"));
}

TEST(SloDocument, ErrorsNameTheDocument) {
  std::string second = kMinimal;
  second.replace(second.find("name: api"), 9, "name: web");
  second.replace(second.find("\"99.9\""), 6, "\"x\"");
  auto slos = parseSloDocuments(std::string(kMinimal) + "---\n" + second, "x.yaml");
  ASSERT_FALSE(slos.ok());
  EXPECT_THAT(
      slos.status().message(),
      HasSubstr("x.yaml:19: document 2 (shop/web): spec.indicators.errors.objective: \"x\""));
}

TEST(SloDocument, EmptyFileAndMissingFile) {
  auto empty = parseSloDocuments("# nothing\n", "e.yaml");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "e.yaml: no ServiceLevelObjective documents found");
  auto missing = loadSloFile("/nonexistent/slo.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("/nonexistent/slo.yaml: cannot open: No such file"));
}

TEST(Selector, AcceptsVectorSelectorsOnly) {
  EXPECT_EQ(checkSelector("up"), std::nullopt);
  EXPECT_EQ(checkSelector(R"(a_total{b="c}",d=~"[0-9]+"})"), std::nullopt);
  EXPECT_EQ(checkSelector(R"({__name__="x"})"), std::nullopt);
  EXPECT_NE(checkSelector(""), std::nullopt);
  EXPECT_NE(checkSelector("a + b"), std::nullopt);
  EXPECT_NE(checkSelector("a{b=\"c\"} offset 5m"), std::nullopt);
  EXPECT_NE(checkSelector("a{b=\"c\""), std::nullopt);
}

}  // namespace
}  // namespace slogate::config

namespace slogate::config {
namespace {

// Found by fuzz_slo_yaml: values with newlines must not break the one-line contract.
TEST(SloDocument, ErrorsStayOneLineWhateverTheInput) {
  for (const char* text :
       {"apiVersion: \"slogate.dev/v1alpha1\\nx\"\nkind: ServiceLevelObjective\n", "\xff\x00\n",
        "a: \"\\q\"\n",
        "kind: ServiceLevelObjective\napiVersion: slogate.dev/v1alpha1\nmetadata: {name: "
        "\"a\\nb\"}\n"}) {
    auto r = parseSloDocuments(text, "f.yaml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace slogate::config
