// The Prometheus client over TLS with a CA file: any HTTPS peer with a
// certificate from a known CA will do, so this uses the fake API server's
// (tests/fakes/): the handshake must succeed with its CA and fail without.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes/fake_apiserver.h"
#include "prometheus/client.h"

namespace slogate::prometheus {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusTls, VerifiesTheServerAgainstTheCaFile) {
  std::string error;
  auto https = fakes::FakeApiServer::start({}, &error);
  ASSERT_NE(https, nullptr) << error;
  ClientOptions o;
  o.url = https->url();
  o.maxAttempts = 1;
  o.tls.caFile = https->caFile();
  o.bearerToken = https->token();
  auto trusted = makeClient(o);
  ASSERT_TRUE(trusted.ok()) << trusted.status().message();
  // The TLS session works; the peer is not Prometheus, so the answer is an
  // HTTP-level error, not a transport one.
  auto r = (*trusted)->query("up", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("prometheus answered HTTP 404"));

  o.tls.caFile.clear();
  auto untrusted = makeClient(o);
  ASSERT_TRUE(untrusted.ok());
  auto refused = (*untrusted)->query("up", 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable) << refused.status().toString();
  EXPECT_THAT(refused.status().message(), ::testing::Not(HasSubstr("HTTP 404")));

  o.tls.insecureSkipVerify = true;
  auto insecure = makeClient(o);
  ASSERT_TRUE(insecure.ok());
  EXPECT_THAT((*insecure)->query("up", 1).status().message(),
              HasSubstr("prometheus answered HTTP 404"));
}

}  // namespace
}  // namespace slogate::prometheus
