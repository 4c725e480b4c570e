// flags.h — the command line's flags: `--name value` or `--name=value`.
//
// Each command declares the flags it takes; anything else is an error naming
// the flag, so a typo never silently falls back to a default.
//
//   Flags f;
//   f.declare("slo", "FILE", "SLO documents", /*required=*/true);
//   if (Status s = f.parse(args); !s.isOk()) ...
//   std::string file = *f.get("slo");
//
// Thread safety: none; one per command invocation.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace slogate::cli {

class Flags {
 public:
  // `repeatable` flags collect every occurrence (getAll).
  void declare(const std::string& name, const std::string& metavar, const std::string& help,
               bool required = false, bool repeatable = false);

  // Parses args (without the program and command names).
  Status parse(const std::vector<std::string>& args);

  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> getAll(const std::string& name) const;

  // "  --slo FILE   SLO documents (required)" lines.
  std::string usage() const;

 private:
  struct Spec {
    std::string metavar;
    std::string help;
    bool required = false;
    bool repeatable = false;
  };
  std::map<std::string, Spec> specs_;                       // by name, without "--"
  std::vector<std::string> order_;                          // declaration order, for usage()
  std::map<std::string, std::vector<std::string>> values_;  // parsed values
};

}  // namespace slogate::cli
