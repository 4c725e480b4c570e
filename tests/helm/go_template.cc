#include "helm/go_template.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <utility>

#include "helm/go_template_functions.h"

namespace slogate::helmtest {

// ---------------------------------------------------------------- the tree

struct Pipeline;

struct Operand {
  enum class Kind { kField, kVariable, kLiteral, kIdentifier, kParen };
  Kind kind = Kind::kLiteral;
  std::string name;                 // variable ("$", "$x") or function name
  std::vector<std::string> chain;   // field names after it (.a.b)
  Value literal;                    // kLiteral
  std::shared_ptr<Pipeline> paren;  // kParen
};

struct Command {
  std::vector<Operand> args;
};

struct Pipeline {
  std::vector<std::string> variables;  // $k, $v
  bool declare = false;                // :=
  bool assign = false;                 // =
  std::vector<Command> commands;
};

struct TemplateSet::Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith, kTemplate };
  Kind kind = Kind::kText;
  std::string text;  // kText; the action's source otherwise (for errors)
  Pipeline pipe;
  std::vector<Node> body;
  std::vector<Node> elseBody;
  std::string name;  // kTemplate
};

using Node = TemplateSet::Node;

namespace {

// An error that already names the template and the action.
class LocatedError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// ------------------------------------------------------ text and actions

struct Item {
  bool action = false;
  std::string text;  // the action's body without {{ }} and trim markers
};

// Splits template text into text and actions, applying {{- and -}}.
std::vector<Item> split(const std::string& src, const std::string& name) {
  std::vector<Item> items;
  std::size_t pos = 0;
  bool trimNext = false;
  while (pos <= src.size()) {
    const std::size_t open = src.find("{{", pos);
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (trimNext) {
      std::size_t i = 0;
      while (i < text.size() && isSpace(text[i])) ++i;
      text.erase(0, i);
    }
    if (open == std::string::npos) {
      items.push_back({false, text});
      break;
    }
    std::size_t bodyStart = open + 2;
    if (bodyStart + 1 < src.size() && src[bodyStart] == '-' && isSpace(src[bodyStart + 1])) {
      while (!text.empty() && isSpace(text.back())) text.pop_back();
      bodyStart += 1;
    }
    items.push_back({false, text});
    // A comment: {{/* … */}} or {{- /* … */ -}}; its text may hold anything.
    std::size_t cs = bodyStart;
    while (cs < src.size() && isSpace(src[cs])) ++cs;
    if (src.compare(cs, 2, "/*") == 0) {
      const std::size_t end = src.find("*/", cs + 2);
      if (end == std::string::npos) throw TemplateError(name + ": unclosed comment");
      std::size_t k = end + 2;
      while (k < src.size() && isSpace(src[k])) ++k;
      trimNext = false;
      if (k < src.size() && src[k] == '-' && k > end + 2) {
        trimNext = true;
        ++k;
      }
      if (src.compare(k, 2, "}}") != 0) throw TemplateError(name + ": bad comment");
      pos = k + 2;
      continue;
    }
    // Find the closing }} outside quotes.
    std::size_t i = bodyStart;
    char quote = 0;
    for (; i + 1 < src.size() || quote != 0; ++i) {
      if (i >= src.size()) throw TemplateError(name + ": unterminated quote in action");
      const char c = src[i];
      if (quote != 0) {
        if (c == '\\' && quote != '`') {
          ++i;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '`' || c == '\'') {
        quote = c;
      } else if (c == '}' && src[i + 1] == '}') {
        break;
      }
    }
    if (i + 1 >= src.size() || src.compare(i, 2, "}}") != 0) {
      throw TemplateError(name + ": unclosed action at offset " + std::to_string(open));
    }
    std::string body = src.substr(bodyStart, i - bodyStart);
    trimNext = false;
    if (body.size() >= 2 && body.back() == '-' && isSpace(body[body.size() - 2])) {
      body.pop_back();
      trimNext = true;
    }
    std::size_t b = 0;
    while (b < body.size() && isSpace(body[b])) ++b;
    std::size_t e = body.size();
    while (e > b && isSpace(body[e - 1])) --e;
    items.push_back({true, body.substr(b, e - b)});
    pos = i + 2;
  }
  return items;
}

// ---------------------------------------------------------------- lexing

struct Token {
  enum class Kind {
    kField,
    kVariable,
    kIdent,
    kString,
    kNumber,
    kLParen,
    kRParen,
    kPipe,
    kDeclare,
    kAssign,
    kComma
  };
  Kind kind;
  std::string text;                // identifier, variable name, decoded string, number text
  std::vector<std::string> chain;  // kField, kVariable, kRParen: trailing .a.b
};

bool identChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::vector<std::string> readChain(const std::string& s, std::size_t& i) {
  std::vector<std::string> chain;
  while (i < s.size() && s[i] == '.' && i + 1 < s.size() && identChar(s[i + 1])) {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && identChar(s[i])) ++i;
    chain.push_back(s.substr(start, i - start));
  }
  return chain;
}

std::vector<Token> lex(const std::string& s, const std::string& where) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (isSpace(c)) {
      ++i;
    } else if (c == '.') {
      std::vector<std::string> chain = readChain(s, i);
      if (chain.empty()) ++i;  // bare "."
      out.push_back({Token::Kind::kField, "", std::move(chain)});
    } else if (c == '$') {
      std::size_t start = i++;
      while (i < s.size() && identChar(s[i])) ++i;
      std::string name = s.substr(start, i - start);
      out.push_back({Token::Kind::kVariable, name, readChain(s, i)});
    } else if (c == '"') {
      std::string v;
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) {
          const char e = s[++i];
          v += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
          v += s[i];
        }
        ++i;
      }
      if (i >= s.size()) throw TemplateError(where + ": unterminated string");
      ++i;
      out.push_back({Token::Kind::kString, v, {}});
    } else if (c == '`') {
      const std::size_t end = s.find('`', i + 1);
      if (end == std::string::npos) throw TemplateError(where + ": unterminated raw string");
      out.push_back({Token::Kind::kString, s.substr(i + 1, end - i - 1), {}});
      i = end + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < s.size() &&
                std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      const std::size_t start = i++;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      out.push_back({Token::Kind::kNumber, s.substr(start, i - start), {}});
    } else if (identChar(c)) {
      const std::size_t start = i;
      while (i < s.size() && identChar(s[i])) ++i;
      out.push_back({Token::Kind::kIdent, s.substr(start, i - start), {}});
    } else if (c == '(') {
      out.push_back({Token::Kind::kLParen, "(", {}});
      ++i;
    } else if (c == ')') {
      ++i;
      out.push_back({Token::Kind::kRParen, ")", readChain(s, i)});
    } else if (c == '|') {
      out.push_back({Token::Kind::kPipe, "|", {}});
      ++i;
    } else if (c == ':' && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({Token::Kind::kDeclare, ":=", {}});
      i += 2;
    } else if (c == '=') {
      out.push_back({Token::Kind::kAssign, "=", {}});
      ++i;
    } else if (c == ',') {
      out.push_back({Token::Kind::kComma, ",", {}});
      ++i;
    } else {
      throw TemplateError(where + ": unexpected character '" + std::string(1, c) + "'");
    }
  }
  return out;
}

// --------------------------------------------------------------- parsing

class PipelineParser {
 public:
  PipelineParser(std::vector<Token> tokens, std::string where)
      : tokens_(std::move(tokens)), where_(std::move(where)) {}

  Pipeline parse(bool allowDeclaration) {
    Pipeline p;
    if (allowDeclaration) declaration(p);
    p.commands = commands();
    if (pos_ != tokens_.size()) fail("unexpected " + tokens_[pos_].text);
    return p;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw TemplateError(where_ + ": " + what);
  }

  void declaration(Pipeline& p) {
    // $a :=, $a =, $k, $v :=
    std::size_t look = 0;
    std::vector<std::string> vars;
    while (look < tokens_.size() && tokens_[look].kind == Token::Kind::kVariable &&
           tokens_[look].chain.empty()) {
      vars.push_back(tokens_[look].text);
      ++look;
      if (look < tokens_.size() && tokens_[look].kind == Token::Kind::kComma) {
        ++look;
        continue;
      }
      break;
    }
    if (vars.empty() || look >= tokens_.size()) return;
    if (tokens_[look].kind == Token::Kind::kDeclare) {
      p.declare = true;
    } else if (tokens_[look].kind == Token::Kind::kAssign) {
      p.assign = true;
    } else {
      return;
    }
    p.variables = vars;
    pos_ = look + 1;
  }

  std::vector<Command> commands() {
    std::vector<Command> out;
    out.push_back(command());
    while (pos_ < tokens_.size() && tokens_[pos_].kind == Token::Kind::kPipe) {
      ++pos_;
      out.push_back(command());
    }
    return out;
  }

  Command command() {
    Command c;
    while (pos_ < tokens_.size() && tokens_[pos_].kind != Token::Kind::kPipe &&
           tokens_[pos_].kind != Token::Kind::kRParen) {
      c.args.push_back(operand());
    }
    if (c.args.empty()) fail("empty command");
    return c;
  }

  Operand operand() {
    const Token& t = tokens_[pos_++];
    Operand o;
    switch (t.kind) {
      case Token::Kind::kField:
        o.kind = Operand::Kind::kField;
        o.chain = t.chain;
        return o;
      case Token::Kind::kVariable:
        o.kind = Operand::Kind::kVariable;
        o.name = t.text;
        o.chain = t.chain;
        return o;
      case Token::Kind::kString:
        o.literal = Value::of(t.text);
        return o;
      case Token::Kind::kNumber:
        if (t.text.find('.') != std::string::npos) {
          o.literal = Value::ofFloat(std::stod(t.text));
        } else {
          o.literal = Value::of(static_cast<std::int64_t>(std::stoll(t.text)));
        }
        return o;
      case Token::Kind::kIdent:
        if (t.text == "true" || t.text == "false") {
          o.literal = Value::of(t.text == "true");
        } else if (t.text == "nil") {
          o.literal = Value::null();
        } else {
          o.kind = Operand::Kind::kIdentifier;
          o.name = t.text;
        }
        return o;
      case Token::Kind::kLParen: {
        o.kind = Operand::Kind::kParen;
        auto inner = std::make_shared<Pipeline>();
        inner->commands = commands();
        if (pos_ >= tokens_.size() || tokens_[pos_].kind != Token::Kind::kRParen) fail("missing )");
        o.chain = tokens_[pos_++].chain;
        o.paren = inner;
        return o;
      }
      default:
        fail("unexpected " + t.text);
    }
  }

  std::vector<Token> tokens_;
  std::string where_;
  std::size_t pos_ = 0;
};

Pipeline parsePipeline(const std::string& text, const std::string& where, bool allowDeclaration) {
  return PipelineParser(lex(text, where), where).parse(allowDeclaration);
}

std::string firstWord(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size() && identChar(s[i])) ++i;
  return s.substr(0, i);
}

std::string afterWord(const std::string& s, const std::string& word) {
  std::string rest = s.substr(word.size());
  std::size_t i = 0;
  while (i < rest.size() && isSpace(rest[i])) ++i;
  return rest.substr(i);
}

struct TreeParser {
  const std::vector<Item>& items;
  const std::string& name;
  std::map<std::string, std::vector<Node>>& defines;
  std::size_t pos = 0;

  std::string where(const std::string& action) const { return name + ": {{ " + action + " }}"; }

  // Parses nodes until an action in `stops` (returned, consumed) or the end.
  std::vector<Node> list(std::string& stop, const std::set<std::string>& stops) {
    std::vector<Node> out;
    while (pos < items.size()) {
      const Item& item = items[pos++];
      if (!item.action) {
        if (!item.text.empty()) out.push_back(Node{Node::Kind::kText, item.text, {}, {}, {}, {}});
        continue;
      }
      const std::string word = firstWord(item.text);
      if (stops.count(word) > 0) {
        stop = item.text;
        return out;
      }
      if (word == "if" || word == "with" || word == "range") {
        out.push_back(block(word, afterWord(item.text, word), item.text));
      } else if (word == "define") {
        const Pipeline p = parsePipeline(afterWord(item.text, word), where(item.text), false);
        if (p.commands.size() != 1 || p.commands[0].args.size() != 1 ||
            !p.commands[0].args[0].literal.isString()) {
          throw TemplateError(where(item.text) + ": define needs a name");
        }
        std::string end;
        std::vector<Node> body = list(end, {"end"});
        if (end.empty()) throw TemplateError(where(item.text) + ": define without end");
        defines[p.commands[0].args[0].literal.string] = std::move(body);
      } else if (word == "template") {
        Node n;
        n.kind = Node::Kind::kTemplate;
        n.text = item.text;
        Pipeline p = parsePipeline(afterWord(item.text, word), where(item.text), false);
        if (p.commands.empty() || p.commands[0].args.empty() ||
            !p.commands[0].args[0].literal.isString()) {
          throw TemplateError(where(item.text) + ": template needs a name");
        }
        n.name = p.commands[0].args[0].literal.string;
        p.commands[0].args.erase(p.commands[0].args.begin());
        if (p.commands[0].args.empty()) p.commands.erase(p.commands.begin());
        n.pipe = std::move(p);
        out.push_back(std::move(n));
      } else if (word == "end" || word == "else" || word == "block" || word == "break" ||
                 word == "continue") {
        throw TemplateError(where(item.text) + ": unexpected " + word);
      } else {
        Node n;
        n.kind = Node::Kind::kAction;
        n.text = item.text;
        n.pipe = parsePipeline(item.text, where(item.text), true);
        out.push_back(std::move(n));
      }
    }
    stop.clear();
    return out;
  }

  Node block(const std::string& word, const std::string& pipeText, const std::string& source) {
    Node n;
    n.kind = word == "if"     ? Node::Kind::kIf
             : word == "with" ? Node::Kind::kWith
                              : Node::Kind::kRange;
    n.text = source;
    n.pipe = parsePipeline(pipeText, where(source), word == "range");
    std::string stop;
    n.body = list(stop, {"end", "else"});
    if (stop.empty()) throw TemplateError(where(source) + ": missing end");
    if (firstWord(stop) == "else") {
      const std::string rest = afterWord(stop, "else");
      if (!rest.empty()) {
        // else if … / else with …: a nested block that shares our end.
        const std::string inner = firstWord(rest);
        if (inner != "if" && inner != "with") throw TemplateError(where(stop) + ": bad else");
        n.elseBody.push_back(block(inner, afterWord(rest, inner), stop));
        return n;
      }
      n.elseBody = list(stop, {"end"});
      if (stop.empty()) throw TemplateError(where(source) + ": missing end");
    }
    return n;
  }
};

}  // namespace

// -------------------------------------------------------------- execution

class TemplateSet::Executor {
 public:
  Executor(const TemplateSet& set, std::string name) : set_(set), name_(std::move(name)) {}

  std::string run(const std::vector<Node>& nodes, const Value& dot) {
    vars_.emplace_back("$", dot);
    std::string out;
    list(nodes, dot, out);
    return out;
  }

 private:
  [[noreturn]] void fail(const Node& n, const std::string& what) const {
    throw LocatedError(name_ + ": {{ " + n.text + " }}: " + what);
  }

  void list(const std::vector<Node>& nodes, const Value& dot, std::string& out) {
    for (const Node& n : nodes) node(n, dot, out);
  }

  void node(const Node& n, const Value& dot, std::string& out) {
    try {
      switch (n.kind) {
        case Node::Kind::kText:
          out += n.text;
          return;
        case Node::Kind::kAction: {
          const Value v = pipeline(n.pipe, dot);
          if (n.pipe.variables.empty()) out += display(v);
          return;
        }
        case Node::Kind::kTemplate: {
          const Value arg = n.pipe.commands.empty() ? Value::null() : pipeline(n.pipe, dot);
          out += include(n.name, arg);
          return;
        }
        case Node::Kind::kIf:
        case Node::Kind::kWith: {
          const std::size_t mark = vars_.size();
          const Value v = pipeline(n.pipe, dot);
          if (truthy(v)) {
            list(n.body, n.kind == Node::Kind::kWith ? v : dot, out);
          } else {
            list(n.elseBody, dot, out);
          }
          vars_.resize(mark);
          return;
        }
        case Node::Kind::kRange:
          range(n, dot, out);
          return;
      }
    } catch (const LocatedError&) {
      throw;
    } catch (const std::exception& e) {
      fail(n, e.what());
    }
  }

  void range(const Node& n, const Value& dot, std::string& out) {
    const std::size_t mark = vars_.size();
    Pipeline p = n.pipe;
    const std::vector<std::string> names = p.variables;
    p.variables.clear();
    p.declare = false;
    const Value v = pipeline(p, dot);
    if (!truthy(v)) {
      list(n.elseBody, dot, out);
      vars_.resize(mark);
      return;
    }
    const auto iteration = [&](const Value& key, const Value& item) {
      const std::size_t inner = vars_.size();
      if (names.size() == 1) vars_.emplace_back(names[0], item);
      if (names.size() == 2) {
        vars_.emplace_back(names[0], key);
        vars_.emplace_back(names[1], item);
      }
      list(n.body, item, out);
      vars_.resize(inner);
    };
    if (v.isList()) {
      for (std::size_t i = 0; i < v.list.size(); ++i) {
        iteration(Value::of(static_cast<std::int64_t>(i)), v.list[i]);
      }
    } else if (v.isMap()) {
      for (const auto& [k, item] : v.map) iteration(Value::of(k), item);
    } else {
      fail(n, "range over " + display(v));
    }
    vars_.resize(mark);
  }

  Value pipeline(const Pipeline& p, const Value& dot) {
    Value result;
    bool piped = false;
    for (const Command& c : p.commands) {
      result = command(c, dot, piped ? &result : nullptr);
      piped = true;
    }
    if (p.declare) {
      for (const auto& v : p.variables) vars_.emplace_back(v, result);
    } else if (p.assign) {
      for (const auto& name : p.variables) {
        auto it = std::find_if(vars_.rbegin(), vars_.rend(),
                               [&](const auto& kv) { return kv.first == name; });
        if (it == vars_.rend()) throw TemplateError("undefined variable " + name);
        it->second = result;
      }
    }
    return result;
  }

  static bool isFilesCall(const Operand& o, std::string& fn) {
    if ((o.kind != Operand::Kind::kField && o.kind != Operand::Kind::kVariable) ||
        o.chain.size() < 2 || o.chain[o.chain.size() - 2] != "Files") {
      return false;
    }
    fn = "Files." + o.chain.back();
    return true;
  }

  Value command(const Command& c, const Value& dot, const Value* piped) {
    const Operand& head = c.args[0];
    std::string host;
    if (head.kind == Operand::Kind::kIdentifier || isFilesCall(head, host)) {
      const std::string fn = host.empty() ? head.name : host;
      std::vector<Value> args;
      for (std::size_t i = 1; i < c.args.size(); ++i) args.push_back(operand(c.args[i], dot));
      if (piped != nullptr) args.push_back(*piped);
      return call(fn, args);
    }
    if (c.args.size() != 1 || piped != nullptr) {
      throw TemplateError("cannot give arguments to a non-function");
    }
    return operand(head, dot);
  }

  Value call(const std::string& fn, const std::vector<Value>& args) {
    if (fn == "include") {
      if (args.size() != 2) throw TemplateError("include: wants a name and a context");
      return Value::of(include(display(args[0]), args[1]));
    }
    if (const auto h = set_.host_.find(fn); h != set_.host_.end()) return h->second(args);
    const auto& fns = templateFunctions();
    const auto it = fns.find(fn);
    if (it == fns.end()) throw TemplateError("function \"" + fn + "\" not defined");
    return it->second(args);
  }

  std::string include(const std::string& name, const Value& dot) const {
    const auto it = set_.templates_.find(name);
    if (it == set_.templates_.end()) throw TemplateError("no template \"" + name + "\"");
    if (depth_ > 50) throw TemplateError("include nested too deeply");
    Executor inner(set_, name);
    inner.depth_ = depth_ + 1;
    return inner.run(*it->second, dot);
  }

  static Value field(const Value& from, const std::vector<std::string>& chain) {
    Value v = from;
    for (const auto& f : chain) {
      if (v.isNull()) throw TemplateError("nil pointer evaluating ." + f);
      if (!v.isMap()) throw TemplateError("can't evaluate field " + f + " in " + display(v));
      Value next = v.at(f);
      v = std::move(next);
    }
    return v;
  }

  Value operand(const Operand& o, const Value& dot) {
    switch (o.kind) {
      case Operand::Kind::kLiteral:
        return o.literal;
      case Operand::Kind::kField:
        return field(dot, o.chain);
      case Operand::Kind::kVariable: {
        auto it = std::find_if(vars_.rbegin(), vars_.rend(),
                               [&](const auto& kv) { return kv.first == o.name; });
        if (it == vars_.rend()) throw TemplateError("undefined variable " + o.name);
        return field(it->second, o.chain);
      }
      case Operand::Kind::kParen:
        return field(pipeline(*o.paren, dot), o.chain);
      case Operand::Kind::kIdentifier:
        return call(o.name, {});
    }
    return Value::null();
  }

  const TemplateSet& set_;
  std::string name_;
  int depth_ = 0;
  std::vector<std::pair<std::string, Value>> vars_;
};

TemplateSet::TemplateSet() = default;
TemplateSet::~TemplateSet() = default;

void TemplateSet::add(const std::string& name, const std::string& text) {
  const std::vector<Item> items = split(text, name);
  std::map<std::string, std::vector<Node>> defines;
  TreeParser parser{items, name, defines, 0};
  std::string stop;
  std::vector<Node> nodes = parser.list(stop, {});
  templates_[name] = std::make_shared<const std::vector<Node>>(std::move(nodes));
  for (auto& [k, body] : defines) {
    templates_[k] = std::make_shared<const std::vector<Node>>(std::move(body));
  }
}

void TemplateSet::setHostFunction(const std::string& name, HostFunction fn) {
  host_[name] = std::move(fn);
}

bool TemplateSet::has(const std::string& name) const {
  return templates_.count(name) > 0;
}

std::string TemplateSet::execute(const std::string& name, const Value& dot) const {
  const auto it = templates_.find(name);
  if (it == templates_.end()) throw TemplateError("no template \"" + name + "\"");
  Executor e(*this, name);
  return e.run(*it->second, dot);
}

}  // namespace slogate::helmtest
