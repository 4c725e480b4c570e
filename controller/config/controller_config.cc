#include "config/controller_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace slogate::config {
namespace {

std::string where(const std::string& file, const YAML::Node& n) {
  if (n.IsDefined() && n.Mark().line >= 0) return file + ":" + std::to_string(n.Mark().line + 1);
  return file;
}

Status fail(const std::string& file, const YAML::Node& n, const std::string& field,
            const std::string& what) {
  return invalidArgument(where(file, n) + ": " + field + ": " + what);
}

Status checkKeys(const std::string& file, const YAML::Node& n, const std::string& field,
                 std::initializer_list<std::string_view> allowed) {
  if (!n.IsMap()) return fail(file, n, field.empty() ? "config" : field, "must be a mapping");
  std::set<std::string> seen;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string path = field.empty() ? key : field + "." + key;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return fail(file, kv.first, path, "unknown field");
    }
    if (!seen.insert(key).second) return fail(file, kv.first, path, "duplicate field");
  }
  return Status::ok();
}

Status str(const std::string& file, const YAML::Node& n, const std::string& field,
           std::string& out) {
  if (!n.IsDefined()) return Status::ok();
  if (!n.IsScalar()) return fail(file, n, field, "must be a string");
  out = n.Scalar();
  return Status::ok();
}

Status boolean(const std::string& file, const YAML::Node& n, const std::string& field, bool& out) {
  if (!n.IsDefined()) return Status::ok();
  if (!n.IsScalar() || (n.Scalar() != "true" && n.Scalar() != "false")) {
    return fail(file, n, field,
                "\"" + (n.IsScalar() ? n.Scalar() : "") + "\" is not true or false");
  }
  out = n.Scalar() == "true";
  return Status::ok();
}

// A plain decimal integer in [min, max]; absent leaves `out` as it is.
Status wholeNumber(const std::string& file, const YAML::Node& n, const std::string& field, int min,
                   int max, int& out) {
  if (!n.IsDefined()) return Status::ok();
  const std::string v = n.IsScalar() ? n.Scalar() : "";
  const bool digits =
      !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(v) < min || std::stoi(v) > max) {
    return fail(file, n, field,
                "\"" + v + "\" is not a whole number from " + std::to_string(min) + " to " +
                    std::to_string(max));
  }
  out = std::stoi(v);
  return Status::ok();
}

Status seconds(const std::string& file, const YAML::Node& n, const std::string& field, int& out) {
  if (!n.IsDefined()) return Status::ok();
  if (!n.IsScalar()) return fail(file, n, field, "must be a duration such as 15s");
  auto s = parseSeconds(n.Scalar());
  if (!s) return fail(file, n, field, "\"" + n.Scalar() + "\": " + s.status().message());
  out = *s;
  return Status::ok();
}

std::string readAll(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string decodeBase64(const std::string& in, bool& ok) {
  static const std::string kTable =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  ok = true;
  for (const char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    const auto p = kTable.find(c);
    if (p == std::string::npos) {
      ok = false;
      return "";
    }
    buf = (buf << 6) | static_cast<unsigned>(p);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

Result<int> parseSeconds(const std::string& text) {
  if (text.empty()) return invalidArgument("empty duration");
  long long total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    long long n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i++] - '0');
      if (n > 1'000'000) return invalidArgument("too long");
    }
    if (i == start || i == text.size())
      return invalidArgument("expected a number and a unit (s, m, h)");
    const char unit = text[i++];
    total += unit == 's' ? n : unit == 'm' ? n * 60 : unit == 'h' ? n * 3600 : -1'000'000'000;
    if (total < 0) return invalidArgument(std::string("unknown unit '") + unit + "' (use s, m, h)");
  }
  if (total <= 0 || total > 86'400) return invalidArgument("must be above 0s and at most 24h");
  return static_cast<int>(total);
}

Result<ControllerConfig> parseControllerConfig(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalidArgument(file + ":" + std::to_string(e.mark.line + 1) +
                           ": not valid YAML: " + e.msg);
  }
  ControllerConfig c;
  try {
    if (root.IsNull()) return c;
    Status st = checkKeys(file, root, "",
                          {"kubernetes", "namespace", "prometheus", "tick", "evaluationDelay",
                           "staleData", "workers", "leaderElection", "server"});
    if (!st.isOk()) return st;
    if (const YAML::Node k = root["kubernetes"]; k.IsDefined()) {
      if (!(st = checkKeys(file, k, "kubernetes", {"kubeconfig", "context"})).isOk()) return st;
      if (!(st = str(file, k["kubeconfig"], "kubernetes.kubeconfig", c.kubernetes.kubeconfig))
               .isOk())
        return st;
      if (!(st = str(file, k["context"], "kubernetes.context", c.kubernetes.context)).isOk())
        return st;
    }
    if (!(st = str(file, root["namespace"], "namespace", c.ns)).isOk()) return st;
    const YAML::Node p = root["prometheus"];
    if (!p.IsDefined()) return fail(file, root, "prometheus.url", "required");
    if (!(st = checkKeys(file, p, "prometheus",
                         {"url", "bearerTokenFile", "basicAuth", "headers", "caFile",
                          "insecureSkipVerify", "timeout"}))
             .isOk()) {
      return st;
    }
    if (!(st = str(file, p["url"], "prometheus.url", c.prometheus.url)).isOk()) return st;
    if (c.prometheus.url.rfind("http://", 0) != 0 && c.prometheus.url.rfind("https://", 0) != 0) {
      return fail(file, p["url"].IsDefined() ? p["url"] : p, "prometheus.url",
                  "\"" + c.prometheus.url + "\" is not an http:// or https:// URL");
    }
    if (!(st = str(file, p["bearerTokenFile"], "prometheus.bearerTokenFile",
                   c.prometheus.bearerTokenFile))
             .isOk())
      return st;
    if (const YAML::Node b = p["basicAuth"]; b.IsDefined()) {
      if (!(st = checkKeys(file, b, "prometheus.basicAuth", {"user", "passwordFile"})).isOk())
        return st;
      if (!(st = str(file, b["user"], "prometheus.basicAuth.user", c.prometheus.basicUser)).isOk())
        return st;
      if (!(st = str(file, b["passwordFile"], "prometheus.basicAuth.passwordFile",
                     c.prometheus.basicPasswordFile))
               .isOk())
        return st;
    }
    if (const YAML::Node h = p["headers"]; h.IsDefined()) {
      if (!h.IsMap())
        return fail(file, h, "prometheus.headers", "must be a mapping of name: value");
      for (const auto& kv : h)
        c.prometheus.headers.emplace_back(kv.first.Scalar(), kv.second.Scalar());
    }
    if (!(st = str(file, p["caFile"], "prometheus.caFile", c.prometheus.caFile)).isOk()) return st;
    if (!(st = boolean(file, p["insecureSkipVerify"], "prometheus.insecureSkipVerify",
                       c.prometheus.insecureSkipVerify))
             .isOk())
      return st;
    if (!(st = seconds(file, p["timeout"], "prometheus.timeout", c.prometheus.timeoutSeconds))
             .isOk())
      return st;
    if (!(st = seconds(file, root["tick"], "tick", c.tickSeconds)).isOk()) return st;
    if (!(st = seconds(file, root["evaluationDelay"], "evaluationDelay", c.evaluationDelaySeconds))
             .isOk())
      return st;
    if (!(st = seconds(file, root["staleData"], "staleData", c.staleDataSeconds)).isOk()) return st;
    if (!(st = wholeNumber(file, root["workers"], "workers", 1, 999, c.workers)).isOk()) return st;
    if (const YAML::Node l = root["leaderElection"]; l.IsDefined()) {
      if (!(st = checkKeys(file, l, "leaderElection",
                           {"enabled", "namespace", "name", "identity", "leaseDuration",
                            "renewDeadline", "retryPeriod"}))
               .isOk()) {
        return st;
      }
      auto& le = c.leaderElection;
      if (!(st = boolean(file, l["enabled"], "leaderElection.enabled", le.enabled)).isOk())
        return st;
      if (!(st = str(file, l["namespace"], "leaderElection.namespace", le.ns)).isOk()) return st;
      if (!(st = str(file, l["name"], "leaderElection.name", le.name)).isOk()) return st;
      if (!(st = str(file, l["identity"], "leaderElection.identity", le.identity)).isOk())
        return st;
      if (!(st = seconds(file, l["leaseDuration"], "leaderElection.leaseDuration", le.leaseSeconds))
               .isOk())
        return st;
      if (!(st = seconds(file, l["renewDeadline"], "leaderElection.renewDeadline", le.renewSeconds))
               .isOk())
        return st;
      if (!(st = seconds(file, l["retryPeriod"], "leaderElection.retryPeriod", le.retrySeconds))
               .isOk())
        return st;
      if (!(le.retrySeconds < le.renewSeconds && le.renewSeconds < le.leaseSeconds)) {
        return fail(file, l, "leaderElection",
                    "retryPeriod < renewDeadline < leaseDuration is required (got " +
                        std::to_string(le.retrySeconds) + "s, " + std::to_string(le.renewSeconds) +
                        "s, " + std::to_string(le.leaseSeconds) + "s)");
      }
    }
    if (const YAML::Node s = root["server"]; s.IsDefined()) {
      if (!(st = checkKeys(
                file, s, "server",
                {"listen", "certFile", "keyFile", "metricsListen", "idlePollMicroseconds"}))
               .isOk())
        return st;
      if (!(st = str(file, s["listen"], "server.listen", c.server.listen)).isOk()) return st;
      if (!(st = str(file, s["certFile"], "server.certFile", c.server.certFile)).isOk()) return st;
      if (!(st = str(file, s["keyFile"], "server.keyFile", c.server.keyFile)).isOk()) return st;
      if (!(st = str(file, s["metricsListen"], "server.metricsListen", c.server.metricsListen))
               .isOk())
        return st;
      if (!(st = wholeNumber(file, s["idlePollMicroseconds"], "server.idlePollMicroseconds", 0,
                             1'000'000, c.server.idlePollMicroseconds))
               .isOk())
        return st;
    }
  } catch (const YAML::Exception& e) {
    return invalidArgument(file + ": cannot be read: " + e.what());
  }
  return c;
}

Result<ControllerConfig> loadControllerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalidArgument(path + ": cannot open");
  return parseControllerConfig(readAll(in), path);
}

Result<KubeconfigContext> loadKubeconfig(const std::string& path, const std::string& context) {
  std::ifstream in(path);
  if (!in) return invalidArgument(path + ": cannot open the kubeconfig");
  const std::string dir =
      path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  const auto resolve = [&](const std::string& p) {
    return p.empty() || p[0] == '/' ? p : dir + "/" + p;
  };
  try {
    const YAML::Node root = YAML::Load(readAll(in));
    const std::string name =
        context.empty() ? root["current-context"].as<std::string>("") : context;
    if (name.empty()) return invalidArgument(path + ": no context given and no current-context");
    YAML::Node ctx;
    bool found = false;
    for (const auto& c : root["contexts"]) {
      if (c["name"].as<std::string>("") == name) {
        ctx.reset(c["context"]);
        found = true;
      }
    }
    if (!found || !ctx.IsMap())
      return invalidArgument(path + ": context \"" + name + "\" not found");
    KubeconfigContext out;
    out.ns = ctx["namespace"].as<std::string>("default");
    const std::string clusterName = ctx["cluster"].as<std::string>("");
    const std::string userName = ctx["user"].as<std::string>("");
    bool foundCluster = false;
    for (const auto& c : root["clusters"]) {
      if (c["name"].as<std::string>("") != clusterName) continue;
      foundCluster = true;
      const YAML::Node cl = c["cluster"];
      out.server = cl["server"].as<std::string>("");
      out.caFile = resolve(cl["certificate-authority"].as<std::string>(""));
      out.insecureSkipVerify = cl["insecure-skip-tls-verify"].as<bool>(false);
      if (const std::string data = cl["certificate-authority-data"].as<std::string>("");
          !data.empty()) {
        bool ok = false;
        out.caData = decodeBase64(data, ok);
        if (!ok)
          return invalidArgument(path + ": cluster \"" + clusterName +
                                 "\": certificate-authority-data is not base64");
      }
    }
    if (!foundCluster) return invalidArgument(path + ": cluster \"" + clusterName + "\" not found");
    if (out.server.empty())
      return invalidArgument(path + ": cluster \"" + clusterName + "\" has no server");
    for (const auto& u : root["users"]) {
      if (u["name"].as<std::string>("") != userName) continue;
      const YAML::Node us = u["user"];
      out.token = us["token"].as<std::string>("");
      out.tokenFile = resolve(us["tokenFile"].as<std::string>(""));
      out.clientCertFile = resolve(us["client-certificate"].as<std::string>(""));
      out.clientKeyFile = resolve(us["client-key"].as<std::string>(""));
      bool ok = true;
      if (const std::string d = us["client-certificate-data"].as<std::string>(""); !d.empty())
        out.clientCertData = decodeBase64(d, ok);
      if (const std::string d = us["client-key-data"].as<std::string>(""); !d.empty() && ok)
        out.clientKeyData = decodeBase64(d, ok);
      if (!ok)
        return invalidArgument(path + ": user \"" + userName + "\": client data is not base64");
      if (us["exec"].IsDefined() || us["auth-provider"].IsDefined()) {
        return invalidArgument(path + ": user \"" + userName +
                               "\": exec and auth-provider credentials are not supported; use a "
                               "token or client certificate");
      }
    }
    return out;
  } catch (const YAML::Exception& e) {
    return invalidArgument(path + ": not a valid kubeconfig: " + e.what());
  }
}

}  // namespace slogate::config
