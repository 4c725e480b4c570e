#include "cli/commands.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

#include "base/secret_file.h"
#include "base/time.h"
#include "cli/flags.h"
#include "config/slo_document.h"
#include "engine/verdict_json.h"
#include "prometheus/client.h"
#include "prometheus/reader.h"

namespace slogate::cli {
namespace {

using engine::Minutes;

// An error that ends the command: its exit code and one stderr line.
struct Failure {
  int code;
  std::string message;
};

void declarePrometheusFlags(Flags& f) {
  f.declare("slo", "FILE", "ServiceLevelObjective documents (YAML; - for stdin)", true);
  f.declare("prometheus", "URL", "Prometheus, Thanos or Mimir base URL", true);
  f.declare("output", "json|text", "json: one verdict per line (default); text: for people");
  f.declare("bearer-token-file", "FILE", "send 'Authorization: Bearer <file contents>'");
  f.declare("basic-auth-user", "USER", "HTTP basic auth user");
  f.declare("basic-auth-password-file", "FILE", "HTTP basic auth password");
  f.declare("header", "'NAME: VALUE'", "extra request header, e.g. 'X-Scope-OrgID: team-a'", false,
            true);
  f.declare("ca-file", "FILE", "PEM CA bundle to verify an https Prometheus");
  f.declare("insecure-skip-verify", "true|false", "do not verify the server certificate");
  f.declare("timeout", "SECONDS", "per-request timeout (default 30)");
  f.declare("parallel", "N", "SLOs read from Prometheus at once (default 4)");
}

Result<std::string> readSecret(const std::string& flag, const std::string& path) {
  auto s = readSecretFile(path, "the password");
  if (!s) return s.status().withContext("--" + flag);
  return s;
}

Result<prometheus::ClientOptions> clientOptions(const Flags& f) {
  prometheus::ClientOptions o;
  o.url = *f.get("prometheus");
  if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
    return invalidArgument("--prometheus: \"" + o.url + "\" is not an http:// or https:// URL");
  }
  if (auto v = f.get("bearer-token-file")) o.bearerTokenFile = *v;
  if (auto v = f.get("basic-auth-user")) o.basicUser = *v;
  if (auto v = f.get("basic-auth-password-file")) {
    auto s = readSecret("basic-auth-password-file", *v);
    if (!s) return s.status();
    o.basicPassword = *s;
  }
  for (const std::string& h : f.getAll("header")) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return invalidArgument("--header: \"" + h + "\" is not 'NAME: VALUE'");
    }
    std::string value = h.substr(colon + 1);
    value.erase(0, std::min(value.find_first_not_of(' '), value.size()));
    o.headers.emplace_back(h.substr(0, colon), value);
  }
  if (auto v = f.get("ca-file")) o.tls.caFile = *v;
  if (auto v = f.get("insecure-skip-verify")) {
    if (*v != "true" && *v != "false") {
      return invalidArgument("--insecure-skip-verify: \"" + *v + "\" is not true or false");
    }
    o.tls.insecureSkipVerify = *v == "true";
  }
  if (auto v = f.get("timeout")) {
    const bool digits =
        !v->empty() && v->size() < 6 && v->find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(*v) == 0) {
      return invalidArgument("--timeout: \"" + *v + "\" is not a whole number of seconds above 0");
    }
    o.timeout = std::chrono::seconds(std::stoi(*v));
  }
  return o;
}

Result<Minutes> minuteFlag(const Flags& f, const std::string& name) {
  const std::string v = *f.get(name);
  auto t = parseTime(v);
  if (!t) return invalidArgument("--" + name + ": \"" + v + "\": " + t.status().message());
  return engine::floorTo(*t, 60) / 60;
}

Result<bool> textOutput(const Flags& f) {
  const std::string o = f.get("output").value_or("json");
  if (o != "json" && o != "text") {
    return invalidArgument("--output: \"" + o + "\" is not json or text");
  }
  return o == "text";
}

std::string sloId(const engine::CompiledSlo& slo) {
  return slo.spec().ns + "/" + slo.spec().name;
}

// Parses flags and loads SLOs and the client: everything before the first query.
struct Setup {
  Flags flags;
  std::vector<std::shared_ptr<const engine::CompiledSlo>> slos;
  std::unique_ptr<prometheus::QueryClient> client;
  bool text = false;
  std::size_t parallel = 4;
};

// Runs fn(0..n-1) on up to `workers` threads.
template <typename Fn>
void parallelFor(std::size_t n, std::size_t workers, Fn fn) {
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < std::min(workers, n); ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

std::optional<Failure> prepare(Setup& s, const std::vector<std::string>& args,
                               const std::string& command) {
  if (Status st = s.flags.parse(args); !st.isOk()) {
    return Failure{kExitInvalidInput, "slogate " + command + ": " + st.message() +
                                          " (see slogate " + command + " --help)"};
  }
  auto text = textOutput(s.flags);
  if (!text)
    return Failure{kExitInvalidInput, "slogate " + command + ": " + text.status().message()};
  s.text = *text;
  if (auto p = s.flags.get("parallel")) {
    const bool digits =
        !p->empty() && p->size() < 4 && p->find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(*p) == 0) {
      return Failure{kExitInvalidInput, "slogate " + command + ": --parallel: \"" + *p +
                                            "\" is not a whole number from 1 to 999"};
    }
    s.parallel = static_cast<std::size_t>(std::stoi(*p));
  }
  auto options = clientOptions(s.flags);
  if (!options) {
    return Failure{kExitInvalidInput, "slogate " + command + ": " + options.status().message()};
  }
  auto slos = config::loadSloFile(*s.flags.get("slo"));
  if (!slos)
    return Failure{kExitInvalidInput, "slogate " + command + ": " + slos.status().message()};
  s.slos = std::move(*slos);
  auto client = prometheus::makeClient(*options);
  if (!client) {
    return Failure{client.status().code() == Code::kInvalidArgument ? kExitInvalidInput
                                                                    : kExitCouldNotEvaluate,
                   "slogate " + command + ": " + client.status().message()};
  }
  s.client = std::move(*client);
  return std::nullopt;
}

bool wantsHelp(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(),
                     [](const std::string& a) { return a == "--help" || a == "-h"; });
}

// A compact line per step for `replay --output text`.
std::string replayLine(const engine::Verdict& v, bool changed) {
  const auto& slo = *v.slo;
  std::string line = formatRfc3339(v.evaluatedAt * 60) + "  " + sloId(slo) + "  ";
  std::string decision = engine::decisionName(v.decision);
  decision.resize(12, ' ');
  line += decision;
  const int oneHour = slo.layout()->indexOf(60);
  for (std::size_t k = 0; k < v.indicatorCount; ++k) {
    const auto& r = v.indicators[k];
    line += std::string("  ") + engine::indicatorName(r.kind) + " budget " +
            r.budgetRemaining.toString(3);
    if (oneHour >= 0) {
      const auto b = r.burnRate(static_cast<std::size_t>(oneHour));
      line += " 1h burn " + (b ? b->toString(2) : std::string("-"));
    }
  }
  if (changed && !v.reasons.empty()) line += "  \u2190 " + v.reasons.front();
  return line;
}

}  // namespace

int exitCodeFor(engine::Decision decision) {
  switch (decision) {
    case engine::Decision::kApprove:
      return 0;
    case engine::Decision::kHalt:
      return 10;
    case engine::Decision::kRollback:
      return 11;
    case engine::Decision::kFreeze:
      return 12;
    case engine::Decision::kInconclusive:
      return 13;
  }
  return kExitCouldNotEvaluate;
}

int runEvaluate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                const NowFn& now) {
  Setup s;
  declarePrometheusFlags(s.flags);
  s.flags.declare("at", "TIME", "evaluate at this time (RFC 3339 or Unix seconds; default now)");
  if (wantsHelp(args)) {
    out << "usage: slogate evaluate --slo FILE --prometheus URL [--at TIME] [--output json|text]\n"
        << s.flags.usage()
        << "exit codes: 0 approve, 10 halt, 11 rollback, 12 freeze, 13 inconclusive,\n"
           "            1 could not evaluate, 2 invalid input (most severe SLO wins)\n";
    return 0;
  }
  if (auto f = prepare(s, args, "evaluate")) {
    err << f->message << "\n";
    return f->code;
  }
  Minutes at = engine::floorTo(now(), 60) / 60;
  if (s.flags.get("at")) {
    auto t = minuteFlag(s.flags, "at");
    if (!t) {
      err << "slogate evaluate: " << t.status().message() << "\n";
      return kExitInvalidInput;
    }
    at = *t;
  }
  prometheus::SloReader reader(*s.client);
  std::vector<std::string> lines(s.slos.size());
  std::vector<engine::Decision> decisions(s.slos.size(), engine::Decision::kApprove);
  std::vector<Status> failures(s.slos.size());
  parallelFor(s.slos.size(), s.parallel, [&](std::size_t n) {
    const auto& slo = s.slos[n];
    auto state = reader.backfill(slo, at);
    if (!state) {
      failures[n] = state.status().withContext(sloId(*slo));
      return;
    }
    const engine::Verdict v = engine::evaluate(*state);
    decisions[n] = v.decision;
    lines[n] = s.text ? engine::verdictText(v) : engine::verdictJson(v) + "\n";
  });
  // The first failure in file order, so the message does not depend on timing.
  for (const Status& f : failures) {
    if (!f.isOk()) {
      err << "slogate evaluate: " << f.message() << "\n";
      return kExitCouldNotEvaluate;
    }
  }
  std::string output;
  for (const std::string& line : lines) output += line;
  const engine::Decision worst = *std::max_element(decisions.begin(), decisions.end());
  out << output << std::flush;
  return exitCodeFor(worst);
}

int runReplay(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Setup s;
  declarePrometheusFlags(s.flags);
  s.flags.declare("from", "TIME", "first step (RFC 3339 or Unix seconds)", true);
  s.flags.declare("to", "TIME", "last step, inclusive", true);
  s.flags.declare("step", "DURATION", "time between steps (default 1m)");
  s.flags.declare("changes", "true|false",
                  "print only the steps where an SLO's decision changed (default false)");
  if (wantsHelp(args)) {
    out << "usage: slogate replay --slo FILE --prometheus URL --from TIME --to TIME [--step 1m]\n"
        << s.flags.usage()
        << "exit codes: 0 every step evaluated, 1 evaluation failed, 2 invalid input\n";
    return 0;
  }
  if (auto f = prepare(s, args, "replay")) {
    err << f->message << "\n";
    return f->code;
  }
  auto from = minuteFlag(s.flags, "from");
  auto to = minuteFlag(s.flags, "to");
  Result<Minutes> step = s.flags.get("step") ? engine::parseDuration(*s.flags.get("step"))
                                             : Result<Minutes>(Minutes{1});
  if (!from || !to || !step) {
    err << "slogate replay: "
        << (!from ? from.status().message()
            : !to ? to.status().message()
                  : "--step: \"" + *s.flags.get("step") + "\": " + step.status().message())
        << "\n";
    return kExitInvalidInput;
  }
  if (*to < *from) {
    err << "slogate replay: --to (" << formatRfc3339(*to * 60) << ") is before --from ("
        << formatRfc3339(*from * 60) << ")\n";
    return kExitInvalidInput;
  }
  const std::string changes = s.flags.get("changes").value_or("false");
  if (changes != "true" && changes != "false") {
    err << "slogate replay: --changes: \"" << changes << "\" is not true or false\n";
    return kExitInvalidInput;
  }
  const bool changesOnly = changes == "true";
  const Minutes steps = (*to - *from) / *step + 1;
  if (steps * static_cast<Minutes>(s.slos.size()) > 5'000'000) {
    err << "slogate replay: " << steps << " steps for " << s.slos.size()
        << " SLOs is more than 5,000,000 verdicts; use a larger --step or a shorter range\n";
    return kExitInvalidInput;
  }

  prometheus::SloReader reader(*s.client);
  // lines[step][slo]: printed in time order once everything was evaluated.
  std::vector<std::vector<std::string>> lines(static_cast<std::size_t>(steps),
                                              std::vector<std::string>(s.slos.size()));
  std::vector<Status> failures(s.slos.size());
  parallelFor(s.slos.size(), s.parallel, [&](std::size_t n) {
    const auto& slo = s.slos[n];
    const auto fail = [&](const Status& st) { failures[n] = st.withContext(sloId(*slo)); };
    // One backfill at --from, then every minute up to --to in one pass.
    auto state = reader.backfill(slo, *from);
    if (!state) return fail(state.status());

    std::vector<prometheus::Slices> minutes;
    for (std::size_t k = 0; k < slo->spec().indicators.size(); ++k) {
      auto m = reader.fetch(*slo, k, 1, *from, *to);
      if (!m)
        return fail(m.status().withContext(engine::indicatorName(slo->spec().indicators[k].kind)));
      minutes.push_back(std::move(*m));
    }
    std::vector<std::size_t> next(minutes.size(), 0);
    engine::Verdict v;
    std::optional<engine::Decision> previous;
    for (Minutes i = 0; i < steps; ++i) {
      const Minutes t = *from + i * *step;
      for (std::size_t k = 0; k < minutes.size(); ++k) {
        for (; next[k] < minutes[k].size() && minutes[k][next[k]].end <= t; ++next[k]) {
          const auto& m = minutes[k][next[k]];
          state->series[k].record(1, m.end, m.total, m.bad);
        }
      }
      state->advanceTo(t);
      engine::evaluate(*state, v);
      state->frozen = v.frozen;
      const bool changed = !previous || *previous != v.decision;
      previous = v.decision;
      if (changesOnly && !changed) continue;
      lines[static_cast<std::size_t>(i)][n] =
          s.text ? replayLine(v, changed) : engine::verdictJson(v);
    }
  });
  for (const Status& f : failures) {
    if (!f.isOk()) {
      err << "slogate replay: " << f.message() << "\n";
      return kExitCouldNotEvaluate;
    }
  }
  std::string output;
  for (const auto& row : lines) {
    for (const auto& line : row) {
      if (!line.empty()) output += line + "\n";
    }
  }
  out << output << std::flush;
  return 0;
}

}  // namespace slogate::cli
