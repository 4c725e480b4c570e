// dashboards_test.cc — the Grafana dashboards of helm/slogate/dashboards/.
//
// Structure (offline): unique panel ids, every panel and target on the
// `${datasource}` variable (no datasource uid written anywhere), every
// target an expr, every variable an expr uses defined (Grafana's built-ins
// aside), multi-value variables only behind `=~`, namespace/slo variables
// from label_values(slogate_objective_ratio, …).
//
// Queries (a real Prometheus 2.x and the real `slogate controller`): three
// SLOs over a backfilled day of synthetic traffic (shop/checkout burning fast:
// rollback and frozen; shop/payments spent its budget 10 hours ago: freeze;
// web/search healthy: approve), run against the fake API server
// (tests/fakes). The same Prometheus scrapes slogate's /metrics every second
// (file_sd, honor_labels: true as the chart's ServiceMonitor, and a pod
// namespace label that per-SLO series override). Once it has scraped twice,
// the Rollouts start an update, slogate aborts one and pauses the other, and
// then every target of every panel, its template variables substituted (and
// the variables' own label_values() queries resolved through Prometheus), is
// run with /api/v1/query — and /api/v1/query_range for time series panels —
// and must parse, succeed and return data; key panels' values are checked
// against the scenario. Every slogate_* name in the dashboards must be in
// slogate's own /metrics output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/json.h"
#include "fakes/fake_apiserver.h"
#include "harness/history.h"
#include "harness/prometheus_server.h"
#include "harness/slogate_process.h"
#include "harness/test_helpers.h"
#include "net/http_client.h"

namespace slogate::helmtest {
namespace {

namespace fs = std::filesystem;
using harness::parseJson;
using ::testing::UnorderedElementsAre;

const std::string kDashboardDir = std::string(SLOGATE_SOURCE_DIR) + "/helm/slogate/dashboards";
const std::vector<std::string> kDashboards = {"slogate-fleet.json", "slogate-slo.json"};
const std::string kDatasource = "${datasource}";

// Grafana's built-in variables, as the test substitutes them.
const std::map<std::string, std::string> kBuiltins = {
    {"__rate_interval", "1m"}, {"__interval", "15s"}, {"__interval_ms", "15000"},
    {"__range", "5m"},         {"__range_s", "300"},  {"__range_ms", "300000"}};

Json load(const std::string& file) {
  std::ifstream in(kDashboardDir + "/" + file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto j = Json::parse(text.str());
  EXPECT_TRUE(j.ok()) << file << ": " << j.status().message();
  return j.ok() ? *j : Json();
}

// Every panel, those inside collapsed rows included.
std::vector<const Json*> panelsOf(const Json& dashboard) {
  std::vector<const Json*> out;
  for (const Json& p : dashboard["panels"].items()) {
    out.push_back(&p);
    for (const Json& inner : p["panels"].items()) out.push_back(&inner);
  }
  return out;
}

const Json* variable(const Json& dashboard, const std::string& name) {
  for (const Json& v : dashboard["templating"]["list"].items()) {
    if (v["name"].text() == name) return &v;
  }
  return nullptr;
}

std::string variableQuery(const Json& v) {
  return v["query"].isObject() ? v["query"]["query"].text() : v["query"].text();
}

bool multiValued(const Json& v) {
  return (v["multi"].isBool() && v["multi"].boolValue()) ||
         (v["includeAll"].isBool() && v["includeAll"].boolValue());
}

// A variable reference in a text: $name, ${name}, ${name:format}, [[name]].
struct Reference {
  std::string name;
  std::size_t pos = 0;  // of '$' or '['
  std::size_t length = 0;
};

bool wordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// References in order; `$` followed by a digit is a regex group ("$1" in
// label_replace), not a variable. A lone `$` is reported with an empty name.
std::vector<Reference> references(const std::string& text) {
  std::vector<Reference> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "[[") == 0) {
      const std::size_t end = text.find("]]", i);
      if (end == std::string::npos) continue;
      std::string name = text.substr(i + 2, end - i - 2);
      name = name.substr(0, name.find(':'));
      out.push_back({name, i, end + 2 - i});
      i = end + 1;
      continue;
    }
    if (text[i] != '$') continue;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      const std::size_t end = text.find('}', i);
      if (end == std::string::npos) {
        out.push_back({"", i, 1});
        continue;
      }
      std::string name = text.substr(i + 2, end - i - 2);
      name = name.substr(0, std::min(name.find(':'), name.find('.')));
      out.push_back({name, i, end + 1 - i});
      i = end;
      continue;
    }
    if (i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) != 0) {
      continue;
    }
    std::size_t end = i + 1;
    while (end < text.size() && wordChar(text[end])) ++end;
    out.push_back({text.substr(i + 1, end - i - 1), i, end - i});
    i = end - 1;
  }
  return out;
}

// Substitutes references from `values` (then kBuiltins); unknown names are
// appended to *undefined and left in place.
std::string substitute(const std::string& text, const std::map<std::string, std::string>& values,
                       std::vector<std::string>* undefined = nullptr) {
  std::string out;
  std::size_t last = 0;
  for (const Reference& r : references(text)) {
    out += text.substr(last, r.pos - last);
    last = r.pos + r.length;
    auto it = values.find(r.name);
    if (it == values.end()) it = kBuiltins.find(r.name);
    if (it == kBuiltins.end()) {
      if (undefined != nullptr) undefined->push_back(r.name);
      out += text.substr(r.pos, r.length);
    } else {
      out += it->second;
    }
  }
  return out + text.substr(last);
}

// Grafana's Prometheus formatting of one selected value of a multi-value
// variable: regex-escaped.
std::string regexEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::set<std::string> slogateNames(const std::string& text) {
  std::set<std::string> out;
  static const std::regex name("slogate_[a-zA-Z0-9_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    out.insert(it->str());
  }
  return out;
}

// Visits every member named `key` anywhere in the document.
void forEachMember(const Json& j, const std::string& key,
                   const std::function<void(const Json&)>& f) {
  for (const auto& [k, v] : j.members()) {
    if (k == key) f(v);
    forEachMember(v, key, f);
  }
  for (const Json& item : j.items()) forEachMember(item, key, f);
}

// ------------------------------------------------------------------ structure

// Every variable `text` references is defined (or a Grafana built-in), and a
// multi-value one is used as a regex (right after =~").
void checkReferences(const Json& d, const std::string& text) {
  for (const Reference& r : references(text)) {
    const Json* v = variable(d, r.name);
    EXPECT_TRUE(v != nullptr || kBuiltins.count(r.name) > 0)
        << "undefined variable \"" << r.name << "\" in " << text;
    if (v != nullptr && multiValued(*v)) {
      EXPECT_TRUE(r.pos >= 3 && text.compare(r.pos - 3, 3, "=~\"") == 0)
          << "$" << r.name << " is multi-valued: use =~ in " << text;
    }
  }
}

TEST(Dashboards, StructureAndVariables) {
  std::set<std::string> uids;
  for (const std::string& file : kDashboards) {
    SCOPED_TRACE(file);
    const Json d = load(file);
    ASSERT_TRUE(d.isObject());
    EXPECT_GE(d["schemaVersion"].asInt().value_or(0), 36);
    EXPECT_FALSE(d["uid"].text().empty());
    EXPECT_LE(d["uid"].text().size(), 40u);  // Grafana's limit
    EXPECT_TRUE(uids.insert(d["uid"].text()).second) << "duplicate uid " << d["uid"].text();
    EXPECT_FALSE(d["title"].text().empty());

    // No datasource is written by uid: every "datasource" is the variable.
    forEachMember(d, "datasource", [](const Json& ds) {
      EXPECT_TRUE(ds.isObject()) << ds.dump();
      EXPECT_EQ(ds["uid"].text(), kDatasource) << ds.dump();
      EXPECT_EQ(ds["type"].text(), "prometheus") << ds.dump();
    });

    // Variables.
    std::set<std::string> names;
    for (const Json& v : d["templating"]["list"].items()) {
      const std::string name = v["name"].text();
      EXPECT_TRUE(names.insert(name).second) << "variable " << name << " twice";
      if (v["type"].text() == "query") {
        EXPECT_EQ(v["datasource"]["uid"].text(), kDatasource) << name;
        EXPECT_EQ(variableQuery(v).rfind("label_values(slogate_", 0), 0u) << name;
      }
      if (v.has("definition")) {
        EXPECT_EQ(v["definition"].text(), variableQuery(v)) << name;
      }
      if (v["type"].text() == "query") checkReferences(d, variableQuery(v));
      if (v["includeAll"].isBool() && v["includeAll"].boolValue()) {
        EXPECT_FALSE(v["allValue"].text().empty())
            << name << ": an All option needs allValue (else Grafana lists every value)";
      }
    }
    const Json* ds = variable(d, "datasource");
    ASSERT_NE(ds, nullptr);
    EXPECT_EQ((*ds)["type"].text(), "datasource");
    EXPECT_EQ(variableQuery(*ds), "prometheus");
    const Json* ns = variable(d, "namespace");
    const Json* slo = variable(d, "slo");
    ASSERT_NE(ns, nullptr);
    ASSERT_NE(slo, nullptr);
    EXPECT_EQ(variableQuery(*ns), "label_values(slogate_objective_ratio, namespace)");
    EXPECT_THAT(
        variableQuery(*slo),
        ::testing::MatchesRegex(
            R"(label_values\(slogate_objective_ratio\{namespace=~?"\$namespace"\}, slo\))"));

    // Panels.
    std::set<std::int64_t> ids;
    const auto panels = panelsOf(d);
    EXPECT_GE(panels.size(), 10u);
    for (std::size_t i = 0; i < panels.size(); ++i) {
      for (std::size_t k = i + 1; k < panels.size(); ++k) {
        const Json& a = (*panels[i])["gridPos"];
        const Json& b = (*panels[k])["gridPos"];
        const auto at = [](const Json& g, const char* f) { return g[f].asInt().value_or(0); };
        const bool apart =
            at(a, "x") + at(a, "w") <= at(b, "x") || at(b, "x") + at(b, "w") <= at(a, "x") ||
            at(a, "y") + at(a, "h") <= at(b, "y") || at(b, "y") + at(b, "h") <= at(a, "y");
        EXPECT_TRUE(apart) << (*panels[i])["title"].text() << " overlaps "
                           << (*panels[k])["title"].text();
      }
    }
    for (const Json* p : panels) {
      const std::string title = (*p)["title"].text();
      SCOPED_TRACE(title);
      EXPECT_FALSE(title.empty());
      const auto id = (*p)["id"].asInt();
      ASSERT_TRUE(id.has_value());
      EXPECT_TRUE(ids.insert(*id).second) << "panel id " << *id << " twice";
      const Json& grid = (*p)["gridPos"];
      EXPECT_GT(grid["w"].asInt().value_or(0), 0);
      EXPECT_GT(grid["h"].asInt().value_or(0), 0);
      EXPECT_LE(grid["x"].asInt().value_or(99) + grid["w"].asInt().value_or(99), 24);
      EXPECT_EQ((*p)["datasource"]["uid"].text(), kDatasource);
      ASSERT_FALSE((*p)["targets"].items().empty());
      std::set<std::string> refIds;
      for (const Json& t : (*p)["targets"].items()) {
        EXPECT_TRUE(refIds.insert(t["refId"].text()).second) << "refId " << t["refId"].text();
        EXPECT_EQ(t["datasource"]["uid"].text(), kDatasource);
        const std::string expr = t["expr"].text();
        EXPECT_FALSE(expr.empty()) << t["refId"].text();
        checkReferences(d, expr);
      }
      for (const Reference& r : references(title)) {
        EXPECT_NE(variable(d, r.name), nullptr) << "title uses undefined $" << r.name;
      }
      if ((*p).has("repeat")) {
        const Json* v = variable(d, (*p)["repeat"].text());
        ASSERT_NE(v, nullptr) << "repeat by an undefined variable";
        EXPECT_TRUE(multiValued(*v)) << "repeat needs a multi-value variable";
      }
    }
  }
}

TEST(Dashboards, ReferenceSyntax) {
  const auto refs =
      references(R"(a{x=~"$ns",y="${slo}",z="${w:regex}"}[$__rate_interval] "$1" [[v]])");
  std::vector<std::string> names;
  names.reserve(refs.size());
  for (const Reference& r : refs) names.push_back(r.name);
  EXPECT_THAT(names, ::testing::ElementsAre("ns", "slo", "w", "__rate_interval", "v"));
  std::vector<std::string> undefined;
  EXPECT_EQ(substitute(R"(x{a="$a",b="$b"}[$__range] "$1")", {{"a", "A"}}, &undefined),
            R"(x{a="A",b="$b"}[5m] "$1")");
  EXPECT_THAT(undefined, ::testing::ElementsAre("b"));
}

// --------------------------------------------------------------- Prometheus

// One series of an answer: its labels and values (one for instant queries).
struct Series {
  std::map<std::string, std::string> labels;
  std::vector<double> values;
  std::string key(const std::string& a, const std::string& b = "") const {
    const auto get = [&](const std::string& l) {
      const auto it = labels.find(l);
      return it == labels.end() ? std::string() : it->second;
    };
    return b.empty() ? get(a) : get(a) + "/" + get(b);
  }
};

struct Answer {
  bool ok = false;
  std::string error;  // Prometheus' errorType: error, or a transport error
  std::vector<Series> series;
};

double parseValue(const Json& pair) {
  const std::string& s = pair[1].text();
  return std::strtod(s.c_str(), nullptr);  // also "NaN", "+Inf"
}

Answer ask(const harness::PrometheusServer& prom, const std::string& pathAndQuery) {
  Answer a;
  std::string body;
  const int status = prom.get(pathAndQuery, &body);
  auto j = Json::parse(body);
  if (!j.ok()) {
    a.error = "HTTP " + std::to_string(status) + ": " + body.substr(0, 300);
    return a;
  }
  if ((*j)["status"].text() != "success") {
    a.error = (*j)["errorType"].text() + ": " + (*j)["error"].text();
    return a;
  }
  a.ok = true;
  const Json& data = (*j)["data"];
  if (data["resultType"].text() == "scalar") {
    a.series.push_back({{}, {parseValue(data["result"])}});
    return a;
  }
  for (const Json& r : data["result"].items()) {
    Series s;
    for (const auto& [k, v] : r["metric"].members()) s.labels[k] = v.text();
    if (r.has("value")) s.values.push_back(parseValue(r["value"]));
    for (const Json& pair : r["values"].items()) s.values.push_back(parseValue(pair));
    a.series.push_back(std::move(s));
  }
  return a;
}

Answer instant(const harness::PrometheusServer& prom, const std::string& expr, std::int64_t at) {
  return ask(prom,
             "/api/v1/query?query=" + harness::urlEncode(expr) + "&time=" + std::to_string(at));
}

Answer range(const harness::PrometheusServer& prom, const std::string& expr, std::int64_t from,
             std::int64_t to) {
  return ask(prom, "/api/v1/query_range?query=" + harness::urlEncode(expr) +
                       "&start=" + std::to_string(from) + "&end=" + std::to_string(to) + "&step=5");
}

// label_values(selector, label) / label_values(label) through /api/v1/series
// and /api/v1/label/<label>/values, sorted.
std::vector<std::string> labelValues(const harness::PrometheusServer& prom,
                                     const std::string& query, std::int64_t now,
                                     std::string* error) {
  static const std::regex withSelector(R"(^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$)");
  static const std::regex labelOnly(R"(^label_values\(([A-Za-z_][A-Za-z0-9_]*)\)$)");
  std::smatch m;
  std::string body;
  std::set<std::string> values;
  const std::string window = "&start=" + std::to_string(now - 600) + "&end=" + std::to_string(now);
  if (std::regex_match(query, m, withSelector)) {
    const std::string label = m[2].str();
    prom.get("/api/v1/series?match[]=" + harness::urlEncode(m[1].str()) + window, &body);
    auto j = Json::parse(body);
    if (!j.ok() || (*j)["status"].text() != "success") {
      *error = query + ": " + body.substr(0, 300);
      return {};
    }
    for (const Json& s : (*j)["data"].items()) {
      if (s.has(label)) values.insert(s[label].text());
    }
  } else if (std::regex_match(query, m, labelOnly)) {
    prom.get("/api/v1/label/" + m[1].str() + "/values?" + window.substr(1), &body);
    auto j = Json::parse(body);
    if (!j.ok() || (*j)["status"].text() != "success") {
      *error = query + ": " + body.substr(0, 300);
      return {};
    }
    for (const Json& v : (*j)["data"].items()) values.insert(v.text());
  } else {
    *error = "not a label_values() query: " + query;
  }
  return {values.begin(), values.end()};
}

// What one run of a dashboard answered, by panel title (variables in titles
// substituted) and refId.
using Answers = std::map<std::string, std::map<std::string, Answer>>;

struct RunOptions {
  // Values chosen for variables; a multi-value variable not listed here is
  // "All" (its allValue); a repeat variable not listed runs once per value.
  std::map<std::string, std::string> chosen;
  // Whether an empty answer is a failure; `allowedEmpty` maps panel titles
  // that may be empty to the reason.
  bool requireData = true;
  std::map<std::string, std::string> allowedEmpty;
  std::int64_t now = 0;
};

// Resolves the variables, then runs every target of every panel: instant, and
// range for time series panels. Failures are test failures.
Answers runDashboard(const harness::PrometheusServer& prom, const Json& d,
                     const RunOptions& options) {
  std::map<std::string, std::string> values;                 // substituted text
  std::map<std::string, std::vector<std::string>> resolved;  // label_values() answers
  for (const Json& v : d["templating"]["list"].items()) {
    const std::string name = v["name"].text();
    const std::string type = v["type"].text();
    if (type == "datasource") continue;
    if (type == "custom") {
      values[name] = v["current"]["value"].text();
      continue;
    }
    if (type != "query") {
      ADD_FAILURE() << "variable " << name << " of type " << type << " is not handled";
      continue;
    }
    std::string error;
    const std::string query = substitute(variableQuery(v), values);
    resolved[name] = labelValues(prom, query, options.now, &error);
    EXPECT_TRUE(error.empty()) << name << ": " << error;
    EXPECT_FALSE(resolved[name].empty()) << "variable " << name << " has no values: " << query;
    const auto chosen = options.chosen.find(name);
    if (chosen != options.chosen.end()) {
      EXPECT_THAT(resolved[name], ::testing::Contains(chosen->second))
          << "variable " << name << " (" << query << ") does not offer " << chosen->second;
      values[name] = multiValued(v) ? regexEscape(chosen->second) : chosen->second;
    } else if (multiValued(v)) {
      values[name] = v["allValue"].text();
    } else if (!resolved[name].empty()) {
      values[name] = resolved[name].front();
    }
  }
  Answers out;
  for (const Json* p : panelsOf(d)) {
    // A repeated panel runs once per value of its variable (as Grafana shows it).
    std::vector<std::string> repeats = {""};
    const std::string repeatBy = (*p)["repeat"].text();
    if (!repeatBy.empty() && options.chosen.count(repeatBy) == 0) repeats = resolved[repeatBy];
    for (const std::string& repeatValue : repeats) {
      auto vars = values;
      if (!repeatValue.empty()) vars[repeatBy] = regexEscape(repeatValue);
      const std::string title = substitute((*p)["title"].text(), vars);
      const std::string type = (*p)["type"].text();
      const bool timeSeries = type == "timeseries" || type == "state-timeline";
      for (const Json& t : (*p)["targets"].items()) {
        const std::string refId = t["refId"].text();
        std::vector<std::string> undefined;
        const std::string expr = substitute(t["expr"].text(), vars, &undefined);
        std::string trace = title;
        trace += " " + refId;
        trace += ": " + expr;
        SCOPED_TRACE(trace);
        EXPECT_THAT(undefined, ::testing::IsEmpty());
        Answer a = instant(prom, expr, options.now);
        EXPECT_TRUE(a.ok) << a.error;
        const auto allowed = options.allowedEmpty.find(title);
        const bool mayBeEmpty = !options.requireData || allowed != options.allowedEmpty.end();
        if (a.ok && !mayBeEmpty) {
          EXPECT_FALSE(a.series.empty()) << "no data";
        }
        if (timeSeries || (t["range"].isBool() && t["range"].boolValue())) {
          Answer r = range(prom, expr, options.now - 300, options.now);
          EXPECT_TRUE(r.ok) << "query_range: " << r.error;
          if (r.ok && !mayBeEmpty) {
            EXPECT_FALSE(r.series.empty()) << "query_range: no data";
          }
          out[title][refId + "/range"] = std::move(r);
        }
        out[title][refId] = std::move(a);
      }
    }
  }
  return out;
}

// The single value of an instant answer's series, by label key.
std::map<std::string, double> byKey(const Answer& a, const std::string& l1,
                                    const std::string& l2 = "") {
  std::map<std::string, double> out;
  for (const Series& s : a.series) {
    if (!s.values.empty()) out[s.key(l1, l2)] = s.values.back();
  }
  return out;
}

double single(const Answer& a) {
  EXPECT_EQ(a.series.size(), 1u);
  return a.series.empty() || a.series[0].values.empty() ? std::nan("") : a.series[0].values[0];
}

Json rollout(const std::string& name, const std::string& currentHash) {
  return parseJson(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":")" +
                   name +
                   R"(","namespace":"shop"},"spec":{"replicas":2},"status":{"currentPodHash":")" +
                   currentHash + R"(","stableRS":"rev1"}})");
}

// Polls an instant query until `ok` holds for its answer (or the deadline).
bool waitFor(const harness::PrometheusServer& prom, const std::string& expr,
             const std::function<bool(const Answer&)>& ok, int seconds) {
  return harness::eventually(
      [&] {
        const Answer a = instant(prom, expr, std::time(nullptr));
        return a.ok && ok(a);
      },
      std::chrono::seconds(seconds), std::chrono::milliseconds(250));
}

TEST(Dashboards, EveryPanelQueryRunsAgainstSlogateMetrics) {
  if (!harness::prometheusAvailable()) GTEST_SKIP() << "prometheus not installed";
  const auto started = std::chrono::steady_clock::now();
  const std::int64_t now = std::time(nullptr) / 60 * 60;
  const std::int64_t day = 86'400;

  // A day of traffic, ending now (the controller's clock agrees with it).
  harness::OpenMetricsWriter om;
  harness::ServiceHistory checkout("checkout", now - day, now);
  checkout.setRate(now - day, now - 1200, 1'000, 0);
  checkout.setRate(now - 1200, now, 1'000, 200);  // 20% errors for 20 minutes
  checkout.setSlow(now - day, now, 5);            // 0.5% slow: latency burns at 0.5
  checkout.setCpu(now - 600, now + 60, 0.9);      // above max for the last 10 minutes
  checkout.write(om);
  harness::ServiceHistory payments("payments", now - day, now);
  payments.setRate(now - day, now, 1'000, 0);
  payments.setRate(now - 36'000, now - 34'200, 1'000, 100);  // 10h ago: budget spent
  payments.write(om);
  harness::ServiceHistory search("search", now - day, now);
  search.setRate(now - day, now, 5'000, 1);
  search.setSlow(now - day, now, 10);
  search.write(om);

  const std::string dir = ::testing::TempDir() + "/dashboards-" + std::to_string(getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};

  // Prometheus scrapes slogate every second once the targets file names it.
  harness::PrometheusOptions po;
  po.scrapeConfigs =
      "  - job_name: slogate\n"
      "    honor_labels: true\n"
      "    scrape_interval: 1s\n"
      "    scrape_timeout: 1s\n"
      "    file_sd_configs:\n"
      "      - files: [\"" +
      dir + "/targets.json\"]\n" + "        refresh_interval: 1s\n";
  std::string error;
  auto prom = harness::PrometheusServer::start(om.text(), &error, po);
  ASSERT_NE(prom, nullptr) << error;

  auto api = fakes::FakeApiServer::start({}, &error);
  ASSERT_NE(api, nullptr) << error;
  for (const char* ns : {"shop", "web"}) {
    api->apply(
        parseJson(std::string(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")") +
                  ns + "\"}}"));
  }
  // Not updating yet: nothing to act on until the first scrapes happened.
  api->apply(rollout("checkout", "rev1"));
  api->apply(rollout("payments", "rev1"));
  // Selectors of the synthetic history's series (tests/harness/history.h).
  const auto errorsOf = [](const std::string& service) {
    return R"j("errors":{"objective":"99.9","total":"http_requests_total{service=\")j" + service +
           R"j(\"}","bad":"http_requests_total{service=\")j" + service + R"j(\",code=~\"5..\"}"})j";
  };
  const auto latencyOf = [](const std::string& service) {
    return R"j("latency":{"objective":"99","total":"http_request_duration_seconds_count{service=\")j" +
           service + R"j(\"}","good":"http_request_duration_seconds_bucket{service=\")j" + service +
           R"j(\",le=\"0.3\"}"})j";
  };
  const auto slo = [](const std::string& ns, const std::string& name, const std::string& spec) {
    return parseJson(
        R"j({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":")j" +
        name + R"j(","namespace":")j" + ns + R"j("},"spec":{"window":"1d",)j" + spec +
        R"j(,"policy":{"burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"},)j"
        R"j({"long":"6h","short":"30m","factor":"6","action":"halt"}]}}})j");
  };
  api->apply(slo(
      "shop", "checkout",
      R"j("service":"Checkout","target":{"name":"checkout"},"indicators":{)j" +
          errorsOf("checkout") + "," + latencyOf("checkout") +
          R"j(,"saturation":{"objective":"99","query":"max(container_cpu_utilization_ratio{container=\"checkout\"})","max":"0.8"}})j"));
  api->apply(slo("shop", "payments",
                 R"j("target":{"name":"payments"},"indicators":{)j" + errorsOf("payments") + "}"));
  api->apply(slo("web", "search",
                 R"j("indicators":{)j" + errorsOf("search") + "," + latencyOf("search") + "}"));

  harness::SlogateProcess slogate(harness::slogateOptions(*api, prom->url()));
  ASSERT_EQ(slogate.start(), "");
  const std::string metricsBase = slogate.metricsUrl();
  const std::string metricsPort = std::to_string(slogate.metricsPort());
  {
    std::ofstream(dir + "/targets.json.tmp")
        << R"([{"targets":["127.0.0.1:)" << metricsPort
        << R"("],"labels":{"namespace":"slogate","pod":"slogate-0"}}])";
    fs::rename(dir + "/targets.json.tmp", dir + "/targets.json");
  }

  // Two scrapes of every SLO's series.
  ASSERT_TRUE(waitFor(
      *prom, "count(count_over_time(slogate_frozen[5m]) >= 2)",
      [](const Answer& a) { return !a.series.empty() && a.series[0].values.at(0) == 3; }, 40))
      << slogate.stderrText();
  // Now the Rollouts update: slogate aborts checkout (rollback) and pauses
  // payments (freeze); Prometheus sees the counters go up.
  api->apply(rollout("checkout", "rev2"));
  api->apply(rollout("payments", "rev2"));
  ASSERT_TRUE(waitFor(
      *prom, R"(sum by (action) (slogate_actions_total{action=~"abort|pause"}) >= 1)",
      [](const Answer& a) { return a.series.size() == 2; }, 30))
      << slogate.stderrText();

  // Every slogate_* name in the dashboards is one slogate serves.
  auto http = net::makeHttpClient(metricsBase, {});
  ASSERT_TRUE(http.ok());
  auto exported = (*http)->send({"GET", "/metrics", {}, ""});
  ASSERT_TRUE(exported.ok());
  std::set<std::string> served;
  {
    std::istringstream in(exported->body);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      served.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  EXPECT_TRUE(served.count("slogate_burn_rate_threshold_ratio") > 0) << exported->body;

  std::map<std::string, Json> dashboards;
  for (const std::string& file : kDashboards) {
    dashboards[file] = load(file);
    for (const Json* p : panelsOf(dashboards[file])) {
      for (const Json& t : (*p)["targets"].items()) {
        for (const std::string& name : slogateNames(t["expr"].text())) {
          EXPECT_TRUE(served.count(name) > 0) << file << ": " << name << " is not exported";
        }
      }
    }
  }

  const std::int64_t at = std::time(nullptr);
  // ---- fleet, every namespace and SLO
  {
    SCOPED_TRACE("slogate-fleet.json, All");
    RunOptions o;
    o.now = at;
    const Answers a = runDashboard(*prom, dashboards["slogate-fleet.json"], o);
    EXPECT_EQ(a.size(), panelsOf(dashboards["slogate-fleet.json"]).size());
    EXPECT_EQ(single(a.at("SLOs").at("A")), 3);
    EXPECT_EQ(single(a.at("Frozen").at("A")), 2);
    EXPECT_EQ(single(a.at("Rolling back").at("A")), 1);
    EXPECT_LT(single(a.at("Lowest budget left").at("A")), -1);
    const double age = single(a.at("Stalest evaluation").at("A"));
    EXPECT_GE(age, 0);
    EXPECT_LE(age, 45);
    EXPECT_EQ(single(a.at("Prometheus query errors").at("A")), 0);
    const Answer& byBudget = a.at("SLOs by budget left").at("A");
    ASSERT_EQ(byBudget.series.size(), 3u);
    EXPECT_EQ(byBudget.series[0].key("namespace", "slo"), "shop/checkout");
    EXPECT_EQ(byBudget.series[1].key("namespace", "slo"), "shop/payments");
    EXPECT_EQ(byBudget.series[2].key("namespace", "slo"), "web/search");
    EXPECT_LE(byBudget.series[0].values[0], byBudget.series[1].values[0]);
    EXPECT_LE(byBudget.series[1].values[0], byBudget.series[2].values[0]);
    EXPECT_EQ(byKey(a.at("SLOs by budget left").at("B"), "namespace", "slo").size(), 3u);
    EXPECT_EQ(byKey(a.at("SLOs by budget left").at("E"), "target")["checkout"], 1);
    std::vector<std::string> frozen;
    for (const Series& s : a.at("Frozen SLOs").at("A").series) {
      frozen.push_back(s.key("namespace", "slo"));
    }
    EXPECT_THAT(frozen, UnorderedElementsAre("shop/checkout", "shop/payments"));
    EXPECT_EQ(a.at("Frozen SLOs").at("B").series.size(), 2u);
    EXPECT_EQ(
        byKey(a.at("Current decisions").at("A"), "decision"),
        (std::map<std::string, double>{
            {"approve", 1}, {"freeze", 1}, {"halt", 0}, {"inconclusive", 0}, {"rollback", 1}}));
    EXPECT_EQ(byKey(a.at("Decisions over time").at("A"), "namespace", "slo"),
              (std::map<std::string, double>{
                  {"shop/checkout", 5}, {"shop/payments", 4}, {"web/search", 1}}));
    EXPECT_EQ(byKey(a.at("Burn rate (1h window)").at("A"), "namespace", "slo").size(), 3u);
    // The actions happened between scrapes: the per-interval bars show them.
    std::map<std::string, double> peak;
    for (const Series& s : a.at("Actions taken").at("A/range").series) {
      for (double v : s.values) peak[s.key("action")] = std::max(peak[s.key("action")], v);
    }
    EXPECT_GT(peak["abort"], 0);
    EXPECT_GT(peak["pause"], 0);
    EXPECT_EQ(peak["deny"], 0);
  }
  // ---- fleet, one namespace: the variables filter
  {
    SCOPED_TRACE("slogate-fleet.json, namespace web");
    RunOptions o;
    o.now = at;
    o.chosen = {{"namespace", "web"}};
    o.allowedEmpty = {{"Frozen SLOs", "web/search is not frozen"}};
    const Answers a = runDashboard(*prom, dashboards["slogate-fleet.json"], o);
    EXPECT_EQ(single(a.at("SLOs").at("A")), 1);
    EXPECT_EQ(single(a.at("Frozen").at("A")), 0);
    EXPECT_EQ(single(a.at("Rolling back").at("A")), 0);
    EXPECT_TRUE(a.at("Frozen SLOs").at("A").series.empty());
    EXPECT_EQ(byKey(a.at("Current decisions").at("A"), "decision")["approve"], 1);
  }
  // ---- one SLO: shop/checkout has every indicator and burns
  {
    SCOPED_TRACE("slogate-slo.json, shop/checkout");
    RunOptions o;
    o.now = at;
    o.chosen = {{"namespace", "shop"}, {"slo", "checkout"}};
    const Answers a = runDashboard(*prom, dashboards["slogate-slo.json"], o);
    // Every panel, the burn-rate panel once per rule (1h/5m and 6h/30m).
    EXPECT_EQ(a.size(), panelsOf(dashboards["slogate-slo.json"]).size() + 1);
    ASSERT_EQ(a.at("Decision").at("A").series.size(), 1u);
    EXPECT_EQ(a.at("Decision").at("A").series[0].key("decision"), "rollback");
    EXPECT_EQ(single(a.at("Frozen").at("A")), 1);
    const auto budget = byKey(a.at("Budget left").at("A"), "indicator");
    EXPECT_LT(budget.at("errors"), 0);
    EXPECT_NEAR(budget.at("latency"), 0.5, 1e-9);
    EXPECT_EQ(byKey(a.at("Objective").at("A"), "indicator"),
              (std::map<std::string, double>{
                  {"errors", 0.999}, {"latency", 0.99}, {"saturation", 0.99}}));
    EXPECT_EQ(byKey(a.at("Service / target").at("A"), "service", "target"),
              (std::map<std::string, double>{{"Checkout/checkout", 1}}));
    const auto sli = byKey(a.at("SLI vs objective").at("A"), "indicator");
    EXPECT_LT(sli.at("errors"), 0.999);
    EXPECT_NEAR(sli.at("latency"), 0.995, 1e-9);
    // One burn-rate panel per rule, each with its factor.
    EXPECT_EQ(single(a.at("Burn rate: 1h rule").at("C")), 14.4);
    EXPECT_EQ(single(a.at("Burn rate: 6h rule").at("C")), 6);
    EXPECT_GT(byKey(a.at("Burn rate: 1h rule").at("A"), "indicator")["errors"], 14.4);
    EXPECT_EQ(byKey(a.at("Burn rate: 1h rule").at("B"), "indicator", "window").count("errors/5m"),
              1u);
    EXPECT_EQ(byKey(a.at("Burn rate: 6h rule").at("B"), "indicator", "window").count("errors/30m"),
              1u);
    EXPECT_EQ(byKey(a.at("Burn-rate rules").at("A"), "long", "short"),
              (std::map<std::string, double>{{"1h/5m", 14.4}, {"6h/30m", 6}}));
    EXPECT_EQ(single(a.at("Decision timeline").at("A")), 5);
    const auto errors = byKey(a.at("Errors: error ratio").at("A"), "window");
    EXPECT_NEAR(errors.at("5m"), 0.2, 1e-9);
    EXPECT_NEAR(single(a.at("Errors: error ratio").at("B")), 0.001, 1e-12);
    EXPECT_NEAR(byKey(a.at("Latency: fast requests").at("A"), "window").at("5m"), 0.995, 1e-9);
    EXPECT_NEAR(byKey(a.at("Saturation: minutes over max").at("A"), "window").at("5m"), 1, 1e-9);
    const auto traffic =
        byKey(a.at("Traffic: events in the SLO window").at("A"), "indicator", "kind");
    EXPECT_GE(traffic.at("errors/total"), 1'430'000);
    EXPECT_LE(traffic.at("errors/total"), 1'441'000);
    EXPECT_GE(traffic.at("errors/bad"), 3'000);
    EXPECT_LE(traffic.at("errors/bad"), 4'000);
  }
  // ---- the other SLOs: every query parses and runs; panels of indicators
  // they lack may be empty.
  for (const auto& [ns, name] :
       {std::pair<std::string, std::string>{"shop", "payments"}, {"web", "search"}}) {
    std::string trace = "slogate-slo.json, " + ns;
    trace += "/" + name;
    SCOPED_TRACE(trace);
    RunOptions o;
    o.now = at;
    o.chosen = {{"namespace", ns}, {"slo", name}};
    o.requireData = false;
    const Answers a = runDashboard(*prom, dashboards["slogate-slo.json"], o);
    ASSERT_EQ(a.at("Decision").at("A").series.size(), 1u);
    EXPECT_EQ(a.at("Decision").at("A").series[0].key("decision"),
              name == "payments" ? "freeze" : "approve");
    EXPECT_FALSE(a.at("Error budget burndown").at("A/range").series.empty());
  }

  const int status = slogate.terminate();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slogate.stderrText();
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  RecordProperty("seconds", static_cast<int>(seconds));
  std::cout << "dashboards test: " << seconds << " s\n";
}

}  // namespace
}  // namespace slogate::helmtest
