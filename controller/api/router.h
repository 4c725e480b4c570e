// router.h — the controller's HTTP surface: which request goes where.
//
//   POST /v1/admission                           → webhook::AdmissionHandler
//   GET  /v1/namespaces/{ns}/slos/{name}/verdict → api::VerdictEndpoint (always 200)
//   GET  /healthz                                → 200 while the process serves
//   GET  /readyz                                 → 200 once caches synced and every SLO evaluated
//   GET  /metrics                                → Prometheus text format
//
// HTTP concerns (method, content type, error bodies, latency metrics) stay
// here; the handlers below it see only bodies and snapshots.
//
// Thread safety: route() may be called from any thread; the dependencies are
// thread-safe.
#pragma once

#include <functional>

#include "api/verdict_endpoint.h"
#include "metrics/metrics.h"
#include "net/http_server.h"
#include "webhook/admission.h"

namespace slogate::api {

struct RouterDeps {
  std::function<bool()> ready;
  const webhook::AdmissionHandler* admission = nullptr;
  const VerdictEndpoint* verdicts = nullptr;
  metrics::Metrics* metrics = nullptr;
};

net::ServerResponse route(const RouterDeps& deps, const net::ServerRequest& request);

}  // namespace slogate::api
