// go_template_test.cc — the template subset renderer the chart test relies
// on: Go's whitespace trimming, control structures, variables and the
// functions the chart uses behave as in Helm, and what it does not know is
// an error rather than silently skipped.
#include "helm/go_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "helm/value.h"

namespace slogate::helmtest {
namespace {

using ::testing::HasSubstr;

std::string run(const std::string& text, const std::string& dotYaml = "") {
  TemplateSet set;
  set.add("t", text);
  const Value dot = parseYaml(dotYaml);
  return set.execute("t", dot.isNull() ? Value::ofMap({}) : dot);
}

TEST(GoTemplate, TextFieldsAndTrimMarkers) {
  EXPECT_EQ(run("a: {{ .x }}", "x: 1"), "a: 1");
  EXPECT_EQ(run("a  {{- .x -}}  b\n", "x: y"), "ayb\n");
  EXPECT_EQ(run("a\n  {{- /* gone, even with it's and }} */}}\nb"), "a\nb");
  EXPECT_EQ(run("{{ .missing }}|{{ .m.k }}", "m: {k: v}"), "|v");
  EXPECT_EQ(run("{{`{{args.slo}}`}}"), "{{args.slo}}");
  EXPECT_EQ(run("{{ \"a\\\"b\" }}"), "a\"b");
}

TEST(GoTemplate, ControlStructures) {
  const char* t =
      "{{- if .a }}A{{ else if .b }}B{{ else }}C{{ end -}}\n"
      "{{- with .m }}{{ .k }}{{ else }}none{{ end }}";
  EXPECT_EQ(run(t, "a: true\nm: {k: 1}"), "A1");
  EXPECT_EQ(run(t, "b: x"), "Bnone");
  EXPECT_EQ(run(t, "a: 0\nb: \"\"\nm: {}"), "Cnone");
  EXPECT_EQ(run("{{ range .l }}[{{ . }}]{{ end }}", "l: [1, two]"), "[1][two]");
  EXPECT_EQ(run("{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}", "m: {b: 2, a: 1}"),
            "a=1;b=2;");
  EXPECT_EQ(run("{{ range $i, $v := .l }}{{ $i }}{{ $v }}{{ $.x }}{{ end }}", "l: [a]\nx: X"),
            "0aX");
  EXPECT_EQ(run("{{ range .l }}x{{ else }}empty{{ end }}", "l: []"), "empty");
}

TEST(GoTemplate, VariablesAndAssignmentAcrossBlocks) {
  EXPECT_EQ(run("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"), "2");
  EXPECT_EQ(run("{{ $x := .a | default \"d\" }}{{ $x }}"), "d");
  TemplateSet set;
  set.add("t", "{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}");
  EXPECT_THROW(set.execute("t", Value::null()), TemplateError);
}

TEST(GoTemplate, DefineIncludeAndIndentation) {
  TemplateSet set;
  set.add("helpers", "{{- define \"labels\" -}}\na: {{ .n }}\nb: x\n{{- end -}}");
  set.add("t", "metadata:\n  labels:\n    {{- include \"labels\" . | nindent 4 }}\n");
  EXPECT_EQ(set.execute("t", parseYaml("n: 1")), "metadata:\n  labels:\n    a: 1\n    b: x\n");
  EXPECT_EQ(run("{{ \"a\\nb\" | indent 2 }}"), "  a\n  b");
}

TEST(GoTemplate, Functions) {
  EXPECT_EQ(run("{{ .v | quote }}", "v: 1.5"), "\"1.5\"");
  EXPECT_EQ(run("{{ printf \"%s-%d\" \"a\" 3 }}"), "a-3");
  EXPECT_EQ(run("{{ \"abcdef\" | trunc 3 | trimSuffix \"c\" }}"), "ab");
  EXPECT_EQ(run("{{ contains \"ate\" \"slogate\" }} {{ eq 1 2 1 }} {{ gt (int \"5\") 3 }}"),
            "true true true");
  EXPECT_EQ(run("{{ and 1 0 }} {{ or 0 \"x\" }} {{ not .a }}"), "0 x true");
  EXPECT_EQ(run("{{ toYaml .m }}", "m: {b: [1, \"2\"], a: \"true\"}"),
            "a: \"true\"\nb:\n  - 1\n  - \"2\"");
  EXPECT_EQ(run("{{ concat (list 1) (list 2 1) | uniq | toYaml }}"), "- 1\n- 2");
  EXPECT_EQ(run("{{ hasKey (dict \"a\" 1) \"a\" }} {{ index (dict \"a.b\" 2) \"a.b\" }}"),
            "true 2");
  EXPECT_EQ(run("{{ \"hi\" | b64enc }} {{ base \"x/y.json\" }}"), "aGk= y.json");
  EXPECT_EQ(run("{{ (fromYaml \"a: {b: 1}\").a.b }}"), "1");
}

TEST(GoTemplate, ErrorsAreNotSkipped) {
  const std::pair<const char*, const char*> cases[] = {
      {"{{ nosuch 1 }}", "function \"nosuch\" not defined"},
      {"{{ if true }}", "missing end"},
      {"{{ end }}", "unexpected end"},
      {"{{ .a.b.c }}", "nil pointer"},
      {"{{ required \"need x\" .x }}", "need x"},
      {"{{ include \"nope\" . }}", "no template"},
      {"{{ .a", "unclosed action"},
  };
  for (const auto& [text, message] : cases) {
    try {
      run(text);
      ADD_FAILURE() << text << " rendered";
    } catch (const TemplateError& e) {
      EXPECT_THAT(e.what(), HasSubstr(message)) << text;
    }
  }
}

TEST(HelmValue, ToYamlRoundTrips) {
  const Value v = parseYaml(R"(
a: ["true", "1", "", "a: b", "multi
line", "x#y", "- z", null, 1.5, -3, false]
b: {c: {}, d: [], "e f": {g: [ {h: 1, i: [2]} ]}}
)");
  EXPECT_EQ(parseYaml(toYaml(v)), v) << toYaml(v);
  EXPECT_EQ(parseYaml("x: '1'").at("x"), Value::of("1"));
  EXPECT_EQ(parseYaml("x: 1").at("x"), Value::of(std::int64_t{1}));
  EXPECT_EQ(parseYaml("x: |\n  a\n").at("x"), Value::of("a\n"));
}

TEST(HelmValue, MergeLikeHelm) {
  const Value merged = mergeValues(parseYaml("a: {b: 1, c: 2}\nl: [1, 2]\nd: x"),
                                   parseYaml("a: {c: 3}\nl: [9]\nd: null"));
  EXPECT_EQ(merged, parseYaml("a: {b: 1, c: 3}\nl: [9]"));
}

}  // namespace
}  // namespace slogate::helmtest
