#include "helm/go_template_functions.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "helm/go_template.h"

namespace slogate::helmtest {
namespace {

std::string base64(const std::string& in) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += kTable[n & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double numeric(const Value& v, const std::string& fn) {
  switch (v.kind) {
    case Value::Kind::kInt:
      return static_cast<double>(v.integer);
    case Value::Kind::kFloat:
      return v.number;
    default:
      throw TemplateError(fn + ": not a number: " + display(v));
  }
}

std::int64_t toInt(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kInt:
      return v.integer;
    case Value::Kind::kFloat:
      return static_cast<std::int64_t>(v.number);
    case Value::Kind::kBool:
      return v.boolean ? 1 : 0;
    case Value::Kind::kString:
      try {
        return std::stoll(v.string);
      } catch (const std::exception&) {
        return 0;
      }
    default:
      return 0;
  }
}

int compare(const Value& a, const Value& b, const std::string& fn) {
  if (a.isString() && b.isString()) return a.string < b.string ? -1 : a.string > b.string ? 1 : 0;
  const double x = numeric(a, fn);
  const double y = numeric(b, fn);
  return x < y ? -1 : x > y ? 1 : 0;
}

std::string indentText(std::int64_t n, const std::string& s) {
  const std::string pad(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)), ' ');
  std::string out = pad;
  for (const char c : s) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

std::string printfGo(const std::vector<Value>& args) {
  if (args.empty() || !args[0].isString()) throw TemplateError("printf: needs a format");
  const std::string& f = args[0].string;
  std::string out;
  std::size_t next = 1;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%' || i + 1 >= f.size()) {
      out += f[i];
      continue;
    }
    const char verb = f[++i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size())
      throw TemplateError("printf: missing argument for %" + std::string(1, verb));
    const Value& a = args[next++];
    if (verb == 's' || verb == 'v') {
      out += display(a);
    } else if (verb == 'd') {
      out += std::to_string(toInt(a));
    } else if (verb == 'q') {
      out += goQuote(display(a));
    } else {
      throw TemplateError("printf: unsupported verb %" + std::string(1, verb));
    }
  }
  return out;
}

// A readable stand-in for a PEM certificate: what genCA/genSignedCert were asked.
Value fakeCert(const std::string& subject, const std::vector<std::string>& dnsNames,
               const std::string& issuer, std::int64_t days) {
  std::string dns;
  for (const auto& d : dnsNames) dns += (dns.empty() ? "" : ",") + d;
  std::map<std::string, Value> m;
  m["Cert"] = Value::of("-----BEGIN CERTIFICATE-----\nsubject=" + subject + " dns=" + dns +
                        " issuer=" + issuer + " days=" + std::to_string(days) +
                        "\n-----END CERTIFICATE-----\n");
  m["Key"] =
      Value::of("-----BEGIN PRIVATE KEY-----\nkey-of=" + subject + "\n-----END PRIVATE KEY-----\n");
  return Value::ofMap(std::move(m));
}

std::string subjectOf(const Value& cert) {
  const std::string& pem = cert.at("Cert").string;
  const auto s = pem.find("subject=");
  if (s == std::string::npos) return "";
  return pem.substr(s + 8, pem.find(' ', s) - s - 8);
}

void want(const std::vector<Value>& a, std::size_t n, const std::string& fn) {
  if (a.size() != n) {
    throw TemplateError(fn + ": wants " + std::to_string(n) + " arguments, got " +
                        std::to_string(a.size()));
  }
}

}  // namespace

const std::map<std::string, TemplateFunction>& templateFunctions() {
  static const std::map<std::string, TemplateFunction> kFns = {
      {"not",
       [](const auto& a) {
         want(a, 1, "not");
         return Value::of(!truthy(a[0]));
       }},
      {"and",
       [](const auto& a) {
         for (const auto& v : a) {
           if (!truthy(v)) return v;
         }
         return a.empty() ? Value::null() : a.back();
       }},
      {"or",
       [](const auto& a) {
         for (const auto& v : a) {
           if (truthy(v)) return v;
         }
         return a.empty() ? Value::null() : a.back();
       }},
      {"eq",
       [](const auto& a) {
         if (a.size() < 2) throw TemplateError("eq: wants 2 or more arguments");
         for (std::size_t i = 1; i < a.size(); ++i) {
           if (a[0] == a[i]) return Value::of(true);
         }
         return Value::of(false);
       }},
      {"ne",
       [](const auto& a) {
         want(a, 2, "ne");
         return Value::of(!(a[0] == a[1]));
       }},
      {"lt",
       [](const auto& a) {
         want(a, 2, "lt");
         return Value::of(compare(a[0], a[1], "lt") < 0);
       }},
      {"le",
       [](const auto& a) {
         want(a, 2, "le");
         return Value::of(compare(a[0], a[1], "le") <= 0);
       }},
      {"gt",
       [](const auto& a) {
         want(a, 2, "gt");
         return Value::of(compare(a[0], a[1], "gt") > 0);
       }},
      {"ge",
       [](const auto& a) {
         want(a, 2, "ge");
         return Value::of(compare(a[0], a[1], "ge") >= 0);
       }},
      {"len",
       [](const auto& a) {
         want(a, 1, "len");
         const Value& v = a[0];
         const std::size_t n = v.isString() ? v.string.size()
                               : v.isList() ? v.list.size()
                               : v.isMap()  ? v.map.size()
                                            : 0;
         return Value::of(static_cast<std::int64_t>(n));
       }},
      {"index",
       [](const auto& a) {
         if (a.empty()) throw TemplateError("index: wants arguments");
         Value v = a[0];
         for (std::size_t i = 1; i < a.size(); ++i) {
           if (v.isMap()) {
             Value next = v.at(display(a[i]));
             v = std::move(next);
           } else if (v.isList()) {
             const std::int64_t k = toInt(a[i]);
             if (k < 0 || static_cast<std::size_t>(k) >= v.list.size()) {
               throw TemplateError("index: out of range");
             }
             Value next = v.list[static_cast<std::size_t>(k)];
             v = std::move(next);
           } else {
             throw TemplateError("index: of " + display(v));
           }
         }
         return v;
       }},
      {"print",
       [](const auto& a) {
         std::string out;
         for (std::size_t i = 0; i < a.size(); ++i) {
           if (i > 0 && !a[i - 1].isString() && !a[i].isString()) out += ' ';
           out += display(a[i]);
         }
         return Value::of(out);
       }},
      {"printf", [](const auto& a) { return Value::of(printfGo(a)); }},
      {"default",
       [](const auto& a) {
         if (a.empty() || a.size() > 2) throw TemplateError("default: wants 1 or 2 arguments");
         return a.size() == 2 && truthy(a[1]) ? a[1] : a[0];
       }},
      {"empty",
       [](const auto& a) {
         want(a, 1, "empty");
         return Value::of(!truthy(a[0]));
       }},
      {"required",
       [](const auto& a) {
         want(a, 2, "required");
         if (a[1].isNull() || (a[1].isString() && a[1].string.empty())) {
           throw TemplateError("required: " + display(a[0]));
         }
         return a[1];
       }},
      {"fail",
       [](const auto& a) -> Value {
         throw TemplateError("fail: " + (a.empty() ? std::string() : display(a[0])));
       }},
      {"quote",
       [](const auto& a) {
         std::string out;
         for (const auto& v : a) {
           if (v.isNull()) continue;
           out += (out.empty() ? "" : " ") + goQuote(display(v));
         }
         return Value::of(out);
       }},
      {"squote",
       [](const auto& a) {
         std::string out;
         for (const auto& v : a) {
           if (v.isNull()) continue;
           out += (out.empty() ? "'" : " '") + display(v) + "'";
         }
         return Value::of(out);
       }},
      {"toString",
       [](const auto& a) {
         want(a, 1, "toString");
         return Value::of(display(a[0]));
       }},
      {"int",
       [](const auto& a) {
         want(a, 1, "int");
         return Value::of(toInt(a[0]));
       }},
      {"toYaml",
       [](const auto& a) {
         want(a, 1, "toYaml");
         return Value::of(toYaml(a[0]));
       }},
      {"fromYaml",
       [](const auto& a) {
         want(a, 1, "fromYaml");
         Value v = parseYaml(display(a[0]));
         return v.isNull() ? Value::ofMap({}) : v;
       }},
      {"fromYamlArray",
       [](const auto& a) {
         want(a, 1, "fromYamlArray");
         Value v = parseYaml(display(a[0]));
         if (!v.isList()) throw TemplateError("fromYamlArray: not a list");
         return v;
       }},
      {"indent",
       [](const auto& a) {
         want(a, 2, "indent");
         return Value::of(indentText(toInt(a[0]), display(a[1])));
       }},
      {"nindent",
       [](const auto& a) {
         want(a, 2, "nindent");
         return Value::of("\n" + indentText(toInt(a[0]), display(a[1])));
       }},
      {"trunc",
       [](const auto& a) {
         want(a, 2, "trunc");
         const std::string s = display(a[1]);
         const std::int64_t n = toInt(a[0]);
         if (n >= 0)
           return Value::of(
               s.substr(0, std::min<std::size_t>(s.size(), static_cast<std::size_t>(n))));
         const std::size_t k = static_cast<std::size_t>(-n);
         return Value::of(k >= s.size() ? s : s.substr(s.size() - k));
       }},
      {"trimSuffix",
       [](const auto& a) {
         want(a, 2, "trimSuffix");
         const std::string suf = display(a[0]);
         std::string s = display(a[1]);
         if (s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) {
           s.erase(s.size() - suf.size());
         }
         return Value::of(s);
       }},
      {"trimPrefix",
       [](const auto& a) {
         want(a, 2, "trimPrefix");
         const std::string pre = display(a[0]);
         std::string s = display(a[1]);
         if (s.rfind(pre, 0) == 0) s.erase(0, pre.size());
         return Value::of(s);
       }},
      {"contains",
       [](const auto& a) {
         want(a, 2, "contains");
         return Value::of(display(a[1]).find(display(a[0])) != std::string::npos);
       }},
      {"hasPrefix",
       [](const auto& a) {
         want(a, 2, "hasPrefix");
         return Value::of(display(a[1]).rfind(display(a[0]), 0) == 0);
       }},
      {"replace",
       [](const auto& a) {
         want(a, 3, "replace");
         const std::string from = display(a[0]);
         const std::string to = display(a[1]);
         std::string s = display(a[2]);
         if (from.empty()) return Value::of(s);
         for (std::size_t p = s.find(from); p != std::string::npos;
              p = s.find(from, p + to.size())) {
           s.replace(p, from.size(), to);
         }
         return Value::of(s);
       }},
      {"list", [](const auto& a) { return Value::ofList(a); }},
      {"dict",
       [](const auto& a) {
         if (a.size() % 2 != 0) throw TemplateError("dict: wants key/value pairs");
         std::map<std::string, Value> m;
         for (std::size_t i = 0; i < a.size(); i += 2) m[display(a[i])] = a[i + 1];
         return Value::ofMap(std::move(m));
       }},
      {"hasKey",
       [](const auto& a) {
         want(a, 2, "hasKey");
         return Value::of(a[0].has(display(a[1])));
       }},
      {"get",
       [](const auto& a) {
         want(a, 2, "get");
         return a[0].at(display(a[1]));
       }},
      {"concat",
       [](const auto& a) {
         std::vector<Value> out;
         for (const auto& l : a) {
           if (l.isNull()) continue;
           if (!l.isList()) throw TemplateError("concat: not a list: " + display(l));
           out.insert(out.end(), l.list.begin(), l.list.end());
         }
         return Value::ofList(std::move(out));
       }},
      {"uniq",
       [](const auto& a) {
         want(a, 1, "uniq");
         std::vector<Value> out;
         for (const auto& v : a[0].list) {
           if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
         }
         return Value::ofList(std::move(out));
       }},
      {"base",
       [](const auto& a) {
         want(a, 1, "base");
         const std::string s = display(a[0]);
         const auto slash = s.rfind('/');
         return Value::of(slash == std::string::npos ? s : s.substr(slash + 1));
       }},
      {"b64enc",
       [](const auto& a) {
         want(a, 1, "b64enc");
         return Value::of(base64(display(a[0])));
       }},
      {"sha256sum",
       [](const auto& a) {
         // Stand-in digest (FNV-1a): deterministic, 64 hex digits, not SHA-256.
         want(a, 1, "sha256sum");
         std::uint64_t h = 1469598103934665603ULL;
         for (const char c : display(a[0])) {
           h ^= static_cast<unsigned char>(c);
           h *= 1099511628211ULL;
         }
         char buf[17];
         std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
         return Value::of(std::string(buf) + buf + buf + buf);
       }},
      {"genCA",
       [](const auto& a) {
         want(a, 2, "genCA");
         return fakeCert(display(a[0]), {}, display(a[0]), toInt(a[1]));
       }},
      {"genSignedCert",
       [](const auto& a) {
         want(a, 5, "genSignedCert");
         std::vector<std::string> dns;
         for (const auto& d : a[2].list) dns.push_back(display(d));
         return fakeCert(display(a[0]), dns, subjectOf(a[4]), toInt(a[3]));
       }},
  };
  return kFns;
}

}  // namespace slogate::helmtest
