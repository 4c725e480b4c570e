#include "fakes/json_patch.h"

#include <cstddef>
#include <functional>
#include <utility>

namespace slogate::fakes {

namespace {

Json arrayOf(const std::vector<Json>& items) {
  Json out = Json::array();
  for (const Json& item : items) out.push(item);
  return out;
}

// An array index token: digits without a leading zero; nullopt otherwise.
std::optional<std::size_t> arrayIndex(const std::string& token) {
  if (token.empty() || token.size() > 9) return std::nullopt;
  if (token.size() > 1 && token[0] == '0') return std::nullopt;
  std::size_t value = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

// Rebuilds `node` with the parent of the pointer's last token replaced by
// edit(parent, lastToken). Fails when an intermediate value is missing.
using ParentEdit = std::function<Result<Json>(const Json& parent, const std::string& last)>;

Result<Json> editParent(const Json& node, const std::vector<std::string>& tokens, std::size_t i,
                        const ParentEdit& edit) {
  if (i + 1 == tokens.size()) return edit(node, tokens[i]);
  const std::string& token = tokens[i];
  if (node.isObject()) {
    if (!node.has(token)) return invalidArgument("path component \"" + token + "\" not found");
    Result<Json> child = editParent(node[token], tokens, i + 1, edit);
    if (!child) return child;
    Json out = node;
    out.set(token, std::move(*child));
    return out;
  }
  if (node.isArray()) {
    const std::optional<std::size_t> index = arrayIndex(token);
    if (!index || *index >= node.items().size()) {
      return invalidArgument("array index \"" + token + "\" out of range");
    }
    Result<Json> child = editParent(node.items()[*index], tokens, i + 1, edit);
    if (!child) return child;
    std::vector<Json> items = node.items();
    items[*index] = std::move(*child);
    return arrayOf(items);
  }
  return invalidArgument("path component \"" + token + "\" is inside a scalar");
}

Result<Json> addAt(const Json& document, const std::vector<std::string>& tokens,
                   const Json& value) {
  if (tokens.empty()) return value;
  return editParent(document, tokens, 0,
                    [&](const Json& parent, const std::string& last) -> Result<Json> {
                      if (parent.isObject()) {
                        Json out = parent;
                        out.set(last, value);
                        return out;
                      }
                      if (parent.isArray()) {
                        std::vector<Json> items = parent.items();
                        std::size_t index = items.size();
                        if (last != "-") {
                          const std::optional<std::size_t> parsed = arrayIndex(last);
                          if (!parsed || *parsed > items.size()) {
                            return invalidArgument("array index \"" + last + "\" out of range");
                          }
                          index = *parsed;
                        }
                        items.insert(items.begin() + static_cast<std::ptrdiff_t>(index), value);
                        return arrayOf(items);
                      }
                      return invalidArgument("cannot add a member to a scalar");
                    });
}

Result<Json> removeAt(const Json& document, const std::vector<std::string>& tokens) {
  if (tokens.empty()) return invalidArgument("cannot remove the whole document");
  return editParent(document, tokens, 0,
                    [&](const Json& parent, const std::string& last) -> Result<Json> {
                      if (parent.isObject()) {
                        if (!parent.has(last)) {
                          return invalidArgument("member \"" + last + "\" not found");
                        }
                        return withoutMember(parent, last);
                      }
                      if (parent.isArray()) {
                        const std::optional<std::size_t> index = arrayIndex(last);
                        if (!index || *index >= parent.items().size()) {
                          return invalidArgument("array index \"" + last + "\" out of range");
                        }
                        std::vector<Json> items = parent.items();
                        items.erase(items.begin() + static_cast<std::ptrdiff_t>(*index));
                        return arrayOf(items);
                      }
                      return invalidArgument("cannot remove a member of a scalar");
                    });
}

Result<Json> replaceAt(const Json& document, const std::vector<std::string>& tokens,
                       const Json& value) {
  if (tokens.empty()) return value;
  return editParent(document, tokens, 0,
                    [&](const Json& parent, const std::string& last) -> Result<Json> {
                      if (parent.isObject()) {
                        if (!parent.has(last)) {
                          return invalidArgument("member \"" + last + "\" not found");
                        }
                        Json out = parent;
                        out.set(last, value);
                        return out;
                      }
                      if (parent.isArray()) {
                        const std::optional<std::size_t> index = arrayIndex(last);
                        if (!index || *index >= parent.items().size()) {
                          return invalidArgument("array index \"" + last + "\" out of range");
                        }
                        std::vector<Json> items = parent.items();
                        items[*index] = value;
                        return arrayOf(items);
                      }
                      return invalidArgument("cannot replace a member of a scalar");
                    });
}

bool isPrefix(const std::vector<std::string>& prefix, const std::vector<std::string>& path) {
  if (prefix.size() >= path.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != path[i]) return false;
  }
  return true;
}

Result<Json> applyOperation(const Json& document, const Json& op) {
  if (!op.isObject()) return invalidArgument("operation is not an object");
  const std::string& name = op["op"].text();
  if (!op["path"].isString()) return invalidArgument("missing \"path\"");
  const std::optional<std::vector<std::string>> path = parseJsonPointer(op["path"].text());
  if (!path) return invalidArgument("bad JSON pointer \"" + op["path"].text() + "\"");
  if (name == "add" || name == "replace" || name == "test") {
    if (!op.has("value")) return invalidArgument("missing \"value\"");
  }
  if (name == "add") return addAt(document, *path, op["value"]);
  if (name == "remove") return removeAt(document, *path);
  if (name == "replace") return replaceAt(document, *path, op["value"]);
  if (name == "test") {
    const Json* actual = findAt(document, *path);
    if (actual == nullptr) return invalidArgument("test: path not found");
    if (!jsonEqual(*actual, op["value"])) {
      return invalidArgument("test: value " + actual->dump() + " is not " + op["value"].dump());
    }
    return document;
  }
  if (name == "move" || name == "copy") {
    if (!op["from"].isString()) return invalidArgument("missing \"from\"");
    const std::optional<std::vector<std::string>> from = parseJsonPointer(op["from"].text());
    if (!from) return invalidArgument("bad JSON pointer \"" + op["from"].text() + "\"");
    const Json* value = findAt(document, *from);
    if (value == nullptr) return invalidArgument("\"from\" path not found");
    const Json copy = *value;
    if (name == "copy") return addAt(document, *path, copy);
    if (*from == *path) return document;
    if (isPrefix(*from, *path)) return invalidArgument("cannot move a value into itself");
    Result<Json> removed = removeAt(document, *from);
    if (!removed) return removed;
    return addAt(*removed, *path, copy);
  }
  return invalidArgument("unknown op \"" + name + "\"");
}

}  // namespace

bool jsonEqual(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::Type::kNull:
      return true;
    case Json::Type::kBool:
      return a.boolValue() == b.boolValue();
    case Json::Type::kNumber: {
      if (a.text() == b.text()) return true;
      const std::optional<double> x = a.asDouble();
      const std::optional<double> y = b.asDouble();
      return x && y && *x == *y;
    }
    case Json::Type::kString:
      return a.text() == b.text();
    case Json::Type::kArray: {
      if (a.items().size() != b.items().size()) return false;
      for (std::size_t i = 0; i < a.items().size(); ++i) {
        if (!jsonEqual(a.items()[i], b.items()[i])) return false;
      }
      return true;
    }
    case Json::Type::kObject: {
      if (a.members().size() != b.members().size()) return false;
      for (const auto& [key, value] : a.members()) {
        if (!b.has(key) || !jsonEqual(value, b[key])) return false;
      }
      return true;
    }
  }
  return false;
}

Json withoutMember(const Json& object, std::string_view key) {
  if (!object.isObject() || !object.has(key)) return object;
  Json out = Json::object();
  for (const auto& [name, value] : object.members()) {
    if (name != key) out.set(name, value);
  }
  return out;
}

Json mergePatch(const Json& target, const Json& patch) {
  if (!patch.isObject()) return patch;
  Json out = target.isObject() ? target : Json::object();
  for (const auto& [key, value] : patch.members()) {
    if (value.isNull()) {
      out = withoutMember(out, key);
    } else {
      out.set(key, mergePatch(out[key], value));
    }
  }
  return out;
}

Result<Json> jsonPatch(const Json& document, const Json& operations) {
  if (!operations.isArray()) return invalidArgument("a JSON patch must be an array of operations");
  Json current = document;
  for (std::size_t i = 0; i < operations.items().size(); ++i) {
    const Json& op = operations.items()[i];
    Result<Json> next = applyOperation(current, op);
    if (!next) {
      return invalidArgument("operation " + std::to_string(i) + " (" + op["op"].text() + " " +
                             op["path"].text() + "): " + next.status().message());
    }
    current = std::move(*next);
  }
  return current;
}

std::optional<std::vector<std::string>> parseJsonPointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') return std::nullopt;
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 >= pointer.size()) return std::nullopt;
      const char next = pointer[++i];
      if (next == '0') {
        token += '~';
      } else if (next == '1') {
        token += '/';
      } else {
        return std::nullopt;
      }
      continue;
    }
    token += pointer[i];
  }
  return tokens;
}

const Json* findAt(const Json& document, const std::vector<std::string>& tokens) {
  const Json* node = &document;
  for (const std::string& token : tokens) {
    if (node->isObject()) {
      if (!node->has(token)) return nullptr;
      node = &(*node)[token];
    } else if (node->isArray()) {
      const std::optional<std::size_t> index = arrayIndex(token);
      if (!index || *index >= node->items().size()) return nullptr;
      node = &node->items()[*index];
    } else {
      return nullptr;
    }
  }
  return node;
}

}  // namespace slogate::fakes
