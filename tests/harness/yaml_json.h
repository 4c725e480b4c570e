// yaml_json.h — YAML → Json for test fixtures, the way the API server
// serializes an object that kubectl sent: maps and sequences as such, plain
// `true`/`false` as booleans, plain unsigned integers as numbers, null as
// null, every other scalar (and anything quoted) as a string.
//
// Only the declaration of YAML::Node is needed here: yaml-cpp's headers stay
// in yaml_json.cc.
#pragma once

#include <string>
#include <vector>

#include "base/json.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace slogate::harness {

Json yamlToJson(const YAML::Node& node);

// Every document of a YAML file; throws YAML::Exception when it cannot be read.
std::vector<Json> yamlFileToJson(const std::string& path);

}  // namespace slogate::harness
