// crd_test.cc — crds/slogate.dev_servicelevelobjectives.yaml against the CLI
// loader (config::parseSloDocuments), which SPEC §3 says takes "the same YAML
// that kubectl apply takes".
//
// The CRD is checked with SchemaValidator (what the API server does on
// create) and the CEL predicates of cel_rules.h: every SLO example of SPEC,
// README and tests/fixtures is admitted; a table of bad documents is refused
// by both the CRD and the loader; good variants are accepted by both, with
// the same defaults; field-by-field sweeps compare the patterns and CEL rules
// with the loader's own parsers; every printer column points into the schema.
// When kubectl is on PATH it reads the CRD and every document offline, and
// its YAML-to-JSON typing must match the one the validator assumed.
//
// Known differences between the CRD and the loader (CrdDocuments.KnownDifferences below
// asserts each one, so a change on either side shows up here):
//   - spec.calendar.timeZone: the CRD checks the name's shape only; the loader
//     also needs the zone to exist in the tz database it reads.
//   - Scalar types: the loader reads every scalar as text, so it also takes
//     unquoted decimals (objective: 99.9, factor: 6), quoted integers
//     (minEvents: "100"), YAML 1.1 booleans as text (service: yes) and
//     minEvents: 1.0. The API server sees JSON types: decimals must be quoted
//     strings, minEvents a JSON integer (kubectl sends 1.0 as 1).
//   - Explicit nulls (`good:` with no value, `policy:`): the API server drops
//     them (then applies defaults); the loader refuses them.
//   - burnRateRules holds at most 8 rules in the CRD (bounds CEL cost); the
//     loader takes any number.
//   - More than 16 distinct windows (standard, rule and SLO windows together)
//     is refused by the loader's engine only; CEL cannot count them cheaply.
//   - Durations and decimals are at most 32 characters in the CRD (bounds CEL
//     cost); the loader also takes longer ones padded with leading zeros.
//   - Decimal range: CEL compares doubles, so factor and saturation.max
//     within about 1e-6 of the fixed-point limit 9223372036.854775807 are
//     admitted by the CRD and refused by the loader.
//   - Names and file-level checks (metadata.name/namespace syntax, the same
//     SLO twice in one file) are the API server's and the loader's own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "config/slo_document.h"
#include "crds/cel_rules.h"
#include "crds/json_value.h"
#include "crds/schema_validator.h"
#include "engine/duration.h"
#include "engine/fixed.h"
#include "engine/window_layout.h"

namespace slogate::crdtest {
namespace {

namespace fs = std::filesystem;

const std::string kSourceDir = SLOGATE_SOURCE_DIR;
const std::string kCrdPath = kSourceDir + "/crds/slogate.dev_servicelevelobjectives.yaml";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string joinErrors(const std::vector<std::string>& errors) {
  std::string out;
  for (const std::string& e : errors) out += "\n    " + e;
  return out;
}

struct Crd {
  YAML::Node doc;
  YAML::Node version;  // spec.versions[0]
  YAML::Node schema;   // its openAPIV3Schema
};

const Crd& crd() {
  static const Crd* loaded = [] {
    auto* c = new Crd();
    c->doc.reset(YAML::LoadFile(kCrdPath));
    c->version.reset(c->doc["spec"]["versions"][0]);
    c->schema.reset(c->version["schema"]["openAPIV3Schema"]);
    return c;
  }();
  return *loaded;
}

// The schema node at a dotted path; "[]" steps into items.
YAML::Node schemaAt(const std::string& path) {
  YAML::Node node = crd().schema;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    const bool items = part.size() > 2 && part.compare(part.size() - 2, 2, "[]") == 0;
    if (items) part.resize(part.size() - 2);
    // reset(), not operator=: yaml-cpp's assignment would rewrite the tree.
    node.reset(node["properties"][part]);
    if (items) node.reset(node["items"]);
  }
  return node;
}

// What the API server and the loader each make of one document.
struct Judgement {
  bool crd = false;
  std::string crdWhy;
  JsonValue admitted;  // with defaults, when crd
  bool loader = false;
  std::string loaderWhy;
  std::shared_ptr<const engine::CompiledSlo> slo;  // when loader
};

Judgement judge(const std::string& text) {
  Judgement j;
  try {
    auto value = fromYaml(YAML::Load(text));
    if (!value) {
      j.crdWhy = "kubectl cannot read it: " + value.status().message();
    } else {
      const auto errors = SchemaValidator(crd().schema).admit(*value);
      j.crd = errors.empty();
      j.crdWhy = joinErrors(errors);
      j.admitted = std::move(*value);
    }
  } catch (const YAML::Exception& e) {
    j.crdWhy = std::string("not YAML: ") + e.what();
  }
  auto slos = config::parseSloDocuments(text, "case.yaml");
  j.loader = slos.ok();
  if (slos.ok()) {
    j.slo = slos->front();
  } else {
    j.loaderWhy = slos.status().message();
  }
  return j;
}

// ---------------------------------------------------------------- the CRD

TEST(CrdShape, NamesScopeAndVersion) {
  const YAML::Node& doc = crd().doc;
  EXPECT_EQ(doc["apiVersion"].as<std::string>(), "apiextensions.k8s.io/v1");
  EXPECT_EQ(doc["kind"].as<std::string>(), "CustomResourceDefinition");
  EXPECT_EQ(doc["metadata"]["name"].as<std::string>(), "servicelevelobjectives.slogate.dev");
  const YAML::Node spec = doc["spec"];
  EXPECT_EQ(spec["group"].as<std::string>(), "slogate.dev");
  EXPECT_EQ(spec["scope"].as<std::string>(), "Namespaced");
  EXPECT_EQ(spec["names"]["kind"].as<std::string>(), std::string(config::kKind));
  EXPECT_EQ(spec["names"]["plural"].as<std::string>(), "servicelevelobjectives");
  EXPECT_EQ(spec["names"]["singular"].as<std::string>(), "servicelevelobjective");
  EXPECT_EQ(spec["names"]["listKind"].as<std::string>(), "ServiceLevelObjectiveList");
  EXPECT_EQ(spec["names"]["shortNames"].as<std::vector<std::string>>(),
            std::vector<std::string>{"slo"});
  EXPECT_EQ(spec["names"]["categories"].as<std::vector<std::string>>(),
            std::vector<std::string>{"slogate"});
  ASSERT_EQ(spec["versions"].size(), 1u);
  const YAML::Node& v = crd().version;
  EXPECT_EQ(spec["group"].as<std::string>() + "/" + v["name"].as<std::string>(),
            std::string(config::kApiVersion));
  EXPECT_TRUE(v["served"].as<bool>());
  EXPECT_TRUE(v["storage"].as<bool>());
  EXPECT_TRUE(isMap(v["subresources"]["status"]));
  EXPECT_EQ(crd().schema["properties"]["metadata"]["type"].as<std::string>(), "object");
}

// Structural schema, only keywords the validator implements, a description
// on every field (for kubectl explain), valid defaults and enums.
void checkNode(const YAML::Node& s, const std::string& path, std::vector<std::string>& problems) {
  if (!isMap(s)) {
    problems.push_back(path + ": not a schema");
    return;
  }
  for (const auto& kv : s) {
    const std::string key = kv.first.as<std::string>();
    if (kSupportedKeywords.count(key) == 0) problems.push_back(path + ": keyword " + key);
  }
  const std::string type = s["type"].as<std::string>("");
  static const std::set<std::string> kTypes = {"object",  "array",  "string",
                                               "integer", "number", "boolean"};
  if (kTypes.count(type) == 0) problems.push_back(path + ": type \"" + type + "\"");
  if ((s["properties"].IsDefined() || s["additionalProperties"].IsDefined() ||
       s["required"].IsDefined()) &&
      type != "object") {
    problems.push_back(path + ": properties on a non-object");
  }
  if (s["properties"].IsDefined() && s["additionalProperties"].IsDefined()) {
    problems.push_back(path + ": both properties and additionalProperties");
  }
  if (type == "array" && !isMap(s["items"])) problems.push_back(path + ": array without items");
  if (s["format"].IsDefined()) {
    const std::string f = s["format"].as<std::string>();
    if (!((f == "int64" && type == "integer") || (f == "date-time" && type == "string"))) {
      problems.push_back(path + ": format " + f);
    }
  }
  if (s["pattern"].IsDefined()) {
    try {
      std::regex re(s["pattern"].as<std::string>());
    } catch (const std::regex_error& e) {
      problems.push_back(path + ": pattern does not compile: " + e.what());
    }
  }
  for (const YAML::Node& option : s["enum"]) {
    auto v = fromYaml(option);
    if (!v || !v->isString() || type != "string") {
      problems.push_back(path + ": enum value " + option.as<std::string>() + " is not a string");
    }
  }
  if (s["default"].IsDefined()) {
    auto d = fromYaml(s["default"]);
    if (!d) {
      problems.push_back(path + ": default unreadable");
    } else {
      const auto errors = SchemaValidator::admitValue(s, *d, path + "(default)");
      if (!errors.empty()) problems.push_back(path + ": invalid default" + joinErrors(errors));
    }
  }
  if (s["x-kubernetes-list-type"].IsDefined()) {
    if (s["x-kubernetes-list-type"].as<std::string>() != "map") {
      problems.push_back(path + ": list type other than map");
    }
    for (const YAML::Node& k : s["x-kubernetes-list-map-keys"]) {
      bool required = false;
      for (const YAML::Node& r : s["items"]["required"])
        required |= r.as<std::string>() == k.Scalar();
      if (!required) problems.push_back(path + ": list-map key " + k.Scalar() + " not required");
    }
  }
  for (const YAML::Node& r : s["required"]) {
    if (!isMap(s["properties"]) || !s["properties"][r.as<std::string>()].IsDefined()) {
      problems.push_back(path + ": required " + r.as<std::string>() + " is no property");
    }
  }
  if (const YAML::Node props = s["properties"]; isMap(props)) {
    for (const auto& kv : props) {
      const std::string name = kv.first.as<std::string>();
      const std::string p = path.empty() ? name : path + "." + name;
      if (p == "metadata") continue;  // ObjectMeta, described by the API server
      if (kv.second["description"].as<std::string>("").size() < 10) {
        problems.push_back(p + ": no description");
      }
      checkNode(kv.second, p, problems);
    }
  }
  if (isMap(s["items"])) checkNode(s["items"], path + "[]", problems);
  if (isMap(s["additionalProperties"])) checkNode(s["additionalProperties"], path + ".*", problems);
}

TEST(CrdShape, StructuralDescribedAndOnlySupportedKeywords) {
  std::vector<std::string> problems;
  checkNode(crd().schema, "", problems);
  EXPECT_TRUE(problems.empty()) << joinErrors(problems);
}

// The copies that must stay identical (YAML anchors are avoided on purpose:
// not every tool that handles CRDs keeps them).
TEST(CrdShape, RepeatedSchemasAreIdentical) {
  const auto same = [](const YAML::Node& a, const YAML::Node& b) {
    return fromYaml(a)->toString() == fromYaml(b)->toString();
  };
  EXPECT_TRUE(same(schemaAt("spec.indicators.errors.properties.objective"),
                   schemaAt("spec.indicators.latency.properties.objective")));
  for (const char* f : {"objective", "total", "good", "bad"}) {
    EXPECT_TRUE(same(schemaAt(std::string("spec.indicators.errors.") + f),
                     schemaAt(std::string("spec.indicators.latency.") + f)))
        << f;
  }
  EXPECT_TRUE(same(schemaAt("spec.indicators.errors")["x-kubernetes-validations"],
                   schemaAt("spec.indicators.latency")["x-kubernetes-validations"]));
  const std::string selector =
      schemaAt("spec.indicators.errors.total")["pattern"].as<std::string>();
  EXPECT_EQ(schemaAt("spec.indicators.errors.good")["pattern"].as<std::string>(), selector);
  EXPECT_EQ(schemaAt("spec.indicators.errors.bad")["pattern"].as<std::string>(), selector);
  for (const char* key : {"pattern", "maxLength", "x-kubernetes-validations"}) {
    const YAML::Node window = schemaAt("spec.window")[key];
    EXPECT_TRUE(same(window, schemaAt("spec.policy.burnRateRules[].long")[key])) << key;
    EXPECT_TRUE(same(window, schemaAt("spec.policy.burnRateRules[].short")[key])) << key;
    EXPECT_TRUE(same(schemaAt("spec.indicators.errors.objective")[key],
                     schemaAt("spec.indicators.saturation.objective")[key]))
        << key;
  }
}

TEST(CrdCelRules, EveryRuleInTheCrdIsKnownAndEveryKnownRuleIsUsed) {
  const std::vector<CelRuleSite> sites = collectCelRules(crd().schema);
  std::set<std::string> used;
  for (const CelRuleSite& site : sites) {
    EXPECT_NE(findCelRule(site.rule), nullptr)
        << site.path << ": the test has no predicate for the CEL rule\n    " << site.rule;
    EXPECT_FALSE(site.message.empty()) << site.path << ": " << site.rule;
    EXPECT_EQ(site.message.find('\n'), std::string::npos) << site.path;
    EXPECT_EQ(site.rule.find('\n'), std::string::npos) << site.path;
    used.insert(site.rule);
  }
  for (const auto& [rule, predicate] : knownCelRules()) {
    EXPECT_EQ(used.count(rule), 1u) << "a predicate for a rule the CRD no longer has: " << rule;
  }
  EXPECT_GE(sites.size(), 15u);
}

TEST(CrdCelRules, DurationMinutesFollowCel) {
  const CelPredicate* atMost90d = findCelRule(celMinutesExpr("self") + " <= 129600");
  ASSERT_NE(atMost90d, nullptr);
  EXPECT_EQ((*atMost90d)(JsonValue::string("12w6d")), std::optional<bool>(true));
  EXPECT_EQ((*atMost90d)(JsonValue::string("12w6d1m")), std::optional<bool>(false));
  EXPECT_EQ((*atMost90d)(JsonValue::string("129600m")), std::optional<bool>(true));
  // int() overflows: an evaluation error, which the API server reports as invalid.
  EXPECT_EQ((*atMost90d)(JsonValue::string("99999999999999999999m")), std::nullopt);
  EXPECT_EQ((*atMost90d)(JsonValue::string("999999999999999w")), std::nullopt);
  EXPECT_EQ((*atMost90d)(JsonValue::integer(5)), std::nullopt);
}

// ------------------------------------------------------- printer columns

TEST(CrdPrinterColumns, PathsExistInTheSchemaWithTheColumnType) {
  const YAML::Node columns = crd().version["additionalPrinterColumns"];
  std::vector<std::string> names;
  for (const YAML::Node& col : columns) {
    const std::string name = col["name"].as<std::string>();
    const std::string path = col["jsonPath"].as<std::string>();
    const std::string type = col["type"].as<std::string>();
    names.push_back(name);
    ASSERT_FALSE(path.empty());
    ASSERT_EQ(path[0], '.') << name;
    // Dotted steps; a step may also be written ['key'].
    std::vector<std::string> steps;
    static const std::regex kStep(R"(^(\.([A-Za-z0-9_-]+)|\['([^']+)'\]))");
    std::string rest = path;
    std::smatch m;
    while (!rest.empty()) {
      ASSERT_TRUE(std::regex_search(rest, m, kStep)) << name << ": cannot read " << rest;
      steps.push_back(m[2].matched ? m[2].str() : m[3].str());
      rest = m.suffix();
    }
    if (steps.front() == "metadata") {
      EXPECT_EQ(path, ".metadata.creationTimestamp") << name;
      EXPECT_EQ(type, "date") << name;
      continue;
    }
    YAML::Node s = crd().schema;
    for (const std::string& step : steps) {
      if (isMap(s["properties"]) && s["properties"][step].IsDefined()) {
        s.reset(s["properties"][step]);
      } else {
        ASSERT_TRUE(isMap(s["additionalProperties"])) << name << ": no field " << step;
        s.reset(s["additionalProperties"]);
      }
    }
    const std::string schemaType = s["type"].as<std::string>();
    if (type == "date") {
      EXPECT_EQ(s["format"].as<std::string>(""), "date-time") << name;
    } else if (type == "number") {
      EXPECT_TRUE(schemaType == "number" || schemaType == "integer") << name;
    } else {
      EXPECT_EQ(schemaType, type) << name;
    }
    EXPECT_FALSE(col["description"].as<std::string>("").empty() && type != "date") << name;
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"Objective", "Budget", "Burn1h", "Decision", "Age"}));
}

// ------------------------------------------------------------- documents

// The ```yaml blocks of a Markdown file, split into documents, keeping the
// ServiceLevelObjective ones.
std::vector<std::string> sloExamples(const std::string& markdown) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = markdown.find("```yaml\n", at)) != std::string::npos) {
    at += 8;
    const std::size_t end = markdown.find("\n```", at);
    if (end == std::string::npos) break;
    std::stringstream block(markdown.substr(at, end - at + 1));
    std::string line;
    std::string doc;
    const auto flush = [&] {
      try {
        const YAML::Node n = YAML::Load(doc);
        if (isMap(n) && n["kind"].as<std::string>("") == config::kKind) out.push_back(doc);
      } catch (const YAML::Exception&) {
        // not YAML at all: not an SLO example
      }
      doc.clear();
    };
    while (std::getline(block, line)) {
      if (line == "---") {
        flush();
      } else {
        doc += line + "\n";
      }
    }
    flush();
    at = end + 4;
  }
  return out;
}

std::vector<std::string> fixtureDocuments() {
  std::vector<std::string> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kSourceDir + "/tests/fixtures/slo")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    const std::string md = "```yaml\n" + readFile(f.string()) + "\n```\n";
    for (std::string& doc : sloExamples(md)) out.push_back(std::move(doc));
  }
  return out;
}

std::optional<std::string> specPath() {
  for (const std::string& p :
       {kSourceDir + "/../shared/SPEC.md", std::string("/work/shared/SPEC.md")}) {
    if (fs::exists(p)) return p;
  }
  return std::nullopt;
}

void expectAdmittedByBoth(const std::vector<std::string>& docs, const std::string& where) {
  for (const std::string& doc : docs) {
    const Judgement j = judge(doc);
    EXPECT_TRUE(j.crd) << where << ": the CRD refuses" << j.crdWhy << "\n" << doc;
    EXPECT_TRUE(j.loader) << where << ": the loader refuses: " << j.loaderWhy << "\n" << doc;
  }
}

TEST(CrdExamples, SpecExamplesAreAdmittedByBoth) {
  const auto path = specPath();
  if (!path) GTEST_SKIP() << "SPEC.md not found beside the repository (../shared/SPEC.md)";
  const auto docs = sloExamples(readFile(*path));
  ASSERT_GE(docs.size(), 1u) << "no ServiceLevelObjective example in " << *path;
  expectAdmittedByBoth(docs, *path);
}

TEST(CrdExamples, ReadmeAndFixturesAreAdmittedByBoth) {
  // The README points to SPEC and the fixtures for its examples; any SLO
  // block it gains is checked too.
  expectAdmittedByBoth(sloExamples(readFile(kSourceDir + "/README.md")), "README.md");
  const auto fixtures = fixtureDocuments();
  EXPECT_GE(fixtures.size(), 3u);
  expectAdmittedByBoth(fixtures, "tests/fixtures/slo");
}

// The document that the table below edits.
constexpr std::string_view kHead = R"(apiVersion: slogate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: checkout, namespace: shop}
spec:
  service: checkout
  window: 30d
  target: {name: checkout}
  indicators:
)";
constexpr std::string_view kErrors = R"(    errors:
      objective: "99.9"
      total: http_requests_total{service="checkout"}
      bad: http_requests_total{service="checkout",code=~"5.."}
)";
constexpr std::string_view kLatency = R"(    latency:
      objective: "99"
      total: http_request_duration_seconds_count{service="checkout"}
      good: http_request_duration_seconds_bucket{service="checkout",le="0.3"}
)";
constexpr std::string_view kSaturation = R"(    saturation:
      objective: "99.5"
      query: max(container_cpu_utilization_ratio{container="checkout"})
      max: "0.9"
)";
constexpr std::string_view kTraffic = R"(    traffic:
      minEvents: 100
      maxDrop: "0.7"
)";
constexpr std::string_view kPolicy = R"(  policy:
    mode: enforce
    onNoData: halt
    freezeBelow: "0"
    unfreezeAbove: "0.05"
)";
constexpr std::string_view kRules = R"(    burnRateRules:
      - {long: 1h, short: 5m, factor: "14.4", action: rollback}
      - {long: 3d, short: 6h, factor: "1", action: halt}
)";

std::string baseDocument() {
  return std::string(kHead) + std::string(kErrors) + std::string(kLatency) +
         std::string(kSaturation) + std::string(kTraffic) + std::string(kPolicy) +
         std::string(kRules);
}

struct Edit {
  std::string from;
  std::string to;
};

struct Case {
  std::string name;
  std::vector<Edit> edits;  // applied to baseDocument(), each `from` found exactly once
};

std::string applyEdits(const Case& c) {
  std::string text = baseDocument();
  for (const Edit& e : c.edits) {
    const std::size_t at = text.find(e.from);
    if (at == std::string::npos || text.find(e.from, at + 1) != std::string::npos) {
      ADD_FAILURE() << c.name << ": \"" << e.from << "\" is not in the document exactly once";
      return text;
    }
    text.replace(at, e.from.size(), e.to);
  }
  return text;
}

Edit setField(const std::string& field, const std::string& from, const std::string& to) {
  return {field + ": " + from, field + ": " + to};
}

const std::string kRule1 = R"({long: 1h, short: 5m, factor: "14.4", action: rollback})";

std::string ruleText(const std::string& lng, const std::string& shrt, const std::string& factor,
                     const std::string& action) {
  return "{long: " + lng + ", short: " + shrt + ", factor: \"" + factor + "\", action: " + action +
         "}";
}

std::vector<Case> badCases() {
  const std::string obj = R"(objective: "99.9")";
  std::vector<Case> cases = {
      {"objective 100", {{obj, R"(objective: "100")"}}},
      {"objective 0", {{obj, R"(objective: "0")"}}},
      {"objective abc", {{obj, R"(objective: "abc")"}}},
      {"objective -1", {{obj, R"(objective: "-1")"}}},
      {"objective with 8 decimals", {{obj, R"(objective: "99.12345678")"}}},
      {"objective empty", {{obj, R"(objective: "")"}}},
      {"objective is a list", {{obj, R"(objective: ["99.9"])"}}},
      {"window 0m", {setField("window", "30d", "0m")}},
      {"window 0d0h", {setField("window", "30d", "0d0h")}},
      {"window empty", {setField("window", "30d", "\"\"")}},
      {"window 91d", {setField("window", "30d", "91d")}},
      {"window 12w6d1m", {setField("window", "30d", "12w6d1m")}},
      {"window units out of order", {setField("window", "30d", "1m1h")}},
      {"window unit repeated", {setField("window", "30d", "1d1d")}},
      {"window in seconds", {setField("window", "30d", "30s")}},
      {"window without unit", {setField("window", "30d", "\"30\"")}},
      {"window and calendar", {setField("window", "30d", "30d\n  calendar: {period: month}")}},
      {"calendar with a bad period", {{"  window: 30d\n", "  calendar: {period: day}\n"}}},
      {"calendar zone outside the tz database",
       {{"  window: 30d\n", "  calendar: {period: week, timeZone: ../../etc/passwd}\n"}}},
      {"both good and bad",
       {{std::string(kErrors),
         std::string(kErrors) + "      good: http_requests_total{service=\"checkout\"}\n"}}},
      {"neither good nor bad",
       {{"      bad: http_requests_total{service=\"checkout\",code=~\"5..\"}\n", ""}}},
      {"errors without total", {{"      total: http_requests_total{service=\"checkout\"}\n", ""}}},
      {"unknown field in spec", {setField("service", "checkout", "checkout\n  owner: team-a")}},
      {"unknown field in errors",
       {{std::string(kErrors), std::string(kErrors) + "      ratio: x\n"}}},
      {"unknown field in a rule",
       {{kRule1, R"({long: 1h, short: 5m, factor: "14.4", action: rollback, page: true})"}}},
      {"unknown top-level field", {{std::string(kRules), std::string(kRules) + "extra: 1\n"}}},
      {"duplicate field", {setField("service", "checkout", "checkout\n  service: again")}},
      {"mode Enforce", {setField("mode", "enforce", "Enforce")}},
      {"mode empty", {setField("mode", "enforce", "\"\"")}},
      {"onNoData skip", {setField("onNoData", "halt", "skip")}},
      {"unfreezeAbove below freezeBelow",
       {setField("freezeBelow", "\"0\"", "\"0.1\""),
        setField("unfreezeAbove", "\"0.05\"", "\"0.09\"")}},
      {"freezeBelow above the default unfreezeAbove",
       {setField("freezeBelow", "\"0\"", "\"0.1\""), {"    unfreezeAbove: \"0.05\"\n", ""}}},
      {"unfreezeAbove above 1", {setField("unfreezeAbove", "\"0.05\"", "\"1.5\"")}},
      {"freezeBelow below -1000000", {setField("freezeBelow", "\"0\"", "\"-1000000.000000001\"")}},
      {"freezeBelow not a decimal", {setField("freezeBelow", "\"0\"", "\"zero\"")}},
      {"empty burnRateRules", {{std::string(kRules), "    burnRateRules: []\n"}}},
      {"burnRateRules not a list", {{std::string(kRules), "    burnRateRules: {long: 1h}\n"}}},
      {"action abort", {{kRule1, ruleText("1h", "5m", "14.4", "abort")}}},
      {"rule without action", {{kRule1, R"({long: 1h, short: 5m, factor: "14.4"})"}}},
      {"short equal to long", {{kRule1, ruleText("1h", "1h", "14.4", "rollback")}}},
      {"short longer than long", {{kRule1, ruleText("1h", "2h", "14.4", "rollback")}}},
      {"short 60m, long 1h", {{kRule1, ruleText("1h", "60m", "14.4", "rollback")}}},
      {"long 91d", {{kRule1, ruleText("91d", "5m", "14.4", "rollback")}}},
      {"short 0m", {{kRule1, ruleText("1h", "0m", "14.4", "rollback")}}},
      {"factor 0", {{kRule1, ruleText("1h", "5m", "0", "rollback")}}},
      {"factor -1", {{kRule1, ruleText("1h", "5m", "-1", "rollback")}}},
      {"factor 1e3", {{kRule1, ruleText("1h", "5m", "1e3", "rollback")}}},
      {"factor with 10 decimals", {{kRule1, ruleText("1h", "5m", "1.0000000001", "rollback")}}},
      {"neither errors nor latency", {{std::string(kErrors) + std::string(kLatency), ""}}},
      {"maxDrop 1", {setField("maxDrop", "\"0.7\"", "\"1\"")}},
      {"maxDrop 0", {setField("maxDrop", "\"0.7\"", "\"0\"")}},
      {"minEvents -1", {setField("minEvents", "100", "-1")}},
      {"minEvents 10^18", {setField("minEvents", "100", "1000000000000000000")}},
      {"total with a function",
       {{"total: http_requests_total{service=\"checkout\"}",
         "total: rate(http_requests_total[5m])"}}},
      {"bad with a range",
       {{"bad: http_requests_total{service=\"checkout\",code=~\"5..\"}",
         "bad: http_requests_total{code=\"5..\"}[5m]"}}},
      {"total with an open quote",
       {{"total: http_requests_total{service=\"checkout\"}",
         "total: 'http_requests_total{service=\"checkout}'"}}},
      {"total with an operator",
       {{"total: http_requests_total{service=\"checkout\"}", "total: a_total + b_total"}}},
      {"good empty",
       {{"good: http_request_duration_seconds_bucket{service=\"checkout\",le=\"0.3\"}",
         "good: \"\""}}},
      {"target kind Deployment",
       {{"target: {name: checkout}", "target: {name: checkout, kind: Deployment}"}}},
      {"target apiVersion apps/v1",
       {{"target: {name: checkout}", "target: {name: checkout, apiVersion: apps/v1}"}}},
      {"target name with capitals", {{"target: {name: checkout}", "target: {name: Checkout}"}}},
      {"target without name", {{"target: {name: checkout}", "target: {kind: Rollout}"}}},
      {"saturation without max", {{"      max: \"0.9\"\n", ""}}},
      {"saturation max abc", {setField("max", "\"0.9\"", "\"abc\"")}},
      {"saturation query empty",
       {{"query: max(container_cpu_utilization_ratio{container=\"checkout\"})", "query: \"\""}}},
      {"service empty", {setField("service", "checkout", "\"\"")}},
      {"no indicators",
       {{std::string(kErrors) + std::string(kLatency) + std::string(kSaturation) +
             std::string(kTraffic),
         ""},
        {"  indicators:\n", ""}}},
      {"no spec", {{baseDocument().substr(baseDocument().find("spec:")), ""}}},
  };
  return cases;
}

TEST(CrdDocuments, BadDocumentsAreRefusedByBoth) {
  const bool verbose = std::getenv("SLOGATE_CRD_TEST_VERBOSE") != nullptr;
  for (const Case& c : badCases()) {
    const Judgement j = judge(applyEdits(c));
    if (verbose) std::cout << c.name << ":" << j.crdWhy << "\n    loader: " << j.loaderWhy << "\n";
    EXPECT_FALSE(j.crd) << c.name << ": the CRD admits it\n" << applyEdits(c);
    EXPECT_FALSE(j.loader) << c.name << ": the loader accepts it\n" << applyEdits(c);
  }
}

std::vector<Case> goodCases() {
  const std::string obj = R"(objective: "99.9")";
  std::string eightRules = "    burnRateRules:\n";
  for (const char* r : {"{long: 1h, short: 5m, factor: \"14.4\", action: rollback}",
                        "{long: 6h, short: 30m, factor: \"6\", action: rollback}",
                        "{long: 1d, short: 2h, factor: \"3\", action: halt}",
                        "{long: 3d, short: 6h, factor: \"1\", action: halt}",
                        "{long: 90d, short: 89d23h59m, factor: \"0.000000001\", action: halt}",
                        "{long: 2m, short: 1m, factor: \"9223372036.854775807\", action: halt}",
                        "{long: 1h, short: 5m, factor: \".5\", action: halt}",
                        "{long: 4w, short: 1w, factor: \"+2.\", action: halt}"}) {
    eightRules += std::string("      - ") + r + "\n";
  }
  return {
      {"the base document", {}},
      {"objective 99.9999999", {{obj, R"(objective: "99.9999999")"}}},
      {"objective 0.0000001", {{obj, R"(objective: "0.0000001")"}}},
      {"objective +99.5", {{obj, R"(objective: "+99.5")"}}},
      {"objective .5", {{obj, R"(objective: ".5")"}}},
      {"objective 99.", {{obj, R"(objective: "99.")"}}},
      {"objective 099.9", {{obj, R"(objective: "099.9")"}}},
      {"window 4w", {setField("window", "30d", "4w")}},
      {"window 1h30m", {setField("window", "30d", "1h30m")}},
      {"window 90d", {setField("window", "30d", "90d")}},
      {"window 12w6d", {setField("window", "30d", "12w6d")}},
      {"window 2160h", {setField("window", "30d", "2160h")}},
      {"window 1m", {setField("window", "30d", "1m")}},
      {"no window (30d)", {{"  window: 30d\n", ""}}},
      {"latency only", {{std::string(kErrors), ""}}},
      {"errors only, with good",
       {{std::string(kLatency), ""},
        {"bad: http_requests_total{service=\"checkout\",code=~\"5..\"}",
         "good: http_requests_total{service=\"checkout\",code!~\"5..\"}"}}},
      {"freezeBelow -0.5, unfreezeAbove 1",
       {setField("freezeBelow", "\"0\"", "\"-0.5\""),
        setField("unfreezeAbove", "\"0.05\"", "\"1\"")}},
      {"freezeBelow equal to unfreezeAbove", {setField("freezeBelow", "\"0\"", "\"0.05\"")}},
      {"freezeBelow -1000000", {setField("freezeBelow", "\"0\"", "\"-1000000\"")}},
      {"only unfreezeAbove", {{"    freezeBelow: \"0\"\n", ""}}},
      {"mode warn", {setField("mode", "enforce", "warn")}},
      {"mode dryRun, onNoData approve",
       {setField("mode", "enforce", "dryRun"), setField("onNoData", "halt", "approve")}},
      {"eight rules", {{std::string(kRules), eightRules}}},
      {"no burnRateRules (defaults)", {{std::string(kRules), ""}}},
      {"empty policy", {{std::string(kPolicy) + std::string(kRules), "  policy: {}\n"}}},
      {"no policy", {{std::string(kPolicy) + std::string(kRules), ""}}},
      {"minEvents 0", {setField("minEvents", "100", "0")}},
      {"minEvents 10^18 - 1", {setField("minEvents", "100", "999999999999999999")}},
      {"empty traffic", {{std::string(kTraffic), "    traffic: {}\n"}}},
      {"maxDrop 0.999999999", {setField("maxDrop", "\"0.7\"", "\"0.999999999\"")}},
      {"saturation max -5", {setField("max", "\"0.9\"", "\"-5\"")}},
      {"selector of matchers only",
       {{"total: http_requests_total{service=\"checkout\"}",
         R"(total: '{__name__="http_requests_total", path=~"/a{1,2}[(]"}')"}}},
      {"selector with spaces and escapes",
       {{"total: http_requests_total{service=\"checkout\"}",
         R"(total: "  http_requests_total { a=\"x\\\"}\", b='y', c=`z` }  ")"}}},
      {"selector with a name only",
       {{"total: http_requests_total{service=\"checkout\"}", "total: up"}}},
      {"target with defaults written out",
       {{"target: {name: checkout}",
         "target: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: checkout-v2.a}"}}},
      {"no target", {{"  target: {name: checkout}\n", ""}}},
      {"no service", {{"  service: checkout\n", ""}}},
      {"a status as kubectl get shows it",
       {{std::string(kRules), std::string(kRules) + R"yaml(status:
  decision: rollback
  reasons: ["errors: 1h burn 15.2 and 5m burn 20.1 above 14.4 (rule 1h/5m → rollback)"]
  indicators:
    errors:
      objective: 0.999
      budgetRemaining: -0.0114
      burnRates: {5m: 20, 1h: 14.4467, 3d: null, window: 0.27}
      events: {total: 1454000, bad: 7220}
  frozen: true
  frozenSince: "2026-11-03T10:47:00Z"
  lastEvaluationTime: 2026-11-03T10:48:00Z
  observedGeneration: 3
  conditions:
    - {type: Ready, status: "True", reason: Evaluated, message: "", lastTransitionTime: "2026-11-03T09:00:00Z", observedGeneration: 3}
    - {type: BudgetExhausted, status: "True", reason: BelowFreezeBelow, message: budget -0.0114, lastTransitionTime: "2026-11-03T10:47:00Z"}
  actions:
    - {revision: "7", decision: rollback, action: abort, time: "2026-11-03T10:43:00Z"}
)yaml"}}},
  };
}

TEST(CrdDocuments, GoodVariantsAreAdmittedByBoth) {
  for (const Case& c : goodCases()) {
    const Judgement j = judge(applyEdits(c));
    EXPECT_TRUE(j.crd) << c.name << ": the CRD refuses" << j.crdWhy << "\n" << applyEdits(c);
    EXPECT_TRUE(j.loader) << c.name << ": the loader refuses: " << j.loaderWhy << "\n"
                          << applyEdits(c);
  }
}

TEST(CrdDocuments, DefaultsAreTheLoaders) {
  const std::string minimal = R"(apiVersion: slogate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api}
spec:
  target: {name: api}
  indicators:
    errors: {objective: "99.9", total: a_total, bad: b_total}
    traffic: {}
)";
  const Judgement j = judge(minimal);
  ASSERT_TRUE(j.crd) << j.crdWhy;
  ASSERT_TRUE(j.loader) << j.loaderWhy;
  const JsonValue& spec = *j.admitted.get("spec");
  // The CRD's defaults...
  EXPECT_EQ(spec.get("policy")->toString(),
            R"({"mode":"enforce","onNoData":"halt","freezeBelow":"0","unfreezeAbove":"0.05"})");
  EXPECT_EQ(spec.get("target")->toString(),
            R"({"name":"api","apiVersion":"argoproj.io/v1alpha1","kind":"Rollout"})");
  EXPECT_EQ(spec.get("indicators")->get("traffic")->toString(), R"({"minEvents":0})");
  EXPECT_FALSE(spec.has("window"));  // no default: calendar is the alternative
  // ... are the loader's.
  const engine::SloSpec& s = j.slo->spec();
  EXPECT_EQ(s.policy.mode, engine::Mode::kEnforce);
  EXPECT_EQ(s.policy.onNoData, engine::OnNoData::kHalt);
  EXPECT_EQ(s.policy.freezeBelow, *engine::Fixed::parse("0"));
  EXPECT_EQ(s.policy.unfreezeAbove, *engine::Fixed::parse("0.05"));
  ASSERT_TRUE(s.target.has_value());
  EXPECT_EQ(s.target->apiVersion, "argoproj.io/v1alpha1");
  EXPECT_EQ(s.target->kind, "Rollout");
  EXPECT_EQ(s.traffic.minEvents, 0u);
  EXPECT_EQ(s.window, 30 * engine::kDay);  // the description says so
  EXPECT_NE(schemaAt("spec.window")["description"].as<std::string>().find("Defaults to 30d"),
            std::string::npos);
  // And a document written with the defaults spelled out means the same.
  const Judgement spelled = judge(R"(apiVersion: slogate.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api}
spec:
  target: {name: api, apiVersion: argoproj.io/v1alpha1, kind: Rollout}
  window: 30d
  indicators:
    errors: {objective: "99.9", total: a_total, bad: b_total}
    traffic: {minEvents: 0}
  policy: {mode: enforce, onNoData: halt, freezeBelow: "0", unfreezeAbove: "0.05"}
)");
  ASSERT_TRUE(spelled.crd && spelled.loader) << spelled.crdWhy << spelled.loaderWhy;
  const engine::SloSpec& t = spelled.slo->spec();
  EXPECT_EQ(t.policy.mode, s.policy.mode);
  EXPECT_EQ(t.policy.onNoData, s.policy.onNoData);
  EXPECT_EQ(t.policy.freezeBelow, s.policy.freezeBelow);
  EXPECT_EQ(t.policy.unfreezeAbove, s.policy.unfreezeAbove);
  EXPECT_EQ(t.window, s.window);
  EXPECT_EQ(t.traffic.minEvents, s.traffic.minEvents);
}

struct Difference {
  Case c;
  bool crd;     // what the CRD does
  bool loader;  // what the loader does
};

std::vector<Difference> knownDifferences() {
  std::string nineRules = "    burnRateRules:\n";
  for (int i = 0; i < 9; ++i) nineRules += "      - " + kRule1 + "\n";
  std::string sixteenWindows = "    burnRateRules:\n";
  for (int i = 0; i < 8; ++i) {
    sixteenWindows += "      - " +
                      ruleText(std::to_string(7 + i) + "h",
                               std::to_string(i < 4 ? 1 + i : 2 + i) + "m", "2", "halt") +
                      "\n";
  }
  return {
      {{"calendar in an unknown zone",
        {{"  window: 30d\n", "  calendar: {period: month, timeZone: Mars/Olympus_Mons}\n"}}},
       true,
       false},
      {{"unquoted objective", {{R"(objective: "99.9")", "objective: 99.9"}}}, false, true},
      {{"unquoted factor", {{kRule1, R"({long: 1h, short: 5m, factor: 14.4, action: rollback})"}}},
       false,
       true},
      {{"quoted minEvents", {setField("minEvents", "100", "\"100\"")}}, false, true},
      {{"minEvents 1.0", {setField("minEvents", "100", "1.0")}}, true, false},
      {{"service yes", {setField("service", "checkout", "yes")}}, false, true},
      {{"explicit null good beside bad",
        {{std::string(kErrors), std::string(kErrors) + "      good:\n"}}},
       true,
       false},
      {{"explicit null policy", {{std::string(kPolicy) + std::string(kRules), "  policy:\n"}}},
       true,
       false},
      {{"nine rules", {{std::string(kRules), nineRules}}}, false, true},
      {{"more than 16 distinct windows", {{std::string(kRules), sixteenWindows}}}, true, false},
      {{"window of 35 characters", {setField("window", "30d", std::string(40, '0') + "30d")}},
       false,
       true},
      {{"factor just past the fixed-point range",
        {{kRule1, ruleText("1h", "5m", "9223372036.854775808", "rollback")}}},
       true,
       false},
  };
}

TEST(CrdDocuments, KnownDifferences) {
  for (const Difference& d : knownDifferences()) {
    const Judgement j = judge(applyEdits(d.c));
    EXPECT_EQ(j.crd, d.crd) << d.c.name << ":" << j.crdWhy << "\n" << applyEdits(d.c);
    EXPECT_EQ(j.loader, d.loader) << d.c.name << ": " << j.loaderWhy << "\n" << applyEdits(d.c);
  }
}

// ------------------------------------------ field sweeps against the loader

// Every string over `alphabet` up to `maxLength` characters.
std::vector<std::string> allStrings(const std::string& alphabet, std::size_t maxLength) {
  std::vector<std::string> out = {""};
  std::size_t from = 0;
  for (std::size_t len = 1; len <= maxLength; ++len) {
    const std::size_t to = out.size();
    for (std::size_t i = from; i < to; ++i) {
      for (const char c : alphabet) out.push_back(out[i] + c);
    }
    from = to;
  }
  return out;
}

template <typename LoaderAccepts>
void sweep(const std::string& field, const std::vector<std::string>& inputs,
           LoaderAccepts loaderAccepts) {
  const YAML::Node schema = schemaAt(field);
  int mismatches = 0;
  for (const std::string& s : inputs) {
    JsonValue v = JsonValue::string(s);
    const auto errors = SchemaValidator::admitValue(schema, v, field);
    const bool loader = loaderAccepts(s);
    if (errors.empty() != loader && ++mismatches <= 10) {
      ADD_FAILURE() << field << " \"" << s << "\": CRD " << (errors.empty() ? "admits" : "refuses")
                    << ", loader " << (loader ? "accepts" : "refuses") << joinErrors(errors);
    }
  }
  EXPECT_EQ(mismatches, 0) << field << ": " << inputs.size() << " inputs";
}

std::vector<std::string> withExtras(std::vector<std::string> v, std::vector<std::string> extras) {
  v.insert(v.end(), extras.begin(), extras.end());
  return v;
}

TEST(CrdFieldSweeps, DurationsMatchParseDuration) {
  const auto inputs = withExtras(
      allStrings("019wdhm", 4),
      {"30d", "4w", "1h30m", "90d", "91d", "12w6d", "12w6d1m", "13w", "129600m", "129601m", "2160h",
       "2161h", "0w0d0h0m", "00001m", "99999999999999999999m", "1w1d1h1m", "1d1w"});
  const auto loader = [](const std::string& s) {
    auto d = engine::parseDuration(s);
    return d.ok() && *d <= engine::kMaxSloWindow;
  };
  sweep("spec.window", inputs, loader);
  // .short has the same schema (RepeatedSchemasAreIdentical).
  sweep("spec.policy.burnRateRules[].long", inputs, loader);
}

const std::vector<std::string> kDecimalExtras = {"99.9",
                                                 "99.9999999",
                                                 "99.99999999",
                                                 "100.0000000",
                                                 "0.0000001",
                                                 "0.00000001",
                                                 "0.000000001",
                                                 "0.0000000001",
                                                 "9223372036.854775807",
                                                 "-9223372036.854775807",
                                                 "1.000000001",
                                                 "-1000000",
                                                 "-1000000.000000001",
                                                 "-999999.999999999",
                                                 "0.999999999",
                                                 "1e3",
                                                 "0x10",
                                                 "inf",
                                                 "NaN",
                                                 " 1",
                                                 "1 ",
                                                 "1,5",
                                                 "٣",
                                                 "+.5",
                                                 "-.5"};

TEST(CrdFieldSweeps, DecimalsMatchFixedParse) {
  const auto inputs = withExtras(allStrings("01.-+e", 4), kDecimalExtras);
  using engine::Fixed;
  using engine::kOne;
  using engine::kZero;
  const auto objective = [](const std::string& s) {
    auto f = Fixed::parsePercent(s);
    return f.ok() && *f > kZero && *f < kOne;
  };
  sweep("spec.indicators.errors.objective", inputs, objective);
  sweep("spec.indicators.saturation.objective", inputs, objective);
  sweep("spec.indicators.saturation.max", inputs,
        [](const std::string& s) { return Fixed::parse(s).ok(); });
  sweep("spec.indicators.traffic.maxDrop", inputs, [](const std::string& s) {
    auto f = Fixed::parse(s);
    return f.ok() && *f > kZero && *f < kOne;
  });
  sweep("spec.policy.burnRateRules[].factor", inputs, [](const std::string& s) {
    auto f = Fixed::parse(s);
    return f.ok() && *f > kZero;
  });
  sweep("spec.policy.freezeBelow", inputs, [](const std::string& s) {
    auto f = Fixed::parse(s);
    return f.ok() && *f >= Fixed::fromRaw(-1'000'000 * Fixed::kScale) && *f <= kOne;
  });
  sweep("spec.policy.unfreezeAbove", inputs, [](const std::string& s) {
    auto f = Fixed::parse(s);
    return f.ok() && *f <= kOne;  // and at least freezeBelow: a rule on policy
  });
}

TEST(CrdFieldSweeps, SelectorsMatchCheckSelector) {
  std::vector<std::string> inputs = allStrings("a1{}\"'`\\[( :", 3);
  // Longer random strings, from a fixed seed, over the characters that matter.
  const std::string alphabet = "ab_:1{}\"'`\\[]() =~,.";
  std::mt19937 rng(20261122);
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int len = 4 + static_cast<int>(rng() % 11);
    for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    inputs.push_back(s);
  }
  // And shapes that are mostly right.
  for (const char* s : {"http_requests_total",
                        "http_requests_total{}",
                        "{}",
                        " {a=\"b\"} ",
                        "a {b=\"}\"}",
                        "a{b=\"\\\"\"}",
                        "a{b='\\''}",
                        "a{b=`x\\`y`}",
                        "a{b=\"x\"}[5m]",
                        "rate(a[5m])",
                        "a{b=\"x\"} or c",
                        "a{b=\"x\"",
                        "a{b=\"x}",
                        "a{{}}",
                        "a{b=~\"x|y\",c!=\"\"}",
                        "5xx",
                        "a b",
                        "a{)}",
                        "a{]}",
                        "a\t{}",
                        "a{b=\"\\\"}",
                        "ünicode{}",
                        "a{b=\"ü\"}"}) {
    inputs.emplace_back(s);
  }
  sweep("spec.indicators.errors.total", inputs,
        [](const std::string& s) { return !s.empty() && !config::checkSelector(s).has_value(); });
}

TEST(CrdFieldSweeps, MinEventsMatchesTheLoader) {
  const YAML::Node schema = schemaAt("spec.indicators.traffic.minEvents");
  for (const std::int64_t n :
       {std::int64_t{-1}, std::int64_t{0}, std::int64_t{1}, std::int64_t{100'000'000'000'000'000},
        std::int64_t{999'999'999'999'999'999}, std::int64_t{1'000'000'000'000'000'000},
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    JsonValue v = JsonValue::integer(n);
    const bool crdAdmits = SchemaValidator::admitValue(schema, v, "minEvents").empty();
    const std::string text = std::to_string(n);
    const bool loader = n >= 0 && text.size() <= 18;  // slo_document.cc: digits only, at most 18
    EXPECT_EQ(crdAdmits, loader) << n;
    const Judgement j = judge(applyEdits({"minEvents", {setField("minEvents", "100", text)}}));
    EXPECT_EQ(j.loader, loader) << n << ": " << j.loaderWhy;
    EXPECT_EQ(j.crd, loader) << n << ":" << j.crdWhy;
  }
}

// ------------------------------------------------------------------ kubectl

std::optional<std::string> findOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

struct KubectlRun {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs kubectl offline: `label --local` reads files and prints them as JSON
// without a server. (`apply`/`create --dry-run=client` look the kind up on
// the server first, so they cannot run here.)
KubectlRun kubectlLocal(const std::string& kubectl, const std::vector<std::string>& files,
                        const std::string& output) {
  const fs::path dir =
      fs::temp_directory_path() / ("slogate-crd-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string outFile = (dir / "out").string();
  const std::string errFile = (dir / "err").string();
  std::string cmd = "'" + kubectl + "' label --local";
  for (const std::string& f : files) cmd += " -f '" + f + "'";
  cmd +=
      " slogate-crd-test- -o '" + output + "' > '" + outFile + "' 2> '" + errFile + "' < /dev/null";
  KubectlRun r;
  r.status = std::system(cmd.c_str());
  r.out = readFile(outFile);
  r.err = readFile(errFile);
  fs::remove_all(dir);
  return r;
}

// kubectl prints several objects as consecutive pretty-printed JSON objects.
std::vector<std::string> splitJsonObjects(const std::string& out) {
  std::vector<std::string> objects;
  std::stringstream ss(out);
  std::string line;
  std::string current;
  while (std::getline(ss, line)) {
    current += line + "\n";
    if (line == "}") {
      objects.push_back(current);
      current.clear();
    }
  }
  return objects;
}

JsonValue withoutEmptyLabels(JsonValue v) {
  if (JsonValue* meta = v.get("metadata")) {
    if (const JsonValue* labels = meta->get("labels"); labels && labels->fields().empty()) {
      meta->erase("labels");
    }
  }
  return v;
}

TEST(CrdKubectl, ReadsTheCrdAndEveryDocumentAsTheValidatorDoes) {
  const auto kubectl = findOnPath("kubectl");
  if (!kubectl) GTEST_SKIP() << "kubectl is not on PATH";
  // The CRD and every document of the tests, in one call: kubectl's YAML 1.1
  // typing must be the one the validator assumed (e.g. "True" in an enum and
  // the default "0" stay strings, objective: 99.9 is a number).
  std::vector<std::string> docs = fixtureDocuments();
  if (auto spec = specPath()) {
    for (std::string& d : sloExamples(readFile(*spec))) docs.push_back(std::move(d));
  }
  for (const auto& cases : {badCases(), goodCases()}) {
    for (const Case& c : cases) docs.push_back(applyEdits(c));
  }
  for (const Difference& d : knownDifferences()) docs.push_back(applyEdits(d.c));
  std::vector<JsonValue> expected;
  std::string all;
  for (const std::string& d : docs) {
    auto v = fromYaml(YAML::Load(d));
    if (!v) continue;  // duplicate keys: kubectl refuses the file
    const JsonValue* kind = v->isObject() ? v->get("kind") : nullptr;
    if (kind == nullptr || !v->has("metadata")) continue;
    expected.push_back(std::move(*v));
    all += "---\n" + d;
  }
  const fs::path file =
      fs::temp_directory_path() / ("slogate-crd-docs-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << all;
  const KubectlRun r = kubectlLocal(*kubectl, {kCrdPath, file.string()}, "json");
  fs::remove(file);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto objects = splitJsonObjects(r.out);
  ASSERT_EQ(objects.size(), expected.size() + 1);
  const JsonValue printed = withoutEmptyLabels(*fromYaml(YAML::Load(objects[0])));
  EXPECT_EQ(printed.get("kind")->asString(), "CustomResourceDefinition");
  EXPECT_TRUE(printed == *fromYaml(crd().doc)) << "kubectl reads the CRD differently";
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const JsonValue got = withoutEmptyLabels(*fromYaml(YAML::Load(objects[i + 1])));
    EXPECT_TRUE(got == expected[i])
        << "kubectl: " << got.toString() << "\nvalidator: " << expected[i].toString();
  }
}

TEST(CrdKubectl, PrinterColumnPathsResolveWithKubectlJsonPath) {
  const auto kubectl = findOnPath("kubectl");
  if (!kubectl) GTEST_SKIP() << "kubectl is not on PATH";
  const Case withStatus = goodCases().back();
  const fs::path file =
      fs::temp_directory_path() / ("slogate-crd-columns-" + std::to_string(::getpid()) + ".yaml");
  std::string doc = applyEdits(withStatus);
  const std::string meta = "metadata: {name: checkout, namespace: shop";
  doc.replace(doc.find(meta), meta.size(), meta + ", creationTimestamp: \"2026-11-01T00:00:00Z\"");
  std::ofstream(file) << doc;
  std::string tmpl;
  std::vector<std::string> names;
  for (const YAML::Node& col : crd().version["additionalPrinterColumns"]) {
    tmpl += "{" + col["jsonPath"].as<std::string>() + "}|";
    names.push_back(col["name"].as<std::string>());
  }
  const KubectlRun r = kubectlLocal(*kubectl, {file.string()}, "jsonpath=" + tmpl);
  fs::remove(file);
  ASSERT_EQ(r.status, 0) << r.err;
  // Objective, Budget, Burn1h, Decision, Age, Target, Window, Frozen.
  EXPECT_EQ(r.out, "99.9|-0.0114|14.4467|rollback|2026-11-01T00:00:00Z|checkout|30d|true|")
      << ::testing::PrintToString(names);
}

}  // namespace
}  // namespace slogate::crdtest
