// The real cpprestsdk transport against a scripted TCP peer on loopback:
// a server that never answers (timeout), one that answers garbage, one that
// closes the connection, and one that answers a real Prometheus body.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "prometheus/client.h"

namespace slogate::prometheus {
namespace {

using ::testing::HasSubstr;

// Accepts connections on 127.0.0.1:<free port>; for each, reads the request
// headers and body (Content-Length) and then does what `reply` says.
class StubServer {
 public:
  enum class Mode { kSilent, kClose, kReply };

  StubServer(Mode mode, std::string reply) : mode_(mode), reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~StubServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    std::vector<int> open;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      if (mode_ == Mode::kClose) {
        close(c);
        continue;
      }
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 2000) <= 0) break;
        const auto n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      if (mode_ == Mode::kReply) {
        const std::string resp =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(reply_.size()) + "\r\nConnection: close\r\n\r\n" + reply_;
        (void)!write(c, resp.data(), resp.size());
        close(c);
      } else {
        open.push_back(c);  // silent: keep it open, never answer
      }
    }
    for (const int c : open) close(c);
  }

  Mode mode_;
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

std::unique_ptr<QueryClient> clientFor(const std::string& url, int attempts) {
  ClientOptions o;
  o.url = url;
  o.timeout = std::chrono::milliseconds(700);
  o.maxAttempts = attempts;
  o.backoff = std::chrono::milliseconds(10);
  auto c = makeClient(o);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(*c);
}

TEST(PrometheusTransport, SilentServerTimesOutAndIsRetried) {
  StubServer server(StubServer::Mode::kSilent, "");
  auto client = clientFor(server.url(), 2);
  const auto start = std::chrono::steady_clock::now();
  auto r = client->query("up", 1);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == Code::kDeadline || r.status().code() == Code::kUnavailable)
      << r.status().toString();
  EXPECT_THAT(r.status().message(), HasSubstr("(after 2 attempts)"));
  EXPECT_EQ(client->requests(), 2u);
  // Two attempts of 0.7 s each, not a hang.
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(PrometheusTransport, GarbageBodyIsAnErrorNotACrash) {
  StubServer server(StubServer::Mode::kReply, "<html>this is not prometheus</html>");
  auto client = clientFor(server.url(), 1);
  auto r = client->query("up", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("malformed response"));
  EXPECT_THAT(r.status().message(), HasSubstr("this is not prometheus"));
}

TEST(PrometheusTransport, ClosedConnectionsAreRetriedThenUnavailable) {
  StubServer server(StubServer::Mode::kClose, "");
  auto client = clientFor(server.url(), 3);
  auto r = client->query("up", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().toString();
  EXPECT_EQ(client->requests(), 3u);
}

TEST(PrometheusTransport, RealBodyOverRealHttp) {
  StubServer server(
      StubServer::Mode::kReply,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}})");
  auto client = clientFor(server.url(), 1);
  auto r = client->query("up", 1);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].samples[0].value, "NaN");
}

}  // namespace
}  // namespace slogate::prometheus
