// Keeps the dependency arrows honest: reads #include lines of controller/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;

std::vector<std::pair<fs::path, std::string>> includesUnder(const fs::path& dir) {
  std::vector<std::pair<fs::path, std::string>> out;
  if (!fs::exists(dir)) return out;
  const std::regex include(R"re(^\s*#\s*include\s*[<"]([^>"]+)[>"])re");
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, include)) out.emplace_back(entry.path(), m[1]);
    }
  }
  return out;
}

const fs::path kRoot = fs::path(SLOGATE_SOURCE_DIR) / "controller";

TEST(Architecture, EngineIncludesOnlyStandardLibraryAndBase) {
  const auto includes = includesUnder(kRoot / "engine");
  ASSERT_FALSE(includes.empty());
  for (const auto& [file, header] : includes) {
    const bool project = header.find('/') != std::string::npos;
    if (project) {
      EXPECT_TRUE(header.rfind("engine/", 0) == 0 || header.rfind("base/", 0) == 0)
          << file << " includes " << header;
    } else {
      // Standard headers have no extension (and no directory).
      EXPECT_EQ(header.find('.'), std::string::npos) << file << " includes " << header;
    }
  }
}

TEST(Architecture, BaseIsStandardLibraryOnly) {
  for (const auto& [file, header] : includesUnder(kRoot / "base")) {
    const bool ok = header.rfind("base/", 0) == 0 || header.find('.') == std::string::npos;
    EXPECT_TRUE(ok) << file << " includes " << header;
  }
}

TEST(Architecture, NoHeavyHeaderInAnyHeader) {
  const std::set<std::string> heavy = {"cpprest/", "boost/", "yaml-cpp/", "prometheus/",
                                       "openssl/"};
  for (const auto& [file, header] : includesUnder(kRoot)) {
    if (file.extension() != ".h") continue;
    for (const auto& prefix : heavy) {
      // Our own module prometheus/ lives under controller/: its headers are "prometheus/x.h"
      // too, so only flag headers that are not project files.
      if (header.rfind(prefix, 0) == 0 && !fs::exists(kRoot / header)) {
        ADD_FAILURE() << file << " includes " << header;
      }
    }
  }
}

TEST(Architecture, HeavyHeadersOnlyInTheirModules) {
  // cpprestsdk and Beast only in net/ (and prometheus-cpp only in metrics/).
  for (const auto& [file, header] : includesUnder(kRoot)) {
    const std::string rel = fs::relative(file, kRoot).string();
    if (header.rfind("cpprest/", 0) == 0 || header.rfind("boost/beast", 0) == 0 ||
        header.rfind("boost/asio", 0) == 0) {
      EXPECT_EQ(rel.rfind("net/", 0), 0u) << rel << " includes " << header;
    }
    if (header.rfind("yaml-cpp/", 0) == 0) {
      EXPECT_EQ(rel.rfind("config/", 0), 0u) << rel << " includes " << header;
    }
  }
}

}  // namespace
