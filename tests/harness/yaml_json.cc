#include "harness/yaml_json.h"

#include <yaml-cpp/yaml.h>

namespace slogate::harness {

Json yamlToJson(const YAML::Node& node) {
  if (node.IsMap()) {
    Json o = Json::object();
    for (const auto& kv : node) o.set(kv.first.Scalar(), yamlToJson(kv.second));
    return o;
  }
  if (node.IsSequence()) {
    Json a = Json::array();
    for (const auto& v : node) a.push(yamlToJson(v));
    return a;
  }
  if (!node.IsDefined() || node.IsNull()) return {};
  const std::string& s = node.Scalar();
  const bool plain = node.Tag() != "!";  // "!" marks a quoted scalar
  if (plain && (s == "true" || s == "false")) return Json::boolean(s == "true");
  if (plain && !s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    return Json::number(s);
  }
  return Json::string(s);
}

std::vector<Json> yamlFileToJson(const std::string& path) {
  std::vector<Json> out;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(path)) out.push_back(yamlToJson(doc));
  return out;
}

}  // namespace slogate::harness
