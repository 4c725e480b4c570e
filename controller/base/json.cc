#include "base/json.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>

#include "base/json_writer.h"

namespace slogate {

class JsonParser {
 public:
  JsonParser(std::string_view text, int maxDepth) : s_(text), maxDepth_(maxDepth) {}

  Result<Json> run() {
    Json out;
    skipWs();
    if (!value(out, 0)) return invalidArgument(error_);
    skipWs();
    if (pos_ != s_.size()) return invalidArgument(at("unexpected text after the JSON value"));
    return out;
  }

 private:
  std::string at(const std::string& what) const {
    return "invalid JSON at byte " + std::to_string(pos_) + ": " + what;
  }
  bool fail(const std::string& what) {
    if (error_.empty()) error_ = at(what);
    return false;
  }
  void skipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("unknown literal");
    pos_ += word.size();
    return true;
  }

  bool value(Json& out, int depth) {
    if (pos_ >= s_.size()) return fail("unexpected end of input");
    switch (s_[pos_]) {
      case '{':
        return object(out, depth + 1);
      case '[':
        return array(out, depth + 1);
      case '"':
        out.type_ = Json::Type::kString;
        return string(out.text_);
      case 't':
        out.type_ = Json::Type::kBool;
        out.bool_ = true;
        return literal("true");
      case 'f':
        out.type_ = Json::Type::kBool;
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(out);
    }
  }

  bool object(Json& out, int depth) {
    if (depth > maxDepth_) return fail("nested deeper than " + std::to_string(maxDepth_));
    out.type_ = Json::Type::kObject;
    ++pos_;
    skipWs();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skipWs();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a string key");
      std::string key;
      if (!string(key)) return false;
      skipWs();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skipWs();
      Json v;
      if (!value(v, depth)) return false;
      out.members_.emplace_back(std::move(key), std::move(v));
      skipWs();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(Json& out, int depth) {
    if (depth > maxDepth_) return fail("nested deeper than " + std::to_string(maxDepth_));
    out.type_ = Json::Type::kArray;
    ++pos_;
    skipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      skipWs();
      Json v;
      if (!value(v, depth)) return false;
      out.items_.push_back(std::move(v));
      skipWs();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(unsigned& cp) {
    if (pos_ + 4 > s_.size()) return fail("short \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9') {
        cp |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        cp |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        cp |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return fail("bad hex digit in \\u escape");
      }
    }
    return true;
  }

  static void appendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  static bool plain(char c) {
    return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      // Copy the run of bytes that need no decoding in one append: one
      // character at a time was the admission webhook's largest cost.
      const std::size_t run = pos_;
      while (pos_ < s_.size() && plain(s_[pos_])) ++pos_;
      out.append(s_.data() + run, pos_ - run);
      if (pos_ >= s_.size()) return fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') return fail("control character in string");
      if (pos_ >= s_.size()) return fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo = 0;
            if (s_.substr(pos_, 2) != "\\u") return fail("lone high surrogate");
            pos_ += 2;
            if (!hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("lone low surrogate");
          }
          appendUtf8(out, cp);
          break;
        }
        default:
          return fail("unknown escape");
      }
    }
  }

  bool number(Json& out) {
    const std::size_t start = pos_;
    const auto digit = [&] { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (!digit()) return fail("expected a value");
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (digit()) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digit()) return fail("expected a digit after '.'");
      while (digit()) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digit()) return fail("expected a digit in the exponent");
      while (digit()) ++pos_;
    }
    out.type_ = Json::Type::kNumber;
    out.text_ = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  std::string_view s_;
  int maxDepth_;
  std::size_t pos_ = 0;
  std::string error_;
};

Result<Json> Json::parse(std::string_view text, int maxDepth) {
  return JsonParser(text, maxDepth).run();
}

Json Json::string(std::string s) {
  Json j;
  j.type_ = Type::kString;
  j.text_ = std::move(s);
  return j;
}
Json Json::number(std::string literal) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = std::move(literal);
  return j;
}
Json Json::boolean(bool b) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = b;
  return j;
}
Json Json::array() {
  Json j;
  j.type_ = Type::kArray;
  return j;
}
Json Json::object() {
  Json j;
  j.type_ = Type::kObject;
  return j;
}

std::optional<std::int64_t> Json::asInt() const {
  if (type_ != Type::kNumber) return std::nullopt;
  std::int64_t v = 0;
  const char* end = text_.data() + text_.size();
  const auto r = std::from_chars(text_.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

std::optional<double> Json::asDouble() const {
  if (type_ != Type::kNumber) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text_.c_str(), &end);
  if (end != text_.c_str() + text_.size()) return std::nullopt;
  return v;
}

const Json& Json::operator[](std::string_view key) const {
  static const Json kNull;
  for (const auto& [k, v] : members_) {
    if (k == key) return v;
  }
  return kNull;
}

const Json& Json::operator[](std::size_t i) const {
  static const Json kNull;
  return i < items_.size() ? items_[i] : kNull;
}

bool Json::has(std::string_view key) const {
  for (const auto& m : members_) {
    if (m.first == key) return true;
  }
  return false;
}

void Json::push(Json value) {
  type_ = Type::kArray;
  items_.push_back(std::move(value));
}

void Json::set(std::string key, Json value) {
  type_ = Type::kObject;
  for (auto& m : members_) {
    if (m.first == key) {
      m.second = std::move(value);
      return;
    }
  }
  members_.emplace_back(std::move(key), std::move(value));
}

namespace {

using Member = std::pair<std::string, Json>;

// The members sorted by key, a repeated key kept once (its first value).
std::vector<const Member*> byKey(const std::vector<Member>& members) {
  std::vector<const Member*> out;
  out.reserve(members.size());
  for (const Member& m : members) out.push_back(&m);
  std::stable_sort(out.begin(), out.end(),
                   [](const Member* a, const Member* b) { return a->first < b->first; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Member* a, const Member* b) { return a->first == b->first; }),
            out.end());
  return out;
}

}  // namespace

bool Json::sameValue(const Json& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == other.bool_;
    case Type::kNumber:
    case Type::kString:
      return text_ == other.text_;
    case Type::kArray:
      return std::equal(items_.begin(), items_.end(), other.items_.begin(), other.items_.end(),
                        [](const Json& a, const Json& b) { return a.sameValue(b); });
    case Type::kObject: {
      // Each value pair is compared once (no retry on another path: nested
      // retries would be exponential in the depth). When both list the same
      // keys in ascending order — the API server writes custom resources
      // so — keys cannot repeat and the members pair up in place; otherwise
      // they are paired by sorted key.
      const auto sameMember = [](const Member* a, const Member* b) {
        return a->first == b->first && a->second.sameValue(b->second);
      };
      bool sorted = members_.size() == other.members_.size();
      for (std::size_t i = 0; sorted && i < members_.size(); ++i) {
        sorted = members_[i].first == other.members_[i].first &&
                 (i == 0 || members_[i - 1].first < members_[i].first);
      }
      if (sorted) {
        for (std::size_t i = 0; i < members_.size(); ++i) {
          if (!members_[i].second.sameValue(other.members_[i].second)) return false;
        }
        return true;
      }
      const std::vector<const Member*> a = byKey(members_);
      const std::vector<const Member*> b = byKey(other.members_);
      return std::equal(a.begin(), a.end(), b.begin(), b.end(), sameMember);
    }
  }
  return false;
}

std::string Json::dump() const {
  std::string out;
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return bool_ ? "true" : "false";
    case Type::kNumber:
      return text_;
    case Type::kString:
      JsonWriter::appendQuoted(out, text_);
      return out;
    case Type::kArray:
      out += '[';
      for (std::size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out += ',';
        out += items_[i].dump();
      }
      out += ']';
      return out;
    case Type::kObject:
      out += '{';
      for (std::size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) out += ',';
        JsonWriter::appendQuoted(out, members_[i].first);
        out += ':';
        out += members_[i].second.dump();
      }
      out += '}';
      return out;
  }
  return out;
}

}  // namespace slogate
