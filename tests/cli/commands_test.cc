// The commands' contract without a Prometheus: flags, input errors (exit 2),
// an unreachable Prometheus (exit 1), and nothing half-written to stdout.
// The commands against a real Prometheus are in
// tests/prometheus/reader_integration_test.cc.
#include "cli/commands.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cli/flags.h"

namespace slogate::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kSlo = std::string(SLOGATE_SOURCE_DIR) + "/tests/fixtures/slo/checkout.yaml";

// A loopback port nobody listens on.
int closedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome evaluate(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = runEvaluate(args, out, err, [] { return std::int64_t{1'793'491'200}; });
  return {code, out.str(), err.str()};
}

Outcome replay(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int code = runReplay(args, out, err);
  return {code, out.str(), err.str()};
}

void expectOneLine(const Outcome& r) {
  EXPECT_EQ(r.out, "") << "nothing on stdout on error";
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Commands, ExitCodesOfSpecSection3) {
  EXPECT_EQ(exitCodeFor(engine::Decision::kApprove), 0);
  EXPECT_EQ(exitCodeFor(engine::Decision::kHalt), 10);
  EXPECT_EQ(exitCodeFor(engine::Decision::kRollback), 11);
  EXPECT_EQ(exitCodeFor(engine::Decision::kFreeze), 12);
  EXPECT_EQ(exitCodeFor(engine::Decision::kInconclusive), 13);
}

TEST(Commands, BadFlagsAreInvalidInput) {
  const std::string prom = "http://127.0.0.1:1";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--prometheus", prom},
           {"--slo", kSlo},
           {"--slo", kSlo, "--prometheus", prom, "--bogus", "1"},
           {"--slo", kSlo, "--prometheus", prom, "--at", "yesterday"},
           {"--slo", kSlo, "--prometheus", prom, "--output", "yaml"},
           {"--slo", kSlo, "--prometheus", "prom:9090"},
           {"--slo", kSlo, "--prometheus", prom, "--header", "novalue"},
           {"--slo", kSlo, "--prometheus", prom, "--timeout", "0"},
           {"--slo", kSlo, "--prometheus", prom, "--ca-file", "/nonexistent/ca.pem"},
           {"--slo", kSlo, "--slo", kSlo, "--prometheus", prom},
           {"stray", "--slo", kSlo}}) {
    const Outcome r = evaluate(args);
    EXPECT_EQ(r.code, kExitInvalidInput) << args.back() << ": " << r.err;
    expectOneLine(r);
    EXPECT_THAT(r.err, StartsWith("slogate evaluate: "));
  }
}

TEST(Commands, BadSloFileNamesFileLineAndField) {
  const std::string path = ::testing::TempDir() + "/bad-slo.yaml";
  std::ifstream in(kSlo);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("\"99.9\""), 6, "\"100\"");
  std::ofstream(path) << text;
  const Outcome r = evaluate({"--slo", path, "--prometheus", "http://127.0.0.1:1"});
  EXPECT_EQ(r.code, kExitInvalidInput);
  expectOneLine(r);
  EXPECT_THAT(r.err,
              HasSubstr(path + ":14: document 1 (shop/checkout): "
                               "spec.indicators.errors.objective: \"100\" is not a percentage"));
}

TEST(Commands, UnreachablePrometheusCannotEvaluate) {
  const std::string prom = "http://127.0.0.1:" + std::to_string(closedPort());
  const Outcome r = evaluate({"--slo", kSlo, "--prometheus", prom, "--timeout", "2"});
  EXPECT_EQ(r.code, kExitCouldNotEvaluate) << r.err;
  expectOneLine(r);
  EXPECT_THAT(r.err, HasSubstr("slogate evaluate: shop/checkout: errors: query sum(increase("));
  EXPECT_THAT(r.err, HasSubstr("(after 4 attempts)"));
  const Outcome rp = replay({"--slo", kSlo, "--prometheus", prom, "--from", "1793491200", "--to",
                             "1793494800", "--timeout", "2"});
  EXPECT_EQ(rp.code, kExitCouldNotEvaluate);
  expectOneLine(rp);
}

TEST(Commands, ReplayRangeChecks) {
  const std::string prom = "http://127.0.0.1:1";
  Outcome r =
      replay({"--slo", kSlo, "--prometheus", prom, "--from", "1793491200", "--to", "1793487600"});
  EXPECT_EQ(r.code, kExitInvalidInput);
  EXPECT_THAT(r.err,
              HasSubstr("--to (2026-10-31T23:00:00Z) is before --from (2026-11-01T00:00:00Z)"));
  r = replay({"--slo", kSlo, "--prometheus", prom, "--from", "0", "--to", "1793491200"});
  EXPECT_EQ(r.code, kExitInvalidInput);
  EXPECT_THAT(r.err, HasSubstr("more than 5,000,000 verdicts"));
  r = replay({"--slo", kSlo, "--prometheus", prom, "--from", "1793491200", "--to", "1793491200",
              "--step", "0m"});
  EXPECT_EQ(r.code, kExitInvalidInput);
  EXPECT_THAT(r.err, HasSubstr("--step: \"0m\""));
  r = replay({"--slo", kSlo, "--prometheus", prom, "--from", "1793491200"});
  EXPECT_EQ(r.code, kExitInvalidInput);
  EXPECT_THAT(r.err, HasSubstr("--to TIME is required"));
  r = replay({"--slo", kSlo, "--prometheus", prom, "--from", "1793491200", "--to", "1793491200",
              "--changes", "maybe"});
  EXPECT_EQ(r.code, kExitInvalidInput);
}

TEST(Commands, HelpListsFlagsAndExitCodes) {
  const Outcome r = evaluate({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--slo FILE"));
  EXPECT_THAT(r.out, HasSubstr("13 inconclusive"));
  const Outcome rp = replay({"--help"});
  EXPECT_EQ(rp.code, 0);
  EXPECT_THAT(rp.out, HasSubstr("--step DURATION"));
}

TEST(Flags, ParsesBothFormsAndRejectsTypos) {
  Flags f;
  f.declare("slo", "FILE", "x", true);
  f.declare("header", "H", "x", false, true);
  ASSERT_TRUE(f.parse({"--slo=a.yaml", "--header", "A: 1", "--header=B: 2"}).isOk());
  EXPECT_EQ(f.get("slo"), "a.yaml");
  EXPECT_EQ(f.getAll("header"), (std::vector<std::string>{"A: 1", "B: 2"}));
  EXPECT_EQ(f.get("missing"), std::nullopt);
  EXPECT_EQ(f.parse({"--sloo", "a"}).message(), "unknown flag --sloo");
  EXPECT_EQ(f.parse({"--slo"}).message(), "--slo needs a value (FILE)");
  EXPECT_EQ(f.parse({}).message(), "--slo FILE is required");
  EXPECT_THAT(f.usage(), HasSubstr("--slo FILE"));
}

}  // namespace
}  // namespace slogate::cli
