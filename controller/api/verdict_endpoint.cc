#include "api/verdict_endpoint.h"

#include "base/json_writer.h"
#include "base/time.h"
#include "engine/verdict_json.h"

namespace slogate::api {
namespace {

std::string inconclusive(const std::string& ns, const std::string& name, std::int64_t at,
                         const std::string& reason) {
  JsonWriter w;
  w.beginObject()
      .key("namespace")
      .string(ns)
      .key("slo")
      .string(name)
      .key("evaluatedAt")
      .string(formatRfc3339(at))
      .key("decision")
      .string("inconclusive")
      .key("reasons")
      .beginArray()
      .string(reason)
      .endArray()
      .key("indicators")
      .beginObject()
      .endObject()
      .endObject();
  return w.take();
}

}  // namespace

VerdictEndpoint::VerdictEndpoint(SnapshotFn snapshot, std::chrono::seconds maxAge, NowFn now)
    : snapshot_(std::move(snapshot)), maxAge_(maxAge), now_(std::move(now)) {}

std::string VerdictEndpoint::verdict(const std::string& ns, const std::string& name) const {
  const std::int64_t now = now_();
  const auto snapshot = snapshot_();
  const gate::SloEntry* e = snapshot->find(ns, name);
  if (e == nullptr) {
    return inconclusive(ns, name, now, "slogate: unknown SLO " + ns + "/" + name);
  }
  if (!e->verdict) {
    return inconclusive(ns, name, now,
                        "slogate: SLO " + ns + "/" + name + " not evaluated yet" +
                            (e->error.empty() ? std::string() : ": " + e->error));
  }
  if (!e->error.empty()) {
    return inconclusive(ns, name, now,
                        "slogate: the last evaluation failed (" + e->error +
                            "); last verdict was " + engine::decisionName(e->verdict->decision) +
                            " at " + formatRfc3339(e->verdict->evaluatedAt * 60));
  }
  if (now - e->evaluatedAtUnix > maxAge_.count()) {
    return inconclusive(ns, name, now,
                        "slogate: stale verdict: last evaluation at " +
                            formatRfc3339(e->evaluatedAtUnix) + ", more than " +
                            std::to_string(maxAge_.count()) + " s ago");
  }
  return engine::verdictJson(*e->verdict);
}

std::optional<std::pair<std::string, std::string>> VerdictEndpoint::parsePath(
    const std::string& path) {
  static const std::string kPrefix = "/v1/namespaces/";
  if (path.rfind(kPrefix, 0) != 0) return std::nullopt;
  const auto nsEnd = path.find('/', kPrefix.size());
  if (nsEnd == std::string::npos) return std::nullopt;
  const std::string ns = path.substr(kPrefix.size(), nsEnd - kPrefix.size());
  static const std::string kSlos = "/slos/";
  if (path.compare(nsEnd, kSlos.size(), kSlos) != 0) return std::nullopt;
  const auto nameStart = nsEnd + kSlos.size();
  const auto nameEnd = path.find('/', nameStart);
  if (nameEnd == std::string::npos || path.substr(nameEnd) != "/verdict") return std::nullopt;
  const std::string name = path.substr(nameStart, nameEnd - nameStart);
  if (ns.empty() || name.empty()) return std::nullopt;
  return std::pair{ns, name};
}

}  // namespace slogate::api
