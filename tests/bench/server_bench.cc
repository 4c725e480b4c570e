// server_bench — HttpServer under wrk: what one I/O thread sustains for the
// admission webhook (TLS, keep-alive, ~3 KB JSON in, small JSON out).
//
//   build/tests/net/server_bench [--port 8443] [--threads 1] [--plain] [--key rsa|ec]
//   wrk -t1 -c16 -d10s --latency -s tests/bench/webhook_load.lua
//   https://127.0.0.1:8443/v1/admission
//
// Generates a throwaway CA and server certificate (ECDSA P-256 by default),
// starts the server on 127.0.0.1 with a handler that answers a fixed
// AdmissionReview-like 200, prints the URL, and serves until SIGINT/SIGTERM;
// then prints the server's counters.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "net/http_server.h"
#include "net/test_pki.h"

namespace {

int usage() {
  std::fprintf(stderr, "usage: server_bench [--port N] [--threads N] [--plain] [--key rsa|ec]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using slogate::net::testing::KeyType;
  int port = 0;
  int threads = 1;
  bool plain = false;
  KeyType key = KeyType::kEcP256;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--plain") {
      plain = true;
    } else if (arg == "--key" && i + 1 < argc) {
      key = std::strcmp(argv[++i], "rsa") == 0 ? KeyType::kRsa2048 : KeyType::kEcP256;
    } else {
      return usage();
    }
  }

  // Block the signals before any thread starts, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const std::string dir = slogate::net::testing::makeTempDir();
  slogate::net::ServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(port);
  options.threads = threads;
  if (!plain) {
    slogate::net::testing::TestPki pki(dir);
    const auto leaf = pki.issue("server", 1001, key);
    options.certFile = leaf.certFile;
    options.keyFile = leaf.keyFile;
  }
  static const std::string kAnswer =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":)"
      R"({"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}})";
  auto server = slogate::net::HttpServer::start(options, [](const slogate::net::ServerRequest&) {
    return slogate::net::ServerResponse{.status = 200, .headers = {}, .body = kAnswer};
  });
  if (!server) {
    std::fprintf(stderr, "server_bench: %s\n", server.status().toString().c_str());
    slogate::net::testing::removeTree(dir);
    return 1;
  }
  std::printf("%s\n", (*server)->url().c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  (*server)->stop();
  std::printf("requests %llu, connections %llu, rejected %llu\n",
              static_cast<unsigned long long>((*server)->requests()),
              static_cast<unsigned long long>((*server)->connections()),
              static_cast<unsigned long long>((*server)->rejected()));
  slogate::net::testing::removeTree(dir);
  return 0;
}
