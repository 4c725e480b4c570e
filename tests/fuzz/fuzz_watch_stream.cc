// fuzz_watch_stream — the Kubernetes watch stream decoder (KubeClient::watch)
// on arbitrary bytes, delivered by a fake transport in pieces whose sizes the
// input also chooses, as a chunked HTTP response arrives.
//
// Input: byte 0 seeds the piece sizes; the rest is the response body.
//
// Properties checked (abort on violation):
//   * no crash and no exception escapes;
//   * every event handed on is ADDED, MODIFIED, DELETED or BOOKMARK with an
//     object (ERROR events end the watch with their code; 410 is kExpired);
//   * the result does not depend on how the body was cut: the same events
//     and the same status for every split (checked against one-byte pieces
//     and the whole body at once);
//   * a failed watch is an internal error or the code of its ERROR event.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kube/client.h"
#include "net/http_client.h"

namespace {

using slogate::Json;

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr,
               "fuzz_watch_stream: INVARIANT VIOLATED: %s\n  detail: %s\n  input (%zu bytes):\n"
               "%.*s\n",
               what, detail.c_str(), input.size(), static_cast<int>(input.size()), input.data());
  std::abort();
}

// Streams a fixed body in pieces of the given sizes (cycled).
class FeedHttp final : public slogate::net::HttpClient {
 public:
  FeedHttp(std::string body, std::vector<std::size_t> pieces)
      : body_(std::move(body)), pieces_(std::move(pieces)) {}
  slogate::Result<slogate::net::HttpResponse> send(const slogate::net::HttpRequest&) override {
    return slogate::unavailable("no requests but watches here");
  }
  slogate::Result<int> stream(const slogate::net::HttpRequest&,
                              const slogate::net::StreamHandler& handler,
                              slogate::net::Cancel*) override {
    handler.onHeaders(200, {{"Content-Type", "application/json"}});
    std::size_t at = 0;
    for (std::size_t k = 0; at < body_.size(); ++k) {
      const std::size_t n = std::min(pieces_[k % pieces_.size()], body_.size() - at);
      if (!handler.onData(std::string_view(body_).substr(at, n))) break;
      at += n;
    }
    return 200;
  }

 private:
  std::string body_;
  std::vector<std::size_t> pieces_;
};

struct Run {
  std::vector<std::string> events;  // type + object, serialized
  slogate::Code code = slogate::Code::kOk;
  std::string message;
};

Run watchOnce(const std::string& body, std::vector<std::size_t> pieces, std::string_view input) {
  slogate::kube::ClusterConfig config;
  config.server = "https://127.0.0.1:1";
  slogate::kube::KubeClient client(config, std::make_unique<FeedHttp>(body, pieces),
                                   std::make_unique<FeedHttp>(body, std::move(pieces)));
  Run run;
  const slogate::kube::ResourceRef rollouts{"argoproj.io", "v1alpha1", "rollouts", "Rollout", true};
  const slogate::Status st = client.watch(
      rollouts, "shop", {},
      [&](const slogate::kube::WatchEvent& ev) {
        if ((ev.type != "ADDED" && ev.type != "MODIFIED" && ev.type != "DELETED" &&
             ev.type != "BOOKMARK") ||
            !ev.object.isObject()) {
          fail("handed on an event that is not ADDED/MODIFIED/DELETED/BOOKMARK with an object",
               input, ev.type);
        }
        run.events.push_back(ev.type + " " + ev.object.dump());
        return true;
      },
      nullptr);
  run.code = st.code();
  run.message = st.message();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string body(input.substr(1));
  std::vector<std::size_t> pieces;
  for (unsigned seed = data[0], k = 0; k < 4; ++k, seed = seed * 37 + 11) {
    pieces.push_back(1 + seed % 61);
  }
  try {
    const Run chosen = watchOnce(body, pieces, input);
    const Run bytes = watchOnce(body, {1}, input);
    const Run whole = watchOnce(body, {body.size() + 1}, input);
    for (const Run* other : {&bytes, &whole}) {
      if (other->events != chosen.events || other->code != chosen.code ||
          other->message != chosen.message) {
        fail("the result depends on how the stream was cut", input,
             chosen.message + " | " + other->message);
      }
    }
    if (chosen.code != slogate::Code::kOk && chosen.code != slogate::Code::kInternal &&
        body.find("ERROR") == std::string::npos) {
      fail("a failure that is neither internal nor an ERROR event's", input, chosen.message);
    }
  } catch (const std::exception& e) {
    fail("watch threw", input, e.what());
  } catch (...) {
    fail("watch threw a non-std exception", input, "");
  }
  return 0;
}
