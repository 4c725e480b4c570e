#include "base/secret_file.h"

#include <fstream>
#include <sstream>

namespace slogate {

Result<std::string> readSecretFile(const std::string& path, const std::string& what) {
  constexpr std::streamsize kMaxBytes = 1 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument(path + ": cannot read " + what);
  std::string text(static_cast<std::size_t>(kMaxBytes) + 1, '\0');
  in.read(text.data(), kMaxBytes + 1);
  if (in.bad()) return invalidArgument(path + ": cannot read " + what);
  const std::streamsize n = in.gcount();
  if (n > kMaxBytes) return invalidArgument(path + ": " + what + " is larger than 1 MiB");
  text.resize(static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

}  // namespace slogate
