// slo_document.h — ServiceLevelObjective YAML documents → validated SLOs.
//
// Parses the YAML that `kubectl apply` takes (one or more documents separated
// by `---`) into engine::CompiledSlo, checking everything SPEC §1 fixes and
// rejecting unknown fields as the API server's strict decoding does. Every
// error is one line naming file, line, document, field and value:
//
//   slo.yaml:14: document 2 (shop/checkout): spec.indicators.errors.objective:
//   "100" is not a percentage above 0 and below 100
//
//   auto slos = config::loadSloFile("slo.yaml");
//   if (!slos) { std::cerr << slos.status().message() << "\n"; return 2; }
//
// yaml-cpp appears only in the .cc files of this module.
//
// Thread safety: stateless functions; call from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/evaluate.h"

namespace slogate::config {

inline constexpr std::string_view kApiVersion = "slogate.dev/v1alpha1";
inline constexpr std::string_view kKind = "ServiceLevelObjective";

// Parses every document of `text`; `fileName` prefixes errors. Empty
// documents are skipped; a file with no SLO at all is an error. Errors are
// kInvalidArgument.
Result<std::vector<std::shared_ptr<const engine::CompiledSlo>>> parseSloDocuments(
    std::string_view text, std::string_view fileName);

// Reads and parses a file ("-" reads standard input).
Result<std::vector<std::shared_ptr<const engine::CompiledSlo>>> loadSloFile(
    const std::string& path);

// Checks a counter selector such as `http_requests_total{code=~"5.."}`: a
// metric name and/or a brace-enclosed matcher list, nothing else (no range,
// no function, no operator), quotes closed. Returns a reason on failure.
std::optional<std::string> checkSelector(std::string_view selector);

}  // namespace slogate::config
