#include "gate/gate.h"

#include <algorithm>
#include <condition_variable>
#include <optional>

#include "base/time.h"
#include "config/slo_document.h"
#include "engine/verdict_json.h"
#include "kube/rollout.h"
#include "prometheus/reader.h"

namespace slogate::gate {

using engine::Decision;

struct Gate::State {
  std::string specDump;                            // the spec last compiled
  std::shared_ptr<const engine::CompiledSlo> slo;  // null while invalid
  std::optional<engine::SloState> series;          // null until backfilled
  std::string error;                               // last failure ("" after a success)
  std::shared_ptr<const engine::Verdict> verdict;  // last verdict
  std::int64_t evaluatedAtUnix = 0;
  std::string lastDecision;      // for Events on change
  std::string frozenSince;       // RFC 3339 while frozen
  Json actions = Json::array();  // status.actions: what we did to Rollouts
  // The actions this process took itself. The informer's copy of status may
  // not show them yet (our status write still on its way), so re-reading
  // status.actions (as a follower, or when the lease flickers) keeps them:
  // otherwise the next tick could act again on a cached Rollout that does
  // not show the abort yet, and the next status write would drop the record.
  std::vector<Json> performed;
  bool seeded = false;  // frozen state and actions read from status
  std::string written;  // the status we last wrote (the cache may lag behind it)
};

namespace {

std::int64_t systemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// At most this many records in status.actions (the newest).
constexpr std::size_t kMaxActions = 20;

bool sameAction(const Json& a, const Json& b) {
  return a["revision"].text() == b["revision"].text() && a["action"].text() == b["action"].text() &&
         a["rollout"].text() == b["rollout"].text();
}

// The newest kMaxActions of `records`.
Json newest(const std::vector<Json>& records) {
  Json out = Json::array();
  const std::size_t from = records.size() > kMaxActions ? records.size() - kMaxActions : 0;
  for (std::size_t i = from; i < records.size(); ++i) out.push(records[i]);
  return out;
}

// status.actions as read from the cache, plus what this process did that the
// cache does not show yet.
Json withPerformed(const Json& fromStatus, const std::vector<Json>& performed) {
  std::vector<Json> all;
  if (fromStatus.isArray()) all = fromStatus.items();
  for (const Json& mine : performed) {
    if (std::none_of(all.begin(), all.end(), [&](const Json& r) { return sameAction(r, mine); })) {
      all.push_back(mine);
    }
  }
  return newest(all);
}

std::string nowRfc3339(std::int64_t unix) {
  return formatRfc3339(unix);
}

Json condition(const std::string& type, bool status, const std::string& reason,
               const std::string& message, std::int64_t generation, const Json& previous,
               const std::string& now) {
  Json c = Json::object();
  c.set("type", Json::string(type));
  c.set("status", Json::string(status ? "True" : "False"));
  c.set("reason", Json::string(reason));
  c.set("message", Json::string(message));
  c.set("observedGeneration", Json::number(std::to_string(generation)));
  std::string since = now;
  for (const Json& p : previous.items()) {
    if (p["type"].text() == type && p["status"].text() == c["status"].text()) {
      since = p["lastTransitionTime"].text();
    }
  }
  c.set("lastTransitionTime", Json::string(since));
  return c;
}

std::string actionFor(Decision d, const engine::SloSpec& spec) {
  switch (d) {
    case Decision::kRollback:
      return "abort";
    case Decision::kHalt:
    case Decision::kFreeze:
      return "pause";
    case Decision::kInconclusive:
      return spec.policy.onNoData == engine::OnNoData::kHalt ? "pause" : "";
    case Decision::kApprove:
      return "";
  }
  return "";
}

}  // namespace

Gate::Gate(kube::KubeClient& kube, prometheus::QueryClient& prom, kube::LeaderElector* elector,
           GateOptions options, NowFn now)
    : kube_(kube),
      prom_(prom),
      elector_(elector),
      options_(std::move(options)),
      now_(now ? std::move(now) : NowFn(systemNow)) {}

Gate::~Gate() {
  stop();
}

void Gate::start() {
  slos_ = std::make_unique<kube::Informer>(kube_, kube::resources::kSlo, options_.ns,
                                           [this](const std::string& key) { queue_.add(key); });
  rollouts_ = std::make_unique<kube::Informer>(
      kube_, kube::resources::kRollout, options_.ns, [this](const std::string& rolloutKey) {
        // Requeue the SLOs that gate this Rollout (a new revision may need an action).
        if (!slos_) return;
        for (const auto& slo : slos_->list()) {
          const Json& target = (*slo)["spec"]["target"];
          if (target.isObject() &&
              (*slo)["metadata"]["namespace"].text() + "/" + target["name"].text() == rolloutKey) {
            queue_.add(kube::Informer::keyOf(*slo));
          }
        }
      });
  slos_->start();
  rollouts_->start();
  for (int i = 0; i < std::max(1, options_.workers); ++i)
    threads_.emplace_back([this] { worker(); });
  threads_.emplace_back([this] { ticker(); });
}

void Gate::stop() {
  if (stopping_.exchange(true)) return;
  tickWake_.notify_all();
  queue_.shutDown();
  if (slos_) slos_->stop();
  if (rollouts_) rollouts_->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool Gate::ready() const {
  if (!slos_ || !rollouts_ || !slos_->hasSynced() || !rollouts_->hasSynced()) return false;
  const auto snap = snapshots_.current();
  for (const auto& slo : slos_->list()) {
    if (snap->entries.count(kube::Informer::keyOf(*slo)) == 0) return false;
  }
  return true;
}

bool Gate::leading() const {
  return elector_ == nullptr || elector_->isLeader();
}

void Gate::worker() {
  while (auto key = queue_.get()) {
    reconcile(*key);
    queue_.done(*key);
  }
}

void Gate::ticker() {
  while (!stopping_) {
    if (slos_ && slos_->hasSynced()) {
      for (const auto& slo : slos_->list()) queue_.add(kube::Informer::keyOf(*slo));
    }
    std::unique_lock<std::mutex> lock(tickMu_);
    tickWake_.wait_for(lock, options_.tick, [this] { return stopping_.load(); });
  }
}

void Gate::reconcile(const std::string& key) {
  const std::shared_ptr<const Json> obj = slos_->get(key);
  std::shared_ptr<State> st;
  {
    std::lock_guard<std::mutex> lock(statesMu_);
    if (!obj) {
      states_.erase(key);
      snapshots_.put(key, nullptr);
      if (options_.onPublish) options_.onPublish(key, nullptr);
      return;
    }
    auto& slot = states_[key];
    if (!slot) slot = std::make_shared<State>();
    st = slot;
  }
  const Json& status = (*obj)["status"];
  // Seeded from status once; a follower keeps mirroring what the leader
  // records there, so that when it takes over it neither drops the leader's
  // action history nor announces the leader's decision again.
  if (!st->seeded || !leading()) {
    st->actions = withPerformed(status["actions"], st->performed);
    st->frozenSince = status["frozenSince"].text();
    st->lastDecision = status["decision"].text();
    st->seeded = true;
  }
  const std::int64_t now = now_();
  const engine::Minutes at = engine::floorTo(now - options_.evaluationDelay.count(), 60) / 60;

  // 1. A new spec: compile it (the CLI's loader; JSON is YAML) and start over.
  const std::string specDump = (*obj)["spec"].dump();
  if (specDump != st->specDump) {
    Json doc = Json::object();
    doc.set("apiVersion", Json::string(std::string(config::kApiVersion)));
    doc.set("kind", Json::string(std::string(config::kKind)));
    Json meta = Json::object();
    meta.set("name", (*obj)["metadata"]["name"]);
    meta.set("namespace", (*obj)["metadata"]["namespace"]);
    doc.set("metadata", meta);
    doc.set("spec", (*obj)["spec"]);
    auto parsed = config::parseSloDocuments(doc.dump(), key);
    st->specDump = specDump;
    st->series.reset();
    st->slo = parsed ? parsed->front() : nullptr;
    st->error = parsed ? "" : parsed.status().message();
  }

  // 2. Read Prometheus: a backfill for a new state, the last minutes otherwise.
  if (st->slo) {
    prometheus::SloReader reader(prom_);
    if (!st->series) {
      auto s = reader.backfill(st->slo, at);
      if (s) {
        st->series = std::move(*s);
        if (status["frozen"].isBool()) st->series->frozen = status["frozen"].boolValue();
        st->error.clear();
      } else {
        st->error = "prometheus: " + s.status().message();
      }
    } else if (Status u = reader.update(*st->series, at); !u.isOk()) {
      st->error = "prometheus: " + u.message();
    } else {
      st->error.clear();
    }
  }
  if (st->series && st->error.empty()) {
    auto v = std::make_shared<engine::Verdict>(engine::evaluate(*st->series));
    const auto staleMinutes = static_cast<engine::Minutes>(options_.staleData.count() / 60);
    const auto& newest = st->series->newestData;
    if ((v->decision == Decision::kApprove || v->decision == Decision::kHalt) &&
        (!newest || at - *newest > staleMinutes)) {
      v->reasons.insert(v->reasons.begin(),
                        newest ? "no data from Prometheus since " + formatRfc3339(*newest * 60) +
                                     " (" + std::to_string(at - *newest) +
                                     " minutes): the rules would judge old data"
                               : std::string("no data from Prometheus for this SLO"));
      v->decision = Decision::kInconclusive;
    }
    st->series->frozen = v->frozen;
    if (v->frozen && st->frozenSince.empty()) st->frozenSince = formatRfc3339(v->evaluatedAt * 60);
    if (!v->frozen) st->frozenSince.clear();
    st->verdict = std::move(v);
    st->evaluatedAtUnix = now;
    ++counters_.evaluations;
  } else {
    ++counters_.evaluationErrors;
  }

  // 3. Publish for the webhook and the verdict endpoint (every replica).
  auto entry = std::make_shared<SloEntry>();
  entry->ns = (*obj)["metadata"]["namespace"].text();
  entry->name = (*obj)["metadata"]["name"].text();
  entry->verdict = st->verdict;
  entry->error = st->error;
  entry->evaluatedAtUnix = st->evaluatedAtUnix;
  if ((*obj)["spec"]["target"].isObject())
    entry->targetRollout = (*obj)["spec"]["target"]["name"].text();
  entry->frozenSinceKnown = !st->frozenSince.empty();
  entry->frozenSince = st->frozenSince;
  snapshots_.put(key, entry);
  if (options_.onPublish) options_.onPublish(key, entry);

  // 4. Leader only: act, then write status and Events.
  if (!leading()) return;
  if (st->verdict && st->error.empty()) {
    act(key, *obj, *st, st->verdict->decision,
        st->verdict->reasons.empty() ? std::string() : st->verdict->reasons.front());
  } else if (st->slo && !st->error.empty()) {
    // Prometheus failed: what is published is inconclusive (never the last,
    // stale verdict), so act as onNoData says for inconclusive.
    act(key, *obj, *st, Decision::kInconclusive, "the last evaluation failed: " + st->error);
  }
  writeStatus(key, *obj, *st);
}

void Gate::act(const std::string& key, const Json& slo, State& st, Decision decision,
               const std::string& reason) {
  const engine::SloSpec& spec = st.slo->spec();
  if (!spec.target || spec.policy.mode != engine::Mode::kEnforce) return;
  const std::string action = actionFor(decision, spec);
  if (action.empty()) return;
  const std::string ns = slo["metadata"]["namespace"].text();
  const auto rollout = rollouts_->get(ns + "/" + spec.target->name);
  if (!rollout) return;
  const kube::RolloutProgress p = kube::rolloutProgress(*rollout);
  if (!p.updateInProgress || p.aborted) return;
  if (action == "pause" && p.paused) return;
  for (const Json& a : st.actions.items()) {
    if (a["revision"].text() == p.revision && a["action"].text() == action) return;  // done before
  }
  if (!leading()) return;  // the lease may have been lost while we evaluated
  const Status done = action == "abort" ? kube::abortRollout(kube_, ns, spec.target->name)
                                        : kube::pauseRollout(kube_, ns, spec.target->name);
  if (!done.isOk()) {
    emitEvent(slo, "Warning", "ActionFailed",
              "could not " + action + " Rollout " + spec.target->name + ": " + done.message());
    return;
  }
  ++(action == "abort" ? counters_.aborts : counters_.pauses);
  if (options_.onAction) options_.onAction(action);
  Json record = Json::object();
  record.set("rollout", Json::string(spec.target->name));
  record.set("revision", Json::string(p.revision));
  record.set("decision", Json::string(engine::decisionName(decision)));
  record.set("action", Json::string(action));
  record.set("time", Json::string(nowRfc3339(now_())));
  std::vector<Json> actions = st.actions.items();
  actions.push_back(record);
  st.actions = newest(actions);
  st.performed.push_back(record);
  if (st.performed.size() > kMaxActions) st.performed.erase(st.performed.begin());
  const std::string message = std::string(action == "abort" ? "aborted" : "paused") + " revision " +
                              p.revision + " of Rollout " + spec.target->name + ": SLO " + key +
                              " says " + engine::decisionName(decision) +
                              (reason.empty() ? "" : " (" + reason + ")");
  emitEvent(*rollout, "Warning", action == "abort" ? "SLOGateAbort" : "SLOGatePause", message);
  emitEvent(slo, "Warning", action == "abort" ? "RolloutAborted" : "RolloutPaused", message);
}

void Gate::writeStatus(const std::string& key, const Json& slo, State& st) {
  const Json& old = slo["status"];
  const std::string now = nowRfc3339(now_());
  const std::int64_t generation = slo["metadata"]["generation"].asInt().value_or(0);
  Json status = Json::object();
  if (st.verdict) {
    auto v = Json::parse(engine::verdictJson(*st.verdict));
    if (v) {
      status.set("decision", (*v)["decision"]);
      status.set("reasons", (*v)["reasons"]);
      status.set("indicators", (*v)["indicators"]);
      status.set("frozen", (*v)["frozen"]);
      status.set("lastEvaluationTime", (*v)["evaluatedAt"]);
    }
  }
  if (!st.frozenSince.empty()) status.set("frozenSince", Json::string(st.frozenSince));
  status.set("observedGeneration", Json::number(std::to_string(generation)));
  Json conditions = Json::array();
  const Json& prev = old["conditions"];
  const bool invalid = !st.slo;
  conditions.push(
      condition("Ready", st.error.empty(),
                st.error.empty() ? "Evaluated" : (invalid ? "InvalidSpec" : "PrometheusError"),
                st.error.empty() ? "evaluated from Prometheus" : st.error, generation, prev, now));
  const bool frozen = st.verdict && st.verdict->frozen;
  conditions.push(
      condition("BudgetExhausted", frozen, frozen ? "Frozen" : "BudgetLeft",
                frozen ? "error budget spent: new revisions are denied" : "error budget left",
                generation, prev, now));
  const bool burning = st.verdict && (st.verdict->decision == Decision::kRollback ||
                                      st.verdict->decision == Decision::kHalt);
  conditions.push(
      condition("Burning", burning,
                burning ? (st.verdict->decision == Decision::kRollback ? "FastBurn" : "SlowBurn")
                        : "NotBurning",
                burning && !st.verdict->reasons.empty() ? st.verdict->reasons.front()
                                                        : "no burn-rate rule fires",
                generation, prev, now));
  status.set("conditions", conditions);
  if (!st.actions.items().empty()) status.set("actions", st.actions);

  // Unchanged (ignoring nothing: numbers, reasons and conditions) → no write.
  const std::string dump = status.dump();
  if (dump == old.dump() || dump == st.written) return;
  // Merge patch: indicators no longer present are removed with null.
  Json patchStatus = status;
  if (old["indicators"].isObject()) {
    Json indicators = status["indicators"].isObject() ? status["indicators"] : Json::object();
    for (const auto& [name, value] : old["indicators"].members()) {
      if (!indicators.has(name)) indicators.set(name, Json());
    }
    patchStatus.set("indicators", indicators);
  }
  Json patch = Json::object();
  patch.set("status", patchStatus);
  const std::string ns = slo["metadata"]["namespace"].text();
  const std::string name = slo["metadata"]["name"].text();
  auto r =
      kube_.patch(kube::resources::kSlo, ns, name, kube::PatchType::kMerge, patch.dump(), "status");
  if (r) {
    ++counters_.statusWrites;
    st.written = dump;
  }

  const std::string decision = status["decision"].text();
  if (!decision.empty() && decision != st.lastDecision) {
    const std::string from = st.lastDecision.empty() ? "none" : st.lastDecision;
    std::string message = "decision " + from + " \u2192 " + decision;
    if (st.verdict && !st.verdict->reasons.empty()) message += ": " + st.verdict->reasons.front();
    emitEvent(slo, decision == "approve" ? "Normal" : "Warning", "DecisionChanged", message);
    st.lastDecision = decision;
  }
  (void)key;
}

void Gate::emitEvent(const Json& involved, const std::string& type, const std::string& reason,
                     const std::string& message) {
  const std::string ns = involved["metadata"]["namespace"].text();
  const std::string name = involved["metadata"]["name"].text();
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(nanos));
  const std::string now = nowRfc3339(now_());
  Json ev = Json::object();
  ev.set("apiVersion", Json::string("v1"));
  ev.set("kind", Json::string("Event"));
  Json meta = Json::object();
  meta.set("name", Json::string(name + "." + suffix));
  meta.set("namespace", Json::string(ns));
  ev.set("metadata", meta);
  Json ref = Json::object();
  ref.set("apiVersion", involved["apiVersion"]);
  ref.set("kind", involved["kind"]);
  ref.set("name", Json::string(name));
  ref.set("namespace", Json::string(ns));
  ref.set("uid", involved["metadata"]["uid"]);
  ev.set("involvedObject", ref);
  ev.set("type", Json::string(type));
  ev.set("reason", Json::string(reason));
  ev.set("message", Json::string(message.size() > 1000 ? message.substr(0, 1000) : message));
  Json source = Json::object();
  source.set("component", Json::string("slogate"));
  ev.set("source", source);
  ev.set("reportingComponent", Json::string("slogate"));
  ev.set("reportingInstance", Json::string(options_.identity));
  ev.set("firstTimestamp", Json::string(now));
  ev.set("lastTimestamp", Json::string(now));
  ev.set("count", Json::number("1"));
  if (kube_.create(kube::resources::kEvent, ns, ev).ok()) ++counters_.events;
}

}  // namespace slogate::gate
