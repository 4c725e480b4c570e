// go_template_functions.h — the functions templates call by name: Go's
// builtins (and, or, not, eq, ne, lt, le, gt, ge, len, index, print,
// printf) and the Sprig/Helm ones the chart uses (default, empty, required,
// fail, quote, squote, toString, int, toYaml, fromYaml, fromYamlArray,
// indent, nindent, trunc, trimSuffix, trimPrefix, contains, hasPrefix,
// replace, list, dict, hasKey, get, concat, uniq, base, b64enc, sha256sum,
// genCA, genSignedCert). include, .Files.* and lookup are the executor's.
//
// Differences from Helm, on purpose: sha256sum is a stand-in digest (FNV-1a,
// 64 hex digits); genCA/genSignedCert return readable stand-in PEM text
// ("subject=… dns=… issuer=… days=…") so tests can check what was asked.
// Errors throw TemplateError.
//
// Thread safety: the map is built once and only read.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "helm/value.h"

namespace slogate::helmtest {

using TemplateFunction = std::function<Value(const std::vector<Value>& args)>;

const std::map<std::string, TemplateFunction>& templateFunctions();

}  // namespace slogate::helmtest
