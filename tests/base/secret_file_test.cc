#include "base/secret_file.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <string>

namespace slogate {
namespace {

std::string writeTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/slogate_secret_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(SecretFile, TrailingWhitespaceGoesTheRestStays) {
  EXPECT_EQ(*readSecretFile(writeTemp("a", "tok en\r\n\n \t"), "t"), "tok en");
  EXPECT_EQ(*readSecretFile(writeTemp("b", "  lead"), "t"), "  lead");
  EXPECT_EQ(*readSecretFile(writeTemp("c", ""), "t"), "");
}

TEST(SecretFile, ErrorsNameTheFileAndWhatNeverTheContent) {
  auto missing = readSecretFile("/nonexistent/slogate-token", "the bearer token");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().message(), "/nonexistent/slogate-token: cannot read the bearer token");
  const std::string big(1024 * 1024 + 1, 'x');
  auto tooBig = readSecretFile(writeTemp("big", big), "the password");
  ASSERT_FALSE(tooBig);
  EXPECT_NE(tooBig.status().message().find("larger than 1 MiB"), std::string::npos);
  EXPECT_EQ(tooBig.status().message().find("xxxx"), std::string::npos);
  EXPECT_EQ(
      readSecretFile(writeTemp("exact", std::string(std::size_t{1024} * 1024, 'y')), "t")->size(),
      1024U * 1024U);
}

}  // namespace
}  // namespace slogate
