#include "api/router.h"

#include <chrono>

#include "base/json_writer.h"

namespace slogate::api {
namespace {

net::ServerResponse json(int status, std::string body) {
  return {status, {{"Content-Type", "application/json"}}, std::move(body)};
}

net::ServerResponse error(int status, const std::string& message) {
  JsonWriter w;
  w.beginObject().key("error").string(message).endObject();
  return json(status, w.take());
}

}  // namespace

net::ServerResponse route(const RouterDeps& deps, const net::ServerRequest& req) {
  if (req.path == "/v1/admission") {
    if (req.method != "POST") return error(405, "use POST for " + req.path);
    const std::string type = req.header("Content-Type");
    if (type.rfind("application/json", 0) != 0) {
      return error(415, "Content-Type must be application/json, not \"" + type + "\"");
    }
    const auto started = std::chrono::steady_clock::now();
    const webhook::AdmissionOutcome out = deps.admission->handle(req.body);
    if (deps.metrics != nullptr) {
      deps.metrics->observeAdmission(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (!out.allowed) deps.metrics->countAction("deny");
      if (out.overridden) deps.metrics->countAction("override");
    }
    return json(out.httpStatus, out.body);
  }
  if (const auto slo = VerdictEndpoint::parsePath(req.path)) {
    if (req.method != "GET") return error(405, "use GET for " + req.path);
    return json(200, deps.verdicts->verdict(slo->first, slo->second));
  }
  if (req.path == "/healthz") return {200, {{"Content-Type", "text/plain"}}, "ok\n"};
  if (req.path == "/readyz") {
    const bool ready = deps.ready && deps.ready();
    return {ready ? 200 : 503,
            {{"Content-Type", "text/plain"}},
            ready ? "ready\n" : "not ready: caches syncing or first evaluation running\n"};
  }
  if (req.path == "/metrics" && deps.metrics != nullptr) {
    return {200, {{"Content-Type", "text/plain; version=0.0.4"}}, deps.metrics->render()};
  }
  return error(404, "no such endpoint: " + req.method + " " + req.path);
}

}  // namespace slogate::api
