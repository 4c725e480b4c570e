#include "helm/chart.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "helm/go_template.h"

namespace slogate::helmtest {
namespace {

namespace fs = std::filesystem;

// Glob of Helm's .Files.Glob for the patterns the chart uses: `*` matches
// within one path segment, `?` one character.
bool globMatch(const char* pattern, const char* path) {
  if (*pattern == '\0') return *path == '\0';
  if (*pattern == '*') {
    for (const char* p = path;; ++p) {
      if (globMatch(pattern + 1, p)) return true;
      if (*p == '\0' || *p == '/') return false;
    }
  }
  if (*path == '\0') return false;
  if (*pattern == '?' ? *path != '/' : *pattern == *path) return globMatch(pattern + 1, path + 1);
  return false;
}

// Chart.yaml's keys as .Chart exposes them (Name, Version, AppVersion, …).
Value chartObject(const Value& metadata) {
  std::map<std::string, Value> out;
  for (const auto& [k, v] : metadata.map) {
    std::string key = k;
    if (!key.empty()) key[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(key[0])));
    out[key] = v;
  }
  return Value::ofMap(std::move(out));
}

}  // namespace

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Chart Chart::load(const std::string& dir) {
  Chart c;
  c.dir_ = dir;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), dir).generic_string();
    const std::string text = readFile(entry.path().string());
    if (rel.rfind("templates/", 0) == 0) {
      c.templates_[rel] = text;
    } else {
      c.files_[rel] = text;
    }
  }
  c.metadata_ = parseYaml(readFile(dir + "/Chart.yaml"));
  c.defaults_ = parseYaml(readFile(dir + "/values.yaml"));
  return c;
}

Rendered Chart::render(const Value& values, const Release& release) const {
  Rendered out;
  out.values = mergeValues(defaults_, values);
  const std::string chartName = metadata_.at("name").string;

  TemplateSet set;
  const auto files = files_;
  set.setHostFunction("Files.Get", [files](const std::vector<Value>& a) {
    if (a.size() != 1) throw TemplateError(".Files.Get: wants a path");
    const auto it = files.find(display(a[0]));
    return Value::of(it == files.end() ? std::string() : it->second);
  });
  set.setHostFunction("Files.Glob", [files](const std::vector<Value>& a) {
    if (a.size() != 1) throw TemplateError(".Files.Glob: wants a pattern");
    std::map<std::string, Value> matched;
    const std::string pattern = display(a[0]);
    for (const auto& [path, content] : files) {
      if (globMatch(pattern.c_str(), path.c_str())) matched[path] = Value::of(content);
    }
    return Value::ofMap(std::move(matched));
  });
  // Offline there is no cluster: lookup finds nothing, as in `helm template`.
  set.setHostFunction("lookup", [](const std::vector<Value>& a) {
    if (a.size() != 4) throw TemplateError("lookup: wants apiVersion, kind, namespace, name");
    return Value::ofMap({});
  });
  for (const auto& [path, text] : templates_) set.add(chartName + "/" + path, text);

  std::map<std::string, Value> rel;
  rel["Name"] = Value::of(release.name);
  rel["Namespace"] = Value::of(release.ns);
  rel["Service"] = Value::of("Helm");
  rel["IsInstall"] = Value::of(true);
  rel["IsUpgrade"] = Value::of(false);
  rel["Revision"] = Value::of(std::int64_t{1});

  for (const auto& [path, text] : templates_) {
    const std::string file = path.substr(path.rfind('/') + 1);
    if (file.rfind('_', 0) == 0) continue;
    std::map<std::string, Value> root;
    root["Values"] = out.values;
    root["Release"] = Value::ofMap(rel);
    root["Chart"] = chartObject(metadata_);
    root["Template"] = Value::ofMap({{"Name", Value::of(chartName + "/" + path)},
                                     {"BasePath", Value::of(chartName + "/templates")}});
    root["Capabilities"] = Value::ofMap({});
    const std::string rendered = set.execute(chartName + "/" + path, Value::ofMap(std::move(root)));
    out.outputs[path] = rendered;
    if (file == "NOTES.txt") {
      out.notes = rendered;
      continue;
    }
    try {
      for (Value& doc : parseYamlAll(rendered)) out.manifests.push_back({path, std::move(doc)});
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(path + ": rendered output is not YAML: " + e.what() + "\n" +
                               rendered);
    }
  }
  return out;
}

}  // namespace slogate::helmtest
