// fuzz_slo_yaml — config::parseSloDocuments (config/slo_document.h) on
// arbitrary text, as `slogate evaluate --slo fuzz.yaml` would read it.
//
// Properties checked (abort on violation):
//   * no crash and no exception escapes (the module must convert yaml-cpp's);
//   * an error is kInvalidArgument and its message is ONE line (no '\n')
//     starting with the file name "fuzz.yaml" (slo_document.h's contract);
//   * on success: at least one SLO, ids unique, every SLO compiled with
//     objectives in (0, 1) and at least one rule; a fresh SloState for it
//     evaluates without crashing and reports "inconclusive" (no events yet;
//     "freeze" when freezeBelow is 1) with a reason.
//
// Endless LoadAll: yaml-cpp 0.7 (Debian bookworm) loops forever in
// YAML::LoadAll on some malformed streams (a lone "," is enough; upstream
// jbeder/yaml-cpp#1040, fixed by PR #1319 after 0.8.0), allocating a null
// document per turn until memory runs out. This harness found it;
// parseSloDocuments now checks the stream's progress before calling LoadAll.
// The harness replays the stream through YAML::Parser with a document cap (an
// honest stream of N bytes has at most N + 1 documents): on such a stream
// parseSloDocuments must return an error (and return at all: a hang shows as
// a libFuzzer timeout).
//
// Known-bug switches, comma-separated in SLOGATE_FUZZ_KNOWN_BUGS, so a long
// run can look for other failures while these bugs are open:
//   yaml-multiline-error   skip only the one-line check of error messages
// Unset, every check applies.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "config/slo_document.h"
#include "engine/evaluate.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr,
               "fuzz_slo_yaml: INVARIANT VIOLATED: %s\n  detail: %s\n  input (%zu bytes):\n%.*s\n",
               what, detail.c_str(), input.size(), static_cast<int>(input.size()), input.data());
  std::abort();
}

bool knownBug(std::string_view tag) {
  static const std::string known = [] {
    const char* v = std::getenv("SLOGATE_FUZZ_KNOWN_BUGS");
    return "," + std::string(v != nullptr ? v : "") + ",";
  }();
  return known.find("," + std::string(tag) + ",") != std::string::npos;
}

// Counts documents and ignores everything else.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// True when YAML::LoadAll would never return on `text` (see the top comment).
bool loadAllLoops(std::string_view text) {
  std::istringstream in{std::string(text)};
  DocumentCounter counter;
  try {
    YAML::Parser parser(in);
    for (std::size_t documents = 0; parser.HandleNextDocument(counter);) {
      if (++documents > text.size() + 1) return true;
    }
  } catch (const YAML::Exception&) {
    // LoadAll throws the same; parseSloDocuments must turn it into an error.
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool loops = loadAllLoops(text);
  using slogate::engine::CompiledSlo;
  slogate::Result<std::vector<std::shared_ptr<const CompiledSlo>>> slos =
      slogate::invalidArgument("not run");
  try {
    slos = slogate::config::parseSloDocuments(text, "fuzz.yaml");
  } catch (const std::exception& e) {
    fail("parseSloDocuments threw", text, e.what());
  } catch (...) {
    fail("parseSloDocuments threw a non-std exception", text, "");
  }

  if (loops && slos) fail("accepted a stream on which YAML::LoadAll loops", text, "");
  if (!slos) {
    const slogate::Status& st = slos.status();
    const std::string& msg = st.message();
    if (st.code() != slogate::Code::kInvalidArgument) {
      fail("error is not kInvalidArgument", text, st.toString());
    }
    if (msg.rfind("fuzz.yaml", 0) != 0) fail("error does not start with the file name", text, msg);
    if (msg.find('\n') != std::string::npos && !knownBug("yaml-multiline-error")) {
      fail("error message spans several lines", text, msg);
    }
    return 0;
  }

  if (slos->empty()) fail("success without any SLO", text, "");
  std::set<std::string> ids;
  for (const auto& slo : *slos) {
    if (slo == nullptr) fail("null CompiledSlo", text, "");
    const auto& spec = slo->spec();
    if (!ids.insert(spec.ns + "/" + spec.name).second)
      fail("duplicate id accepted", text, spec.name);
    if (spec.indicators.empty() || slo->rules().empty())
      fail("SLO without indicators or rules", text, spec.name);
    for (const auto& ind : spec.indicators) {
      if (ind.objective <= slogate::engine::kZero || ind.objective >= slogate::engine::kOne) {
        fail("objective outside (0, 1)", text, ind.objective.toString());
      }
    }
    // A fresh state has no events: every rule is unjudged and the budget is
    // whole (1), which freezes only when freezeBelow is 1.
    auto state = slogate::engine::SloState::start(slo, 29'000'000);
    const auto verdict = slogate::engine::evaluate(state);
    const auto expected = spec.policy.freezeBelow >= slogate::engine::kOne
                              ? slogate::engine::Decision::kFreeze
                              : slogate::engine::Decision::kInconclusive;
    if (verdict.decision != expected || verdict.reasons.empty()) {
      fail("a fresh SLO does not evaluate to inconclusive with a reason", text,
           slogate::engine::decisionName(verdict.decision));
    }
  }
  return 0;
}
