// Kubernetes client benchmarks (Google Benchmark). Run:
//   build/tests/bench/kube_bench
//
// BM_WatchDecode/N: one watch stream carrying a single event whose object is
//   N bytes, delivered in 64-byte pieces (a slow connection; TLS records and
//   chunk boundaries fall anywhere). Decoding must cost O(N): the line buffer
//   is searched only where new bytes arrived. The BigO line the library prints
//   is the check (an O(N^2) decoder shows as N^2 and 100x the time at N = 1M).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include "kube/client.h"
#include "net/http_client.h"

namespace slogate::kube {
namespace {

// Streams a fixed body in pieces of one size.
class PiecesHttp final : public net::HttpClient {
 public:
  PiecesHttp(const std::string* body, std::size_t piece) : body_(body), piece_(piece) {}
  Result<net::HttpResponse> send(const net::HttpRequest& /*request*/) override {
    return unavailable("watches only");
  }
  Result<int> stream(const net::HttpRequest& /*request*/, const net::StreamHandler& handler,
                     net::Cancel* /*cancel*/) override {
    handler.onHeaders(200, {{"Content-Type", "application/json"}});
    for (std::size_t at = 0; at < body_->size(); at += piece_) {
      if (!handler.onData(std::string_view(*body_).substr(at, piece_))) break;
    }
    return 200;
  }

 private:
  const std::string* body_;
  std::size_t piece_;
};

// NOLINTNEXTLINE(readability-identifier-naming): Google Benchmark reports this name (README)
void BM_WatchDecode(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::string body =
      R"({"type":"MODIFIED","object":{"kind":"Rollout","metadata":{"name":"r",)"
      R"("annotations":{"pad":")" +
      std::string(size, 'x') + "\"}}}}\n";
  ClusterConfig config;
  config.server = "https://127.0.0.1:1";
  KubeClient client(config, std::make_unique<PiecesHttp>(&body, 64),
                    std::make_unique<PiecesHttp>(&body, 64));
  const ResourceRef rollouts{"argoproj.io", "v1alpha1", "rollouts", "Rollout", true};
  std::size_t events = 0;
  for (auto _ : state) {
    const Status st = client.watch(
        rollouts, "shop", {},
        [&](const WatchEvent& ev) {
          benchmark::DoNotOptimize(ev.object);
          ++events;
          return true;
        },
        nullptr);
    if (!st.isOk()) state.SkipWithError(st.message().c_str());
  }
  if (events != static_cast<std::size_t>(state.iterations())) state.SkipWithError("lost events");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_WatchDecode)->RangeMultiplier(4)->Range(1 << 10, 1 << 20)->Complexity();

}  // namespace
}  // namespace slogate::kube

BENCHMARK_MAIN();
