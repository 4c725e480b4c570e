#include "cli/flags.h"

namespace slogate::cli {

void Flags::declare(const std::string& name, const std::string& metavar, const std::string& help,
                    bool required, bool repeatable) {
  specs_[name] = {metavar, help, required, repeatable};
  order_.push_back(name);
}

Status Flags::parse(const std::vector<std::string>& args) {
  values_.clear();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return invalidArgument("unexpected argument \"" + arg + "\"");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const auto spec = specs_.find(name);
    if (spec == specs_.end()) return invalidArgument("unknown flag --" + name);
    if (!value) {
      if (i + 1 >= args.size()) {
        return invalidArgument("--" + name + " needs a value (" + spec->second.metavar + ")");
      }
      value = args[++i];
    }
    auto& slot = values_[name];
    if (!slot.empty() && !spec->second.repeatable) {
      return invalidArgument("--" + name + " given more than once");
    }
    slot.push_back(*value);
  }
  for (const std::string& name : order_) {
    if (specs_[name].required && values_.count(name) == 0) {
      return invalidArgument("--" + name + " " + specs_[name].metavar + " is required");
    }
  }
  return Status::ok();
}

std::optional<std::string> Flags::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Flags::getAll(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Flags::usage() const {
  std::string out;
  for (const std::string& name : order_) {
    const Spec& spec = specs_.at(name);
    std::string left = "  --" + name + " " + spec.metavar;
    if (left.size() < 34) left.resize(34, ' ');
    out += left + spec.help + (spec.required ? " (required)" : "") + "\n";
  }
  return out;
}

}  // namespace slogate::cli
