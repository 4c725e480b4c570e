#include "fakes/fake_apiserver_core.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <functional>
#include <optional>
#include <random>
#include <string_view>
#include <tuple>
#include <utility>

#include "base/time.h"
#include "fakes/json_patch.h"

namespace slogate::fakes {

namespace {

constexpr const char* kForbiddenUser = "system:serviceaccount:default:forbidden";
constexpr const char* kOptimisticLockMessage =
    "the object has been modified; please apply your changes to the latest version and try again";
constexpr const char* kNotFoundMessage = "the server could not find the requested resource";
constexpr const char* kContinueTooOldMessage =
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list.";
constexpr const char* kInitialEventsAnnotation = "k8s.io/initial-events-end";
constexpr std::size_t kMaxNameLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

// The served resources. One row per resource; see ResourceType.
std::vector<ResourceType> makeResourceTypes() {
  std::vector<ResourceType> types;
  auto add = [&types](std::string group, std::string version, std::string kind, std::string plural,
                      std::string singular) -> ResourceType& {
    ResourceType& t = types.emplace_back();
    t.group = std::move(group);
    t.version = std::move(version);
    t.kind = std::move(kind);
    t.plural = std::move(plural);
    t.singular = std::move(singular);
    return t;
  };
  {
    ResourceType& t = add("", "v1", "Namespace", "namespaces", "namespace");
    t.namespaced = false;
    t.statusSubresource = true;
    t.shortNames = {"ns"};
    t.fieldLabels = {{"status.phase", "status.phase"}};
  }
  {
    ResourceType& t = add("", "v1", "Event", "events", "event");
    t.createOnUpdate = true;
    t.shortNames = {"ev"};
    for (const char* f :
         {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
          "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
          "involvedObject.fieldPath", "reason", "reportingComponent", "type"}) {
      t.fieldLabels.emplace_back(f, f);
    }
    t.fieldLabels.emplace_back("source", "source.component");
  }
  {
    ResourceType& t = add("apps", "v1", "Deployment", "deployments", "deployment");
    t.statusSubresource = true;
    t.generation = true;
    t.shortNames = {"deploy"};
  }
  {
    ResourceType& t = add("argoproj.io", "v1alpha1", "Rollout", "rollouts", "rollout");
    t.statusSubresource = true;
    t.customResource = true;
    t.generation = true;
    t.unconditionalUpdate = false;
    t.shortNames = {"ro"};
  }
  {
    ResourceType& t = add("slogate.dev", "v1alpha1", "ServiceLevelObjective",
                          "servicelevelobjectives", "servicelevelobjective");
    t.statusSubresource = true;
    t.customResource = true;
    t.generation = true;
    t.unconditionalUpdate = false;
    t.shortNames = {"slo"};
  }
  {
    ResourceType& t = add("coordination.k8s.io", "v1", "Lease", "leases", "lease");
    t.createOnUpdate = true;
    t.unconditionalUpdate = false;
  }
  {
    ResourceType& t = add("events.k8s.io", "v1", "Event", "events", "event");
    t.createOnUpdate = true;
    t.shortNames = {"ev"};
    for (const char* f : {"regarding.kind", "regarding.namespace", "regarding.name",
                          "regarding.uid", "regarding.apiVersion", "regarding.resourceVersion",
                          "regarding.fieldPath", "reason", "reportingController", "type"}) {
      t.fieldLabels.emplace_back(f, f);
    }
  }
  return types;
}

std::size_t namespaceType() {
  return 0;
}  // the first row above

using Query = std::multimap<std::string, std::string>;

// ---------------------------------------------------------------------------
// Small string and JSON helpers.

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(std::string_view text, bool plusIsSpace) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plusIsSpace && c == '+') ? ' ' : c;
  }
  return out;
}

Query parseQuery(std::string_view raw) {
  Query query;
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    const std::string_view pair = raw.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      const std::string_view key = pair.substr(0, eq);
      const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
      query.emplace(urlDecode(key, true), urlDecode(value, true));
    }
    start = end + 1;
  }
  return query;
}

std::string queryValue(const Query& query, const std::string& key) {
  const auto it = query.find(key);
  return it == query.end() ? "" : it->second;
}

bool hasQuery(const Query& query, const std::string& key) {
  return query.count(key) > 0;
}

// Go's strconv.ParseBool, false for anything it rejects.
bool parseBool(const std::string& text) {
  return text == "1" || text == "t" || text == "T" || text == "true" || text == "TRUE" ||
         text == "True";
}

std::optional<std::int64_t> parseInt(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string trim(std::string_view text) {
  std::size_t b = 0;
  std::size_t e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b])) != 0) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1])) != 0) --e;
  return std::string(text.substr(b, e - b));
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) segments.push_back(urlDecode(path.substr(start, end - start), false));
    start = end + 1;
  }
  return segments;
}

std::string nowRfc3339() {
  return formatRfc3339(static_cast<std::int64_t>(std::time(nullptr)));
}

const std::string& metaText(const Json& object, std::string_view key) {
  return object["metadata"][key].text();
}

Json setMeta(Json object, const std::string& key, Json value) {
  Json meta = object["metadata"].isObject() ? object["metadata"] : Json::object();
  if (value.isNull()) {
    meta = withoutMember(meta, key);
  } else {
    meta.set(key, std::move(value));
  }
  object.set("metadata", std::move(meta));
  return object;
}

Json copyMember(Json to, const Json& from, const std::string& key) {
  if (from.has(key)) {
    to.set(key, from[key]);
    return to;
  }
  return withoutMember(to, key);
}

Json number(std::int64_t value) {
  return Json::number(std::to_string(value));
}

// apiVersion, kind, metadata first, status last: the order a real server prints.
Json canonical(const Json& object) {
  Json out = Json::object();
  for (const char* key : {"apiVersion", "kind", "metadata"}) {
    if (object.has(key)) out.set(key, object[key]);
  }
  for (const auto& [key, value] : object.members()) {
    if (key != "apiVersion" && key != "kind" && key != "metadata" && key != "status") {
      out.set(key, value);
    }
  }
  if (object.has("status")) out.set("status", object["status"]);
  return out;
}

// ---------------------------------------------------------------------------
// Status objects.

std::string reasonFor(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

std::string messageFor(int code) {
  switch (code) {
    case 429:
      return "Too many requests, please try again later.";
    case 500:
      return "Internal error occurred: injected failure";
    case 503:
      return "the server is currently unable to handle the request";
    case 504:
      return "the server was unable to return a response in the time allotted, but may still be "
             "processing the request";
    default:
      return "injected failure (HTTP " + std::to_string(code) + ")";
  }
}

Json statusJson(int code, const std::string& reason, const std::string& message,
                const Json& details = Json()) {
  Json s = Json::object();
  s.set("kind", Json::string("Status"));
  s.set("apiVersion", Json::string("v1"));
  s.set("metadata", Json::object());
  s.set("status", Json::string("Failure"));
  s.set("message", Json::string(message));
  if (!reason.empty()) s.set("reason", Json::string(reason));
  if (!details.isNull()) s.set("details", details);
  s.set("code", number(code));
  return s;
}

ApiCore::Outcome fail(int code, const std::string& reason, const std::string& message,
                      const Json& details = Json()) {
  return {code, statusJson(code, reason, message, details)};
}

Json resourceDetails(const ResourceType& type, const std::string& name) {
  Json d = Json::object();
  if (!name.empty()) d.set("name", Json::string(name));
  if (!type.group.empty()) d.set("group", Json::string(type.group));
  d.set("kind", Json::string(type.plural));
  return d;
}

ApiCore::Outcome notFound(const ResourceType& type, const std::string& name) {
  return fail(404, "NotFound", type.groupResource() + " \"" + name + "\" not found",
              resourceDetails(type, name));
}

ApiCore::Outcome pathNotFound() {
  return fail(404, "NotFound", kNotFoundMessage, Json::object());
}

ApiCore::Outcome alreadyExists(const ResourceType& type, const std::string& name) {
  return fail(409, "AlreadyExists", type.groupResource() + " \"" + name + "\" already exists",
              resourceDetails(type, name));
}

ApiCore::Outcome conflict(const ResourceType& type, const std::string& name,
                          const std::string& why = kOptimisticLockMessage) {
  return fail(
      409, "Conflict",
      "Operation cannot be fulfilled on " + type.groupResource() + " \"" + name + "\": " + why,
      resourceDetails(type, name));
}

ApiCore::Outcome badRequest(const std::string& message) {
  return fail(400, "BadRequest", message);
}

ApiCore::Outcome methodNotAllowed() {
  return fail(405, "MethodNotAllowed",
              "the server does not allow this method on the requested resource", Json::object());
}

// 415 for a body in a format the fake does not take. `accepted` lists the
// types it does take here.
ApiCore::Outcome unsupportedMediaType(const std::string& accepted) {
  return fail(415, "UnsupportedMediaType",
              "the body of the request was in an unknown format - accepted media types include: " +
                  accepted);
}

std::string acceptedPatchTypes(const ResourceType& type) {
  return type.customResource
             ? "application/json-patch+json, application/merge-patch+json, "
               "application/apply-patch+yaml"
             : "application/json-patch+json, application/merge-patch+json, "
               "application/strategic-merge-patch+json, application/apply-patch+yaml";
}

ApiCore::Outcome expired(const std::string& message) {
  return fail(410, "Expired", message);
}

ApiCore::Outcome tooLargeResourceVersion(std::int64_t requested, std::int64_t current) {
  Json cause = Json::object();
  cause.set("reason", Json::string("ResourceVersionTooLarge"));
  cause.set("message", Json::string("Too large resource version"));
  Json causes = Json::array();
  causes.push(cause);
  Json details = Json::object();
  details.set("causes", causes);
  details.set("retryAfterSeconds", number(1));
  return fail(504, "Timeout",
              "Too large resource version: " + std::to_string(requested) +
                  ", current: " + std::to_string(current),
              details);
}

// 422 with one field cause. `qualifier` is "Rollout.argoproj.io" (a kind) or
// "rollouts.argoproj.io" (a resource), as the real server words each case.
ApiCore::Outcome invalid(const ResourceType& type, const std::string& qualifier,
                         const std::string& name, const std::string& field,
                         const std::string& causeReason, const std::string& detail) {
  Json cause = Json::object();
  cause.set("reason", Json::string(causeReason));
  cause.set("message", Json::string(detail));
  cause.set("field", Json::string(field));
  Json causes = Json::array();
  causes.push(cause);
  Json details = Json::object();
  details.set("name", Json::string(name));
  if (!type.group.empty()) details.set("group", Json::string(type.group));
  details.set("kind", Json::string(type.kind));
  details.set("causes", causes);
  return fail(422, "Invalid", qualifier + " \"" + name + "\" is invalid: " + field + ": " + detail,
              details);
}

std::string kindQualifier(const ResourceType& type) {
  return type.group.empty() ? type.kind : type.kind + "." + type.group;
}

// ---------------------------------------------------------------------------
// Validation.

bool isAlnumLower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 1123 subdomain (or label when `label`): what metadata.name must be.
std::optional<std::string> nameProblem(const std::string& name, bool label) {
  const std::size_t max = label ? kMaxLabelLength : kMaxNameLength;
  bool ok = !name.empty() && name.size() <= max && isAlnumLower(name.front()) &&
            isAlnumLower(name.back());
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    const char c = name[i];
    if (isAlnumLower(c) || c == '-') continue;
    if (c == '.' && !label && name[i - 1] != '.' && name[i - 1] != '-' &&
        isAlnumLower(name[i + 1])) {
      continue;
    }
    ok = false;
  }
  if (ok) return std::nullopt;
  if (label) {
    return "Invalid value: \"" + name +
           "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
           "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
           "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return "Invalid value: \"" + name +
         "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
         "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
         "regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

bool validLabelValue(const std::string& value) {
  if (value.size() > kMaxLabelLength) return false;
  for (char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return value.empty() || (std::isalnum(static_cast<unsigned char>(value.front())) != 0 &&
                           std::isalnum(static_cast<unsigned char>(value.back())) != 0);
}

bool validLabelKey(const std::string& key) {
  if (key.empty() || key.size() > kMaxNameLength + kMaxLabelLength + 1) return false;
  const std::size_t slash = key.find('/');
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (name.empty() || !validLabelValue(name)) return false;
  if (slash != std::string::npos) {
    const std::string prefix = key.substr(0, slash);
    if (prefix.empty() || nameProblem(prefix, false)) return false;
  }
  return true;
}

// Checks and fills in apiVersion and kind of a request body.
std::optional<ApiCore::Outcome> checkTypeMeta(const ResourceType& type, Json& object) {
  const Json& apiVersion = object["apiVersion"];
  const Json& kind = object["kind"];
  if (type.customResource && (kind.text().empty() || apiVersion.text().empty())) {
    return badRequest("Object 'Kind' is missing in '" + object.dump() + "'");
  }
  if (!apiVersion.text().empty() && apiVersion.text() != type.apiVersion()) {
    return badRequest("the API version in the data (" + apiVersion.text() +
                      ") does not match the expected API version (" + type.apiVersion() + ")");
  }
  if (!kind.text().empty() && kind.text() != type.kind) {
    return badRequest("the kind in the data (" + kind.text() +
                      ") does not match the expected kind (" + type.kind + ")");
  }
  object.set("apiVersion", Json::string(type.apiVersion()));
  object.set("kind", Json::string(type.kind));
  return std::nullopt;
}

// The object without metadata and status: what generation tracks.
Json generationContent(const Json& object) {
  return withoutMember(withoutMember(object, "metadata"), "status");
}

bool sameIgnoringResourceVersion(const Json& a, const Json& b) {
  return jsonEqual(setMeta(a, "resourceVersion", Json()), setMeta(b, "resourceVersion", Json()));
}

std::string fieldValue(const Json& object, const std::string& path) {
  const Json* node = &object;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('.', start);
    if (end == std::string::npos) end = path.size();
    node = &(*node)[std::string_view(path).substr(start, end - start)];
    start = end + 1;
  }
  if (node->isBool()) return node->boolValue() ? "true" : "false";
  return node->text();
}

// ---------------------------------------------------------------------------
// base64 for continue tokens.

// URL-safe alphabet without padding (Go's base64.RawURLEncoding), like the
// real server's continue tokens: they travel in query strings unescaped.
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64Encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view in) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const std::size_t pos = kBase64.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string ageText(const Json& object) {
  const Result<std::int64_t> created = parseTime(metaText(object, "creationTimestamp"));
  if (!created) return "<unknown>";
  const std::int64_t seconds =
      std::max<std::int64_t>(0, static_cast<std::int64_t>(std::time(nullptr)) - *created);
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

// A meta.k8s.io/v1 Table (what kubectl's default output asks for): NAME and AGE.
Json tableOf(const std::vector<Json>& objects, std::int64_t rv) {
  Json table = Json::object();
  table.set("kind", Json::string("Table"));
  table.set("apiVersion", Json::string("meta.k8s.io/v1"));
  Json meta = Json::object();
  meta.set("resourceVersion", Json::string(std::to_string(rv)));
  table.set("metadata", meta);
  Json columns = Json::array();
  for (const auto& [name, type, format, description] :
       std::vector<std::tuple<const char*, const char*, const char*, const char*>>{
           {"Name", "string", "name", "Name must be unique within a namespace."},
           {"Age", "date", "", "CreationTimestamp of the object."}}) {
    Json column = Json::object();
    column.set("name", Json::string(name));
    column.set("type", Json::string(type));
    column.set("format", Json::string(format));
    column.set("description", Json::string(description));
    column.set("priority", number(0));
    columns.push(column);
  }
  table.set("columnDefinitions", columns);
  Json rows = Json::array();
  for (const Json& object : objects) {
    Json cells = Json::array();
    cells.push(Json::string(metaText(object, "name")));
    cells.push(Json::string(ageText(object)));
    Json partial = Json::object();
    partial.set("kind", Json::string("PartialObjectMetadata"));
    partial.set("apiVersion", Json::string("meta.k8s.io/v1"));
    partial.set("metadata", object["metadata"]);
    Json row = Json::object();
    row.set("cells", cells);
    row.set("object", partial);
    rows.push(row);
  }
  table.set("rows", rows);
  return table;
}

bool wantsTable(const std::string& accept) {
  return accept.find("as=Table") != std::string::npos;
}

bool acceptsJson(const std::string& accept) {
  if (trim(accept).empty()) return true;
  std::size_t start = 0;
  while (start <= accept.size()) {
    std::size_t end = accept.find(',', start);
    if (end == std::string::npos) end = accept.size();
    std::string type = trim(std::string_view(accept).substr(start, end - start));
    type = lower(trim(type.substr(0, type.find(';'))));
    if (type == "application/json" || type == "*/*" || type == "application/*") return true;
    start = end + 1;
  }
  return false;
}

std::string mediaType(const std::string& contentType) {
  return lower(trim(contentType.substr(0, contentType.find(';'))));
}

HttpResponse toResponse(const ApiCore::Outcome& outcome) {
  HttpResponse response;
  response.status = outcome.code;
  response.body = outcome.body.dump();
  return response;
}

// ---------------------------------------------------------------------------
// Validating admission webhooks (kube-apiserver's generic webhook dispatcher).

// How often one request may be re-run because its object changed while
// webhooks were being called.
constexpr int kMaxAdmissionPasses = 10;
constexpr const char* kReviewApiVersion = "admission.k8s.io/v1";

bool listed(const std::vector<std::string>& list, const std::string& value) {
  return std::any_of(list.begin(), list.end(),
                     [&value](const std::string& s) { return s == "*" || s == value; });
}

// RuleWithOperations matching, as k8s.io/apiserver's rules.Matcher: each
// resources entry is "resource[/subresource]" where either part may be "*";
// no "/" means the main resource only.
bool ruleMatches(const WebhookRule& rule, const ResourceType& type, const std::string& subresource,
                 const std::string& operation) {
  if (!listed(rule.operations, operation) || !listed(rule.apiGroups, type.group) ||
      !listed(rule.apiVersions, type.version)) {
    return false;
  }
  if (rule.scope == "Namespaced" && !type.namespaced) return false;
  if (rule.scope == "Cluster" && type.namespaced) return false;
  return std::any_of(rule.resources.begin(), rule.resources.end(), [&](const std::string& entry) {
    const std::size_t slash = entry.find('/');
    const std::string res = entry.substr(0, slash);
    const std::string sub = slash == std::string::npos ? "" : entry.substr(slash + 1);
    return (res == "*" || res == type.plural) && (sub == "*" || sub == subresource);
  });
}

bool webhookMatches(const ValidatingWebhook& webhook, const ResourceType& type,
                    const std::string& subresource, const std::string& operation) {
  return std::any_of(webhook.rules.begin(), webhook.rules.end(), [&](const WebhookRule& rule) {
    return ruleMatches(rule, type, subresource, operation);
  });
}

// `299 - "<text>"` with '"' and '\' escaped, as k8s.io/apimachinery's
// net.NewWarningHeader writes it.
std::string warningHeader(const std::string& text) {
  std::string out = "299 - \"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    // A control character would end or break the header line.
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? ' ' : c;
  }
  return out + "\"";
}

// The text client-go's REST client gives a non-2xx answer that is not a
// Status object (apierrors.NewGenericServerResponse): the body itself only
// when it is text/*.
std::string unexpectedResponse(const WebhookReply& reply) {
  if (Result<Json> status = Json::parse(reply.body);
      status && (*status)["kind"].text() == "Status" && !(*status)["message"].text().empty()) {
    return (*status)["message"].text();
  }
  const std::string body =
      mediaType(reply.contentType).rfind("text/", 0) == 0 ? trim(reply.body) : "unknown";
  switch (reply.status) {
    case 400:
      return "the server rejected our request for an unknown reason";
    case 401:
      return "the server has asked for the client to provide credentials";
    case 403:
      return "forbidden: " + body;
    case 404:
      return "the server could not find the requested resource";
    case 405:
      return "the server does not allow this method on the requested resource";
    case 406:
      return "the server was unable to respond with a content type that the client supports";
    case 409:
      return "the server reported a conflict";
    case 413:
      return "the server has rejected the request because it is too large";
    case 415:
      return "the server was unable to handle the request due to unsupported media type";
    case 422:
      return "the server rejected our request due to an error in our request";
    case 429:
      return "the server has received too many requests and has asked us to try again later";
    case 503:
      return "the server is currently unable to handle the request";
    case 504:
      return "the server was unable to return a response in the time allotted, but may still be "
             "processing the request";
    default:
      return "an error on the server (\"" + body + "\") has prevented the request from succeeding";
  }
}

// The Status a denial answers (k8s.io/apiserver webhook errors.ToStatusErr,
// 1.24-1.30): the webhook's status with a code of at least 400, status
// Failure, and the message prefixed with the webhook's name.
ApiCore::Outcome denial(const std::string& webhookName, const Json& result) {
  std::int64_t code = result["code"].asInt().value_or(0);
  if (code < 400) code = 400;
  std::string status = result["status"].text();
  if (status.empty() || status == "Success") status = "Failure";
  const std::string deniedBy = "admission webhook \"" + webhookName + "\" denied the request";
  std::string message = deniedBy + " without explanation";
  if (!result["message"].text().empty()) {
    message = deniedBy + ": " + result["message"].text();
  } else if (!result["reason"].text().empty()) {
    message = deniedBy + ": " + result["reason"].text();
  }
  Json s = Json::object();
  s.set("kind", Json::string("Status"));
  s.set("apiVersion", Json::string("v1"));
  s.set("metadata", Json::object());
  s.set("status", Json::string(status));
  s.set("message", Json::string(message));
  if (!result["reason"].text().empty()) s.set("reason", result["reason"]);
  if (result["details"].isObject()) s.set("details", result["details"]);
  s.set("code", number(code));
  return {static_cast<int>(code), s};
}

}  // namespace

struct ApiCore::Admission {
  struct Review {
    ValidatingWebhook webhook;
    std::string key;  // webhook name and request: the same request is answered once
    Json request;     // the AdmissionRequest without its uid
    bool answered = false;
    std::optional<Outcome> rejection;  // a denial, or a failed call under Fail
    std::vector<std::string> warnings;
  };

  // What the request is; set by resourceRequest().
  std::string method;
  std::string subresource;
  bool dryRun = false;
  std::string fieldManager;
  // Values chosen by the first pass and kept by the later ones, so the object
  // the webhooks reviewed is the object stored.
  std::string uid;
  std::string creationTimestamp;
  std::string generatedName;

  std::vector<Review> reviews;
  std::vector<std::size_t> pending;   // reviews to send before the next pass
  std::vector<std::string> warnings;  // of this pass's answers, without duplicates
};

const std::vector<ResourceType>& resourceTypes() {
  static const std::vector<ResourceType> types = makeResourceTypes();
  return types;
}

// ---------------------------------------------------------------------------
// Construction and direct access.

ApiCore::ApiCore(FakeApiServerOptions options, std::string serverAddress)
    : options_(std::move(options)),
      serverAddress_(std::move(serverAddress)),
      objects_(resourceTypes().size()),
      random_(std::random_device{}()) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    ensureNamespace(ns);
  }
}

ApiCore::~ApiCore() = default;

Json ApiCore::apply(const Json& object) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<ResourceType>& types = resourceTypes();
  std::size_t type = types.size();
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i].apiVersion() == object["apiVersion"].text() &&
        types[i].kind == object["kind"].text()) {
      type = i;
    }
  }
  if (type == types.size()) {
    return statusJson(404, "NotFound",
                      "no matches for kind \"" + object["kind"].text() + "\" in version \"" +
                          object["apiVersion"].text() + "\"");
  }
  const ResourceType& rt = types[type];
  const std::string& name = metaText(object, "name");
  if (name.empty()) {
    return invalid(rt, kindQualifier(rt), name, "metadata.name", "FieldValueRequired",
                   "Required value: name or generateName is required")
        .body;
  }
  Json obj = object;
  std::string ns;
  if (rt.namespaced) {
    ns = metaText(object, "namespace").empty() ? "default" : metaText(object, "namespace");
    obj = setMeta(std::move(obj), "namespace", Json::string(ns));
    ensureNamespace(ns);
  } else {
    obj = setMeta(std::move(obj), "namespace", Json());
  }
  const Json* existing = find(type, ns, name);
  if (existing == nullptr) return insertNew(type, obj, /*keepStatus=*/true, false).body;
  obj = setMeta(std::move(obj), "resourceVersion", (*existing)["metadata"]["resourceVersion"]);
  const Json current = *existing;
  return writeExisting(type, current, obj, /*statusOnly=*/false, /*keepStatus=*/true, false).body;
}

std::optional<Json> ApiCore::get(const std::string& apiVersion, const std::string& kind,
                                 const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<ResourceType>& types = resourceTypes();
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i].apiVersion() != apiVersion || types[i].kind != kind) continue;
    const Json* object = find(i, types[i].namespaced ? ns : "", name);
    if (object != nullptr) return *object;
  }
  return std::nullopt;
}

bool ApiCore::remove(const std::string& apiVersion, const std::string& kind, const std::string& ns,
                     const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<ResourceType>& types = resourceTypes();
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i].apiVersion() != apiVersion || types[i].kind != kind) continue;
    const Json* object = find(i, types[i].namespaced ? ns : "", name);
    if (object == nullptr) return false;
    const Json current = *object;
    (void)deleteExisting(i, current, false);
    return true;
  }
  return false;
}

std::vector<Json> ApiCore::list(const std::string& apiVersion, const std::string& kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Json> out;
  const std::vector<ResourceType>& types = resourceTypes();
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i].apiVersion() != apiVersion || types[i].kind != kind) continue;
    for (const auto& [key, object] : objects_[i]) out.push_back(object);
  }
  return out;
}

void ApiCore::compact() {
  std::lock_guard<std::mutex> lock(mu_);
  history_.clear();
  compactedRv_ = rv_;
}

void ApiCore::failNext(int status, int count, const std::string& retryAfter) {
  std::lock_guard<std::mutex> lock(mu_);
  failStatus_ = status;
  failCount_ = count;
  failRetryAfter_ = retryAfter;
}

void ApiCore::setBookmarkInterval(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(mu_);
  bookmarkInterval_ = interval;
}

std::chrono::milliseconds ApiCore::bookmarkInterval() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bookmarkInterval_;
}

std::vector<RecordedRequest> ApiCore::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void ApiCore::clearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
  requestIds_.clear();
  webhookCalls_.clear();
}

std::int64_t ApiCore::resourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rv_;
}

// ---------------------------------------------------------------------------
// Watches.

void ApiCore::stopWatch(const WatchSink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(),
                                 [sink](const Watcher& w) { return w.sink.get() == sink; }),
                  watchers_.end());
}

void ApiCore::closeWatches() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Watcher& w : watchers_) w.sink->finish();
  watchers_.clear();
}

void ApiCore::dropWatches() {
  std::vector<Watcher> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dropped.swap(watchers_);
  }
  // The sinks are released here, outside the lock.
}

void ApiCore::emitBookmarks() {
  std::lock_guard<std::mutex> lock(mu_);
  if (holdEvents_) return;
  for (Watcher& w : watchers_) {
    if (w.bookmarks) w.sink->send(bookmarkLine(w.filter.type, false));
  }
}

std::string ApiCore::bookmarkLine(std::size_t type, bool initialEventsEnd) const {
  const ResourceType& rt = resourceTypes()[type];
  Json meta = Json::object();
  meta.set("resourceVersion", Json::string(std::to_string(rv_)));
  if (!rt.customResource) meta.set("creationTimestamp", Json());
  if (initialEventsEnd) {
    Json annotations = Json::object();
    annotations.set(kInitialEventsAnnotation, Json::string("true"));
    meta.set("annotations", annotations);
  }
  Json object = Json::object();
  object.set("kind", Json::string(rt.kind));
  object.set("apiVersion", Json::string(rt.apiVersion()));
  object.set("metadata", meta);
  Json event = Json::object();
  event.set("type", Json::string("BOOKMARK"));
  event.set("object", object);
  return event.dump() + "\n";
}

std::optional<std::string> ApiCore::eventLine(const Watcher& watcher,
                                              const HistoryEvent& event) const {
  if (event.type != watcher.filter.type) return std::nullopt;
  const bool now = matches(watcher.filter, event.object);
  const bool before = event.previous.has_value() && matches(watcher.filter, *event.previous);
  std::string type;
  if (event.eventType == "ADDED") {
    if (now) type = "ADDED";
  } else if (event.eventType == "DELETED") {
    if (now) type = "DELETED";
  } else if (now && before) {
    type = "MODIFIED";
  } else if (now) {
    type = "ADDED";  // moved into the selection
  } else if (before) {
    type = "DELETED";  // moved out of the selection
  }
  if (type.empty()) return std::nullopt;
  Json line = Json::object();
  line.set("type", Json::string(type));
  line.set("object", event.object);
  return line.dump() + "\n";
}

void ApiCore::notify(const HistoryEvent& event) {
  for (Watcher& w : watchers_) {
    std::optional<std::string> line = eventLine(w, event);
    if (!line) continue;
    if (holdEvents_) {
      w.held.push_back(std::move(*line));
    } else {
      w.sink->send(std::move(*line));
    }
  }
}

void ApiCore::holdWatchEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  holdEvents_ = true;
}

void ApiCore::releaseWatchEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  holdEvents_ = false;
  for (Watcher& w : watchers_) {
    for (std::string& line : w.held) w.sink->send(std::move(line));
    w.held.clear();
  }
}

ApiCore::Outcome ApiCore::startWatch(std::size_t type, const std::string& ns, const Query& query,
                                     const std::shared_ptr<WatchSink>& sink, WatchStart* watch) {
  const ResourceType& rt = resourceTypes()[type];
  Watcher watcher;
  watcher.sink = sink;
  watcher.filter.type = type;
  watcher.filter.ns = ns;
  if (std::optional<std::string> e =
          parseLabelSelector(queryValue(query, "labelSelector"), &watcher.filter.labels)) {
    return badRequest(*e);
  }
  if (std::optional<std::string> e =
          parseFieldSelector(rt, queryValue(query, "fieldSelector"), &watcher.filter.fields)) {
    return badRequest(*e);
  }
  watcher.bookmarks = parseBool(queryValue(query, "allowWatchBookmarks"));
  const std::string rvText = queryValue(query, "resourceVersion");
  const bool sendInitialEvents =
      hasQuery(query, "sendInitialEvents") && parseBool(queryValue(query, "sendInitialEvents"));
  int timeoutSeconds = 0;
  if (hasQuery(query, "timeoutSeconds")) {
    const std::optional<std::int64_t> t = parseInt(queryValue(query, "timeoutSeconds"));
    if (!t || *t < 0) return badRequest("invalid timeoutSeconds");
    timeoutSeconds = static_cast<int>(std::min<std::int64_t>(*t, std::int64_t{24} * 3600));
  }
  std::optional<std::int64_t> rv;
  if (!rvText.empty()) {
    rv = parseInt(rvText);
    if (!rv || *rv < 0) return badRequest("invalid resource version \"" + rvText + "\"");
  }
  if (sendInitialEvents) {
    if (queryValue(query, "resourceVersionMatch") != "NotOlderThan") {
      return invalid(rt, "ListOptions.meta.k8s.io", "", "resourceVersionMatch",
                     "FieldValueForbidden",
                     "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                     "NotOlderThan");
    }
    if (!watcher.bookmarks) {
      return invalid(rt, "ListOptions.meta.k8s.io", "", "allowWatchBookmarks",
                     "FieldValueForbidden",
                     "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true");
    }
    if (rv && *rv > rv_) return tooLargeResourceVersion(*rv, rv_);
  }

  watch->started = true;
  watch->timeoutSeconds = timeoutSeconds;
  auto sendAdded = [&] {
    for (const auto& [key, object] : objects_[type]) {
      if (!matches(watcher.filter, object)) continue;
      Json line = Json::object();
      line.set("type", Json::string("ADDED"));
      line.set("object", object);
      sink->send(line.dump() + "\n");
    }
  };
  if (sendInitialEvents) {
    sendAdded();
    sink->send(bookmarkLine(type, true));
  } else if (!rv || *rv == 0) {
    sendAdded();
  } else if (*rv < compactedRv_) {
    Json line = Json::object();
    line.set("type", Json::string("ERROR"));
    line.set("object", statusJson(410, "Expired",
                                  "too old resource version: " + std::to_string(*rv) + " (" +
                                      std::to_string(compactedRv_) + ")"));
    sink->send(line.dump() + "\n");
    sink->finish();
    return {200, Json()};
  } else {
    for (const HistoryEvent& event : history_) {
      if (event.rv <= *rv) continue;
      if (std::optional<std::string> line = eventLine(watcher, event)) sink->send(std::move(*line));
    }
  }
  watchers_.push_back(std::move(watcher));
  return {200, Json()};
}

// ---------------------------------------------------------------------------
// Selectors.

std::optional<std::string> ApiCore::parseLabelSelector(const std::string& text,
                                                       std::vector<LabelRequirement>* out) {
  if (trim(text).empty()) return std::nullopt;
  std::vector<std::string> parts;
  int depth = 0;
  std::string current;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  const std::string prefix = "unable to parse requirement: ";
  for (const std::string& raw : parts) {
    const std::string part = trim(raw);
    if (part.empty()) return prefix + "found '', expected: identifier";
    LabelRequirement req;
    if (part[0] == '!') {
      req.key = trim(part.substr(1));
      req.op = LabelRequirement::Op::kNotExists;
      if (!validLabelKey(req.key)) return prefix + "invalid label key \"" + req.key + "\"";
      out->push_back(std::move(req));
      continue;
    }
    std::size_t i = 0;
    while (i < part.size() && std::string_view(" \t=!<>(").find(part[i]) == std::string::npos) ++i;
    req.key = part.substr(0, i);
    if (!validLabelKey(req.key)) return prefix + "invalid label key \"" + req.key + "\"";
    const std::string rest = trim(part.substr(i));
    auto single = [&](LabelRequirement::Op op, std::size_t skip) -> std::optional<std::string> {
      req.op = op;
      req.values = {trim(rest.substr(skip))};
      if (!validLabelValue(req.values[0])) {
        return prefix + "invalid label value: \"" + req.values[0] + "\"";
      }
      return std::nullopt;
    };
    std::optional<std::string> error;
    if (rest.empty()) {
      req.op = LabelRequirement::Op::kExists;
    } else if (rest.rfind("==", 0) == 0) {
      error = single(LabelRequirement::Op::kEquals, 2);
    } else if (rest.rfind("!=", 0) == 0) {
      error = single(LabelRequirement::Op::kNotEquals, 2);
    } else if (rest.rfind('=', 0) == 0) {
      error = single(LabelRequirement::Op::kEquals, 1);
    } else if (rest.rfind('>', 0) == 0 || rest.rfind('<', 0) == 0) {
      req.op = rest[0] == '>' ? LabelRequirement::Op::kGreater : LabelRequirement::Op::kLess;
      req.values = {trim(rest.substr(1))};
      if (!parseInt(req.values[0])) {
        return prefix + "for 'Gt', 'Lt' operators, the value must be an integer";
      }
    } else {
      std::size_t word = 0;
      while (word < rest.size() && std::isalpha(static_cast<unsigned char>(rest[word])) != 0) {
        ++word;
      }
      const std::string op = rest.substr(0, word);
      const std::string list = trim(rest.substr(word));
      if ((op != "in" && op != "notin") || list.size() < 2 || list.front() != '(' ||
          list.back() != ')') {
        return prefix + "found '" + rest + "', expected: in, notin, =, ==, !=, gt, lt";
      }
      req.op = op == "in" ? LabelRequirement::Op::kIn : LabelRequirement::Op::kNotIn;
      std::string values = list.substr(1, list.size() - 2);
      std::size_t start = 0;
      while (start <= values.size()) {
        std::size_t end = values.find(',', start);
        if (end == std::string::npos) end = values.size();
        std::string value = trim(std::string_view(values).substr(start, end - start));
        if (!validLabelValue(value)) return prefix + "invalid label value: \"" + value + "\"";
        req.values.push_back(std::move(value));
        start = end + 1;
      }
    }
    if (error) return error;
    out->push_back(std::move(req));
  }
  return std::nullopt;
}

std::optional<std::string> ApiCore::parseFieldSelector(const ResourceType& type,
                                                       const std::string& text,
                                                       std::vector<FieldRequirement>* out) {
  if (trim(text).empty()) return std::nullopt;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string part = trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    FieldRequirement req;
    std::size_t op = part.find("!=");
    std::size_t skip = 2;
    req.equals = op == std::string::npos;
    if (req.equals) {
      op = part.find("==");
      if (op == std::string::npos) {
        op = part.find('=');
        skip = 1;
      }
    }
    if (op == std::string::npos) {
      return "invalid selector: '" + text + "'; can't understand '" + part + "'";
    }
    const std::string field = trim(part.substr(0, op));
    req.value = trim(part.substr(op + skip));
    if (field == "metadata.name" || field == "metadata.namespace") {
      req.path = field;
    } else {
      for (const auto& [label, path] : type.fieldLabels) {
        if (label == field) req.path = path;
      }
    }
    if (req.path.empty()) return "field label not supported: " + field;
    out->push_back(std::move(req));
  }
  return std::nullopt;
}

bool ApiCore::matches(const Filter& filter, const Json& object) {
  if (!filter.ns.empty() && metaText(object, "namespace") != filter.ns) return false;
  const Json& labels = object["metadata"]["labels"];
  for (const LabelRequirement& req : filter.labels) {
    const bool has = labels.has(req.key);
    const std::string& value = labels[req.key].text();
    const bool in = std::find(req.values.begin(), req.values.end(), value) != req.values.end();
    bool ok = false;
    switch (req.op) {
      case LabelRequirement::Op::kEquals:
      case LabelRequirement::Op::kIn:
        ok = has && in;
        break;
      case LabelRequirement::Op::kNotEquals:
      case LabelRequirement::Op::kNotIn:
        ok = !has || !in;
        break;
      case LabelRequirement::Op::kExists:
        ok = has;
        break;
      case LabelRequirement::Op::kNotExists:
        ok = !has;
        break;
      case LabelRequirement::Op::kGreater:
      case LabelRequirement::Op::kLess: {
        const std::optional<std::int64_t> actual = parseInt(value);
        const std::optional<std::int64_t> bound = parseInt(req.values[0]);
        ok = has && actual && bound &&
             (req.op == LabelRequirement::Op::kGreater ? *actual > *bound : *actual < *bound);
        break;
      }
    }
    if (!ok) return false;
  }
  for (const FieldRequirement& req : filter.fields) {
    if ((fieldValue(object, req.path) == req.value) != req.equals) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Store.

const Json* ApiCore::find(std::size_t type, const std::string& ns, const std::string& name) const {
  const auto it = objects_[type].find({ns, name});
  return it == objects_[type].end() ? nullptr : &it->second;
}

std::string ApiCore::newUid() {
  std::uniform_int_distribution<int> hex(0, 15);
  std::string uid = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
  for (char& c : uid) {
    if (c == 'x' || c == 'y') {
      const int v = c == 'x' ? hex(random_) : 8 + hex(random_) % 4;
      c = "0123456789abcdef"[v];
    }
  }
  return uid;
}

std::string ApiCore::randomSuffix() {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (int i = 0; i < 5; ++i) out += kAlphabet[pick(random_)];
  return out;
}

void ApiCore::ensureNamespace(const std::string& ns) {
  if (ns.empty() || find(namespaceType(), "", ns) != nullptr) return;
  Json object = Json::object();
  object.set("apiVersion", Json::string("v1"));
  object.set("kind", Json::string("Namespace"));
  object = setMeta(std::move(object), "name", Json::string(ns));
  (void)insertNew(namespaceType(), object, false, false);
}

Json ApiCore::commit(std::size_t type, const std::string& eventType, Json object,
                     std::optional<Json> previous) {
  ++rv_;
  object = setMeta(std::move(object), "resourceVersion", Json::string(std::to_string(rv_)));
  const Key key{metaText(object, "namespace"), metaText(object, "name")};
  if (eventType == "DELETED") {
    objects_[type].erase(key);
  } else {
    objects_[type][key] = object;
  }
  history_.push_back({rv_, type, eventType, object, std::move(previous)});
  notify(history_.back());
  return object;
}

std::optional<ApiCore::Objects> ApiCore::snapshotAt(std::size_t type, std::int64_t rv) const {
  if (rv < compactedRv_) return std::nullopt;
  Objects snapshot = objects_[type];
  for (auto it = history_.rbegin(); it != history_.rend() && it->rv > rv; ++it) {
    if (it->type != type) continue;
    const Key key{metaText(it->object, "namespace"), metaText(it->object, "name")};
    if (it->eventType == "ADDED") {
      snapshot.erase(key);
    } else if (it->previous) {
      snapshot[key] = *it->previous;
    }
  }
  return snapshot;
}

ApiCore::Outcome ApiCore::insertNew(std::size_t type, Json object, bool keepStatus, bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  const std::string name = metaText(object, "name");
  for (const char* key : {"deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion",
                          "managedFields", "selfLink"}) {
    object = setMeta(std::move(object), key, Json());
  }
  std::string uid = admission_ != nullptr ? admission_->uid : "";
  std::string created = admission_ != nullptr ? admission_->creationTimestamp : "";
  if (uid.empty()) uid = newUid();
  if (created.empty()) created = nowRfc3339();
  if (admission_ != nullptr) {
    admission_->uid = uid;
    admission_->creationTimestamp = created;
  }
  object = setMeta(std::move(object), "uid", Json::string(uid));
  object = setMeta(std::move(object), "creationTimestamp", Json::string(created));
  object = setMeta(std::move(object), "generation", rt.generation ? number(1) : Json());
  if (!keepStatus) object = withoutMember(object, "status");
  if (type == namespaceType()) {
    Json labels =
        object["metadata"]["labels"].isObject() ? object["metadata"]["labels"] : Json::object();
    labels.set("kubernetes.io/metadata.name", Json::string(name));
    object = setMeta(std::move(object), "labels", labels);
    if (!object["spec"]["finalizers"].isArray()) {
      Json spec = object["spec"].isObject() ? object["spec"] : Json::object();
      Json finalizers = Json::array();
      finalizers.push(Json::string("kubernetes"));
      spec.set("finalizers", finalizers);
      object.set("spec", spec);
    }
    if (!object["status"]["phase"].isString()) {
      Json status = object["status"].isObject() ? object["status"] : Json::object();
      status.set("phase", Json::string("Active"));
      object.set("status", status);
    }
  }
  object = canonical(object);
  // Admission comes before the store notices a name taken (as on a real
  // server, where a denied create of an existing name is a denial, not 409).
  if (std::optional<Outcome> refused = admit(type, "CREATE", object, Json())) return *refused;
  if (find(type, rt.namespaced ? metaText(object, "namespace") : "", name) != nullptr) {
    return alreadyExists(rt, name);
  }
  if (dryRun) return {201, object};
  return {201, commit(type, "ADDED", std::move(object), std::nullopt)};
}

ApiCore::Outcome ApiCore::writeExisting(std::size_t type, const Json& existing, Json next,
                                        bool statusOnly, bool keepStatus, bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  Json result;
  if (statusOnly) {
    result = existing;
    result =
        next.has("status") ? copyMember(result, next, "status") : withoutMember(result, "status");
  } else {
    result = std::move(next);
    if (!keepStatus) result = copyMember(result, existing, "status");
    Json meta = result["metadata"].isObject() ? result["metadata"] : Json::object();
    const Json& old = existing["metadata"];
    for (const char* key : {"name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                            "deletionGracePeriodSeconds", "generation", "resourceVersion"}) {
      meta = copyMember(meta, old, key);
    }
    result.set("metadata", meta);
    result.set("apiVersion", existing["apiVersion"]);
    result.set("kind", existing["kind"]);
  }
  if (rt.generation && !jsonEqual(generationContent(result), generationContent(existing))) {
    const std::int64_t generation = existing["metadata"]["generation"].asInt().value_or(0);
    result = setMeta(std::move(result), "generation", number(generation + 1));
  }
  result = canonical(result);
  if (std::optional<Outcome> refused = admit(type, "UPDATE", result, existing)) return *refused;
  const Json& finalizers = result["metadata"]["finalizers"];
  if (!metaText(result, "deletionTimestamp").empty() && finalizers.items().empty()) {
    // The last finalizer is gone from a deleting object: it goes now.
    if (dryRun) return {200, result};
    return {200, commit(type, "DELETED", std::move(result), existing)};
  }
  if (sameIgnoringResourceVersion(result, existing)) return {200, existing};
  if (dryRun) return {200, result};
  return {200, commit(type, "MODIFIED", std::move(result), existing)};
}

ApiCore::Outcome ApiCore::deleteExisting(std::size_t type, const Json& existing, bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  if (!existing["metadata"]["finalizers"].items().empty()) {
    if (!metaText(existing, "deletionTimestamp").empty()) return {200, existing};
    Json updated = setMeta(existing, "deletionTimestamp", Json::string(nowRfc3339()));
    updated = setMeta(std::move(updated), "deletionGracePeriodSeconds", number(0));
    const std::int64_t generation = existing["metadata"]["generation"].asInt().value_or(0);
    if (generation > 0) updated = setMeta(std::move(updated), "generation", number(generation + 1));
    if (dryRun) return {200, updated};
    return {200, commit(type, "MODIFIED", std::move(updated), existing)};
  }
  Json details = resourceDetails(rt, metaText(existing, "name"));
  details.set("uid", Json::string(metaText(existing, "uid")));
  Json status = Json::object();
  status.set("kind", Json::string("Status"));
  status.set("apiVersion", Json::string("v1"));
  status.set("metadata", Json::object());
  status.set("status", Json::string("Success"));
  status.set("details", details);
  if (dryRun) return {200, status};
  if (type == namespaceType()) {
    // Immediate cascade (a real server goes through phase Terminating).
    const std::string& ns = metaText(existing, "name");
    for (std::size_t t = 0; t < objects_.size(); ++t) {
      if (!resourceTypes()[t].namespaced) continue;
      std::vector<Json> doomed;
      for (const auto& [key, object] : objects_[t]) {
        if (key.first == ns) doomed.push_back(object);
      }
      for (const Json& object : doomed) commit(t, "DELETED", object, object);
    }
  }
  commit(type, "DELETED", existing, existing);
  return {200, status};
}

// ---------------------------------------------------------------------------
// REST operations (lock held).

ApiCore::Outcome ApiCore::create(std::size_t type, const std::string& ns, const Json& body,
                                 bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  if (!body.isObject()) return badRequest("the body of the request is not a JSON object");
  Json object = body;
  if (std::optional<Outcome> e = checkTypeMeta(rt, object)) return *e;
  Json meta = object["metadata"].isObject() ? object["metadata"] : Json::object();
  if (rt.namespaced) {
    if (!meta["namespace"].text().empty() && meta["namespace"].text() != ns) {
      return badRequest(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    meta.set("namespace", Json::string(ns));
  } else {
    meta = withoutMember(meta, "namespace");
  }
  if (!meta["resourceVersion"].text().empty()) {
    return badRequest("resourceVersion should not be set on objects to be created");
  }
  std::string name = meta["name"].text();
  if (name.empty()) {
    if (meta["generateName"].text().empty()) {
      return invalid(rt, kindQualifier(rt), "", "metadata.name", "FieldValueRequired",
                     "Required value: name or generateName is required");
    }
    if (admission_ != nullptr && admission_->generatedName.empty()) {
      admission_->generatedName = meta["generateName"].text() + randomSuffix();
    }
    name = admission_ != nullptr ? admission_->generatedName
                                 : meta["generateName"].text() + randomSuffix();
  }
  if (std::optional<std::string> problem = nameProblem(name, type == namespaceType())) {
    return invalid(rt, kindQualifier(rt), name, "metadata.name", "FieldValueInvalid", *problem);
  }
  meta.set("name", Json::string(name));
  object.set("metadata", meta);
  if (rt.namespaced && find(namespaceType(), "", ns) == nullptr) {
    return notFound(resourceTypes()[namespaceType()], ns);
  }
  return insertNew(type, object, !rt.statusSubresource, dryRun);  // 409 when the name is taken
}

ApiCore::Outcome ApiCore::update(std::size_t type, const std::string& ns, const std::string& name,
                                 const Json& body, bool status, bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  if (!body.isObject()) return badRequest("the body of the request is not a JSON object");
  Json object = body;
  if (std::optional<Outcome> e = checkTypeMeta(rt, object)) return *e;
  Json meta = object["metadata"].isObject() ? object["metadata"] : Json::object();
  if (meta["name"].text() != name) {
    return badRequest("the name of the object (" + meta["name"].text() +
                      ") does not match the name on the URL (" + name + ")");
  }
  if (rt.namespaced) {
    if (!meta["namespace"].text().empty() && meta["namespace"].text() != ns) {
      return badRequest(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    meta.set("namespace", Json::string(ns));
  }
  object.set("metadata", meta);
  const Json* found = find(type, ns, name);
  if (found == nullptr) {
    if (!rt.createOnUpdate || status) return notFound(rt, name);
    if (rt.namespaced && find(namespaceType(), "", ns) == nullptr) {
      return notFound(resourceTypes()[namespaceType()], ns);
    }
    if (std::optional<std::string> problem = nameProblem(name, type == namespaceType())) {
      return invalid(rt, kindQualifier(rt), name, "metadata.name", "FieldValueInvalid", *problem);
    }
    return insertNew(type, object, !rt.statusSubresource, dryRun);
  }
  const Json existing = *found;
  const std::string& rv = meta["resourceVersion"].text();
  if (rv.empty()) {
    if (!rt.unconditionalUpdate) {
      return invalid(rt, rt.groupResource(), name, "metadata.resourceVersion", "FieldValueInvalid",
                     "Invalid value: 0x0: must be specified for an update");
    }
    object = setMeta(std::move(object), "resourceVersion", existing["metadata"]["resourceVersion"]);
  } else if (rv != metaText(existing, "resourceVersion")) {
    return conflict(rt, name);
  }
  const std::string& uid = meta["uid"].text();
  if (!uid.empty() && uid != metaText(existing, "uid")) {
    return conflict(rt, name,
                    "Precondition failed: UID in precondition: " + uid +
                        ", UID in object meta: " + metaText(existing, "uid"));
  }
  return writeExisting(type, existing, object, status, !rt.statusSubresource, dryRun);
}

ApiCore::Outcome ApiCore::patch(std::size_t type, const std::string& ns, const std::string& name,
                                const std::string& contentType, const std::string& body,
                                bool status, const Query& query, bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  const std::string media = mediaType(contentType);
  const bool merge = media == "application/merge-patch+json";
  const bool strategic = media == "application/strategic-merge-patch+json";
  const bool json = media == "application/json-patch+json";
  const bool apply = media == "application/apply-patch+yaml";
  if ((!merge && !strategic && !json && !apply) || (strategic && rt.customResource)) {
    return unsupportedMediaType(acceptedPatchTypes(rt));
  }
  const Result<Json> doc = Json::parse(body);
  if (!doc) {
    if (apply) {
      return badRequest("the fake API server only takes apply patches written as JSON: " +
                        doc.status().message());
    }
    return badRequest("error decoding patch: " + doc.status().message());
  }
  if (apply && queryValue(query, "fieldManager").empty()) {
    return badRequest(
        "PATCH requests with content type application/apply-patch+yaml require a "
        "fieldManager query parameter");
  }
  const Json* found = find(type, ns, name);
  if (found == nullptr) {
    if (!apply || status) return notFound(rt, name);
    return create(type, ns, setMeta(*doc, "name", Json::string(name)), dryRun);
  }
  const Json existing = *found;
  Json patched;
  if (json) {
    if (!doc->isArray()) return badRequest("a JSON patch must be an array of operations");
    Result<Json> applied = jsonPatch(existing, *doc);
    if (!applied) return fail(422, "Invalid", applied.status().message());
    patched = std::move(*applied);
  } else {
    if (!doc->isObject()) return badRequest("a merge patch must be a JSON object");
    patched = mergePatch(existing, *doc);
  }
  if (!patched.isObject()) return badRequest("the patched object is not a JSON object");
  const std::string& rv = metaText(patched, "resourceVersion");
  if (!rv.empty() && rv != metaText(existing, "resourceVersion")) return conflict(rt, name);
  const std::string& uid = metaText(patched, "uid");
  if (!uid.empty() && uid != metaText(existing, "uid")) {
    return conflict(rt, name,
                    "Precondition failed: UID in precondition: " + uid +
                        ", UID in object meta: " + metaText(existing, "uid"));
  }
  const std::string& patchedName = metaText(patched, "name");
  if (!patchedName.empty() && patchedName != name) {
    return badRequest("the name of the object (" + patchedName +
                      ") does not match the name on the URL (" + name + ")");
  }
  return writeExisting(type, existing, patched, status, !rt.statusSubresource, dryRun);
}

ApiCore::Outcome ApiCore::deleteObject(std::size_t type, const std::string& ns,
                                       const std::string& name, const std::string& body,
                                       bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  const Json* found = find(type, ns, name);
  if (found == nullptr) return notFound(rt, name);
  const Json existing = *found;
  if (!trim(body).empty()) {
    const Result<Json> options = Json::parse(body);
    if (!options || !options->isObject()) return badRequest("invalid DeleteOptions body");
    const Json& pre = (*options)["preconditions"];
    if (pre["uid"].isString() && pre["uid"].text() != metaText(existing, "uid")) {
      return conflict(rt, name,
                      "Precondition failed: UID in precondition: " + pre["uid"].text() +
                          ", UID in object meta: " + metaText(existing, "uid"));
    }
    if (pre["resourceVersion"].isString() &&
        pre["resourceVersion"].text() != metaText(existing, "resourceVersion")) {
      return conflict(
          rt, name,
          "Precondition failed: ResourceVersion in precondition: " + pre["resourceVersion"].text() +
              ", ResourceVersion in object meta: " + metaText(existing, "resourceVersion"));
    }
    for (const Json& mode : (*options)["dryRun"].items()) {
      if (mode.text() == "All") dryRun = true;
    }
  }
  if (admission_ != nullptr) admission_->dryRun = dryRun;
  if (std::optional<Outcome> refused = admit(type, "DELETE", Json(), existing)) return *refused;
  return deleteExisting(type, existing, dryRun);
}

ApiCore::Outcome ApiCore::deleteCollection(std::size_t type, const std::string& ns,
                                           const Query& query, bool dryRun) {
  const ResourceType& rt = resourceTypes()[type];
  Filter filter;
  filter.type = type;
  filter.ns = ns;
  if (std::optional<std::string> e =
          parseLabelSelector(queryValue(query, "labelSelector"), &filter.labels)) {
    return badRequest(*e);
  }
  if (std::optional<std::string> e =
          parseFieldSelector(rt, queryValue(query, "fieldSelector"), &filter.fields)) {
    return badRequest(*e);
  }
  std::vector<Json> doomed;
  for (const auto& [key, object] : objects_[type]) {
    if (matches(filter, object)) doomed.push_back(object);
  }
  Json items = Json::array();
  for (const Json& object : doomed) {
    const Outcome o = deleteExisting(type, object, dryRun);
    items.push(o.body["kind"].text() == "Status" ? object : o.body);
  }
  Json list = Json::object();
  list.set("kind", Json::string(rt.kind + "List"));
  list.set("apiVersion", Json::string(rt.apiVersion()));
  Json meta = Json::object();
  meta.set("resourceVersion", Json::string(std::to_string(rv_)));
  list.set("metadata", meta);
  list.set("items", items);
  return {200, list};
}

ApiCore::Outcome ApiCore::listObjects(std::size_t type, const std::string& ns, const Query& query,
                                      bool table) {
  const ResourceType& rt = resourceTypes()[type];
  Filter filter;
  filter.type = type;
  filter.ns = ns;
  if (std::optional<std::string> e =
          parseLabelSelector(queryValue(query, "labelSelector"), &filter.labels)) {
    return badRequest(*e);
  }
  if (std::optional<std::string> e =
          parseFieldSelector(rt, queryValue(query, "fieldSelector"), &filter.fields)) {
    return badRequest(*e);
  }
  const std::string rvText = queryValue(query, "resourceVersion");
  const std::string match = queryValue(query, "resourceVersionMatch");
  const std::string continueToken = queryValue(query, "continue");
  std::int64_t limit = 0;
  if (hasQuery(query, "limit")) {
    const std::optional<std::int64_t> l = parseInt(queryValue(query, "limit"));
    if (!l || *l < 0) return badRequest("invalid limit");
    limit = *l;
  }
  std::optional<std::int64_t> rv;
  if (!rvText.empty()) {
    rv = parseInt(rvText);
    if (!rv || *rv < 0) return badRequest("invalid resource version \"" + rvText + "\"");
  }

  std::int64_t snapshotRv = rv_;
  std::optional<Objects> snapshot;
  Key startAfter;
  bool hasStart = false;
  if (!continueToken.empty()) {
    if (!rvText.empty() && rvText != "0") {
      return badRequest("specifying resource version is not allowed when using continue");
    }
    const std::optional<std::string> decoded = base64Decode(continueToken);
    Json token;
    if (decoded) {
      if (Result<Json> parsed = Json::parse(*decoded)) token = std::move(*parsed);
    }
    const std::int64_t tokenRv = token["rv"].asInt().value_or(-1);
    const std::string start = token["start"].text();
    const std::size_t slash = start.find('/');
    if (tokenRv < 0 || slash == std::string::npos) {
      return badRequest("continue key is not valid: malformed token");
    }
    if (tokenRv < compactedRv_) return expired(kContinueTooOldMessage);
    snapshot = snapshotAt(type, tokenRv);
    snapshotRv = tokenRv;
    startAfter = {start.substr(0, slash), start.substr(slash + 1)};
    hasStart = true;
  } else if (!match.empty()) {
    if (!rv)
      return badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided");
    if (match == "Exact") {
      if (*rv == 0) {
        return badRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"");
      }
      if (*rv > rv_) return tooLargeResourceVersion(*rv, rv_);
      if (*rv < compactedRv_) {
        return expired("too old resource version: " + std::to_string(*rv) + " (" +
                       std::to_string(compactedRv_) + ")");
      }
      snapshot = snapshotAt(type, *rv);
      snapshotRv = *rv;
    } else if (match == "NotOlderThan") {
      if (*rv > rv_) return tooLargeResourceVersion(*rv, rv_);
    } else {
      return badRequest("unsupported resourceVersionMatch \"" + match + "\"");
    }
  } else if (rv && *rv > rv_) {
    return tooLargeResourceVersion(*rv, rv_);
  }
  // resourceVersion=0 is served from the watch cache, which ignores limit.
  if (rvText == "0") limit = 0;

  const Objects& source = snapshot ? *snapshot : objects_[type];
  std::vector<Json> items;
  std::int64_t remaining = 0;
  Key last;
  for (auto it = hasStart ? source.upper_bound(startAfter) : source.begin(); it != source.end();
       ++it) {
    if (!matches(filter, it->second)) continue;
    if (limit > 0 && static_cast<std::int64_t>(items.size()) >= limit) {
      ++remaining;
      continue;
    }
    items.push_back(it->second);
    last = it->first;
  }
  if (table) return {200, tableOf(items, snapshotRv)};

  Json list = Json::object();
  list.set("kind", Json::string(rt.kind + "List"));
  list.set("apiVersion", Json::string(rt.apiVersion()));
  Json meta = Json::object();
  meta.set("resourceVersion", Json::string(std::to_string(snapshotRv)));
  if (remaining > 0) {
    Json token = Json::object();
    token.set("v", Json::string("meta.k8s.io/v1"));
    token.set("rv", number(snapshotRv));
    token.set("start", Json::string(last.first + "/" + last.second));
    meta.set("continue", Json::string(base64Encode(token.dump())));
    if (filter.labels.empty() && filter.fields.empty()) {
      meta.set("remainingItemCount", number(remaining));
    }
  }
  list.set("metadata", meta);
  Json array = Json::array();
  for (const Json& item : items) {
    // Built-in types list their items without apiVersion and kind.
    array.push(rt.customResource ? item : withoutMember(withoutMember(item, "apiVersion"), "kind"));
  }
  list.set("items", array);
  return {200, list};
}

// ---------------------------------------------------------------------------
// Routing.

HttpResponse ApiCore::handle(const HttpRequest& request, const std::shared_ptr<WatchSink>& sink,
                             WatchStart* watch) {
  const std::size_t mark = request.target.find('?');
  const std::string path = request.target.substr(0, mark);
  const std::string rawQuery = mark == std::string::npos ? "" : request.target.substr(mark + 1);
  const Query query = parseQuery(rawQuery);
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t id = nextRequestId_++;
  requests_.push_back({request.method, path, rawQuery, request.contentType, request.body, 0});
  requestIds_.push_back(id);
  std::optional<HttpResponse> response = authenticate(request, path);
  if (!response) {
    // Validating admission: each pass runs the request; a pass that meets a
    // webhook without an answer for exactly this object changes nothing, and
    // the webhooks are called before the next one.
    Admission admission;
    for (int pass = 0;; ++pass) {
      admission.pending.clear();
      admission.warnings.clear();
      admission_ = &admission;
      response = route(request, path, query, sink, watch);
      admission_ = nullptr;
      if (admission.pending.empty()) break;
      if (pass + 1 >= kMaxAdmissionPasses) {
        response = toResponse(fail(500, "InternalError",
                                   "Internal error occurred: the object kept changing while "
                                   "admission webhooks were being called"));
        break;
      }
      struct Call {
        std::size_t review;
        std::string uid;
        std::string body;
        WebhookReply reply;
      };
      std::vector<Call> calls;
      for (std::size_t index : admission.pending) {
        Call call{index, newUid(), "", {}};
        Json withUid = Json::object();
        withUid.set("uid", Json::string(call.uid));
        for (const auto& [key, value] : admission.reviews[index].request.members()) {
          withUid.set(key, value);
        }
        Json review = Json::object();
        review.set("kind", Json::string("AdmissionReview"));
        review.set("apiVersion", Json::string(kReviewApiVersion));
        review.set("request", withUid);
        call.body = review.dump();
        calls.push_back(std::move(call));
      }
      const WebhookTransport transport = webhookTransport_;
      lock.unlock();
      // One after the other (kube-apiserver calls matching webhooks in parallel).
      for (Call& call : calls) {
        if (transport) {
          call.reply = transport(admission.reviews[call.review].webhook, call.body);
        } else {
          call.reply.error = "no webhook transport";
        }
      }
      lock.lock();
      for (Call& call : calls) {
        Admission::Review& review = admission.reviews[call.review];
        WebhookCall record;
        record.webhook = review.webhook.name;
        record.review = *Json::parse(call.body);
        record.httpStatus = call.reply.error.empty() ? call.reply.status : 0;
        // What went wrong, worded as k8s.io/apiserver's ErrCallingWebhook.
        std::string problem;
        Json answer;
        if (!call.reply.error.empty()) {
          problem = "failed to call webhook: " + call.reply.error;
        } else if (call.reply.status < 200 || call.reply.status > 299) {
          problem = "failed to call webhook: " + unexpectedResponse(call.reply);
        } else if (Result<Json> parsed = Json::parse(call.reply.body); !parsed) {
          problem = "failed to call webhook: couldn't get version/kind; json parse error: " +
                    parsed.status().message();
        } else {
          answer = std::move(*parsed);
          const Json& r = answer["response"];
          if (!r.isObject()) {
            problem = "received invalid webhook response: webhook response was absent";
          } else if (r["uid"].text() != call.uid) {
            problem = "received invalid webhook response: expected response.uid=\"" + call.uid +
                      "\", got \"" + r["uid"].text() + "\"";
          } else if (answer["apiVersion"].text() != kReviewApiVersion ||
                     answer["kind"].text() != "AdmissionReview") {
            problem = std::string(
                          "received invalid webhook response: expected webhook response "
                          "of ") +
                      kReviewApiVersion + ", Kind=AdmissionReview, got " +
                      answer["apiVersion"].text() + ", Kind=" + answer["kind"].text();
          } else if (r.has("patch") || r.has("patchType")) {
            problem =
                "received invalid webhook response: validating webhooks may not return patches";
          }
        }
        review.answered = true;
        if (!problem.empty()) {
          record.error = "failed calling webhook \"" + review.webhook.name + "\": " + problem;
          record.allowed =
              review.webhook.failurePolicy == ValidatingWebhook::FailurePolicy::kIgnore;
          if (!record.allowed) {
            Json cause = Json::object();
            cause.set("message", Json::string(record.error));
            Json causes = Json::array();
            causes.push(cause);
            Json details = Json::object();
            details.set("causes", causes);
            review.rejection =
                fail(500, "InternalError", "Internal error occurred: " + record.error, details);
          }
        } else {
          const Json& r = answer["response"];
          for (const Json& w : r["warnings"].items()) review.warnings.push_back(w.text());
          record.warnings = review.warnings;
          record.allowed = r["allowed"].isBool() && r["allowed"].boolValue();
          if (!record.allowed) review.rejection = denial(review.webhook.name, r["status"]);
        }
        webhookCalls_.push_back(std::move(record));
      }
    }
    for (const std::string& w : admission.warnings) {
      response->headers.emplace_back("Warning", warningHeader(w));
    }
  }
  for (std::size_t i = requestIds_.size(); i-- > 0;) {
    if (requestIds_[i] == id) {
      requests_[i].status = response->status;
      break;
    }
  }
  return *response;
}

std::optional<HttpResponse> ApiCore::authenticate(const HttpRequest& request,
                                                  const std::string& path) {
  std::string token;
  if (request.authorization.size() > 7 && lower(request.authorization.substr(0, 7)) == "bearer ") {
    token = trim(request.authorization.substr(7));
  }
  const bool forbidden = !token.empty() && token != options_.token &&
                         std::find(options_.forbiddenTokens.begin(), options_.forbiddenTokens.end(),
                                   token) != options_.forbiddenTokens.end();
  if (token.empty() || (token != options_.token && !forbidden)) {
    return toResponse(fail(401, "Unauthorized", "Unauthorized"));
  }
  if (failCount_ > 0) {
    // After authentication, like API Priority and Fairness rejections.
    --failCount_;
    Json details;
    if (const std::optional<std::int64_t> seconds = parseInt(failRetryAfter_)) {
      details = Json::object();
      details.set("retryAfterSeconds", number(*seconds));
    }
    HttpResponse r =
        toResponse(fail(failStatus_, reasonFor(failStatus_), messageFor(failStatus_), details));
    if (!failRetryAfter_.empty()) r.headers.emplace_back("Retry-After", failRetryAfter_);
    return r;
  }
  if (forbidden) {
    return toResponse(fail(403, "Forbidden",
                           "forbidden: User \"" + std::string(kForbiddenUser) + "\" cannot " +
                               lower(request.method) + " path \"" + path + "\"",
                           Json::object()));
  }
  if (!acceptsJson(request.accept)) {
    return toResponse(fail(406, "NotAcceptable",
                           "only the following media types are accepted: application/json"));
  }
  return std::nullopt;
}

std::optional<ApiCore::Outcome> ApiCore::admit(std::size_t type, const std::string& operation,
                                               const Json& object, const Json& oldObject) {
  if (admission_ == nullptr || webhooks_.empty()) return std::nullopt;
  Admission& a = *admission_;
  const ResourceType& rt = resourceTypes()[type];
  const Json& named = object.isObject() ? object : oldObject;
  std::optional<Outcome> refused;
  bool waiting = false;
  for (const ValidatingWebhook& webhook : webhooks_) {
    if (!webhookMatches(webhook, rt, a.subresource, operation)) continue;
    if (a.dryRun && webhook.sideEffects != "None" && webhook.sideEffects != "NoneOnDryRun") {
      if (!refused) {
        refused = badRequest("admission webhook \"" + webhook.name + "\" does not support dry run");
      }
      continue;
    }
    // admission.k8s.io/v1 AdmissionRequest (uid added when sent), fields in
    // the Go struct's order; no conversion, so request* equal the others.
    Json gvk = Json::object();
    gvk.set("group", Json::string(rt.group));
    gvk.set("version", Json::string(rt.version));
    gvk.set("kind", Json::string(rt.kind));
    Json gvr = Json::object();
    gvr.set("group", Json::string(rt.group));
    gvr.set("version", Json::string(rt.version));
    gvr.set("resource", Json::string(rt.plural));
    Json request = Json::object();
    request.set("kind", gvk);
    request.set("resource", gvr);
    if (!a.subresource.empty()) request.set("subResource", Json::string(a.subresource));
    request.set("requestKind", gvk);
    request.set("requestResource", gvr);
    if (!a.subresource.empty()) request.set("requestSubResource", Json::string(a.subresource));
    // A generateName create is reviewed without a name (the object has the
    // generated one), as the real create handler records it.
    const bool generated = operation == "CREATE" && !a.generatedName.empty();
    if (!metaText(named, "name").empty() && !generated) {
      request.set("name", named["metadata"]["name"]);
    }
    if (!metaText(named, "namespace").empty()) {
      request.set("namespace", named["metadata"]["namespace"]);
    }
    request.set("operation", Json::string(operation));
    Json user = Json::object();
    user.set("username", Json::string(options_.username));
    Json groups = Json::array();
    for (const std::string& g : options_.groups) groups.push(Json::string(g));
    user.set("groups", groups);
    request.set("userInfo", user);
    request.set("object", object);
    request.set("oldObject", oldObject);
    request.set("dryRun", Json::boolean(a.dryRun));
    std::string optionsKind = "UpdateOptions";
    if (operation == "CREATE") optionsKind = "CreateOptions";
    if (operation == "DELETE") optionsKind = "DeleteOptions";
    if (operation == "UPDATE" && a.method == "PATCH") optionsKind = "PatchOptions";
    Json options = Json::object();
    options.set("kind", Json::string(optionsKind));
    options.set("apiVersion", Json::string("meta.k8s.io/v1"));
    if (a.dryRun) {
      Json all = Json::array();
      all.push(Json::string("All"));
      options.set("dryRun", all);
    }
    if (!a.fieldManager.empty() && operation != "DELETE") {
      options.set("fieldManager", Json::string(a.fieldManager));
    }
    request.set("options", options);

    const std::string key = webhook.name + "\n" + request.dump();
    auto it = std::find_if(a.reviews.begin(), a.reviews.end(),
                           [&key](const Admission::Review& r) { return r.key == key; });
    if (it == a.reviews.end()) {
      a.reviews.push_back({webhook, key, std::move(request), false, std::nullopt, {}});
      a.pending.push_back(a.reviews.size() - 1);
      waiting = true;
      continue;
    }
    if (!it->answered) {
      waiting = true;
      continue;
    }
    for (const std::string& w : it->warnings) {
      if (std::find(a.warnings.begin(), a.warnings.end(), w) == a.warnings.end()) {
        a.warnings.push_back(w);
      }
    }
    if (it->rejection && !refused) refused = it->rejection;
  }
  if (waiting) return Outcome{kAdmissionPending, Json()};
  return refused;
}

bool ApiCore::mayCallWebhooks(const std::string& method) const {
  std::lock_guard<std::mutex> lock(mu_);
  return method != "GET" && method != "HEAD" && !webhooks_.empty();
}

void ApiCore::setWebhookTransport(WebhookTransport transport) {
  std::lock_guard<std::mutex> lock(mu_);
  webhookTransport_ = std::move(transport);
}

void ApiCore::setValidatingWebhook(const ValidatingWebhook& webhook) {
  std::lock_guard<std::mutex> lock(mu_);
  for (ValidatingWebhook& w : webhooks_) {
    if (w.name == webhook.name) {
      w = webhook;
      return;
    }
  }
  webhooks_.push_back(webhook);
}

void ApiCore::clearValidatingWebhooks() {
  std::lock_guard<std::mutex> lock(mu_);
  webhooks_.clear();
}

std::vector<WebhookCall> ApiCore::webhookCalls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return webhookCalls_;
}

HttpResponse ApiCore::route(const HttpRequest& request, const std::string& path, const Query& query,
                            const std::shared_ptr<WatchSink>& sink, WatchStart* watch) {
  if (path == "/healthz" || path == "/livez" || path == "/readyz") {
    HttpResponse r;
    r.contentType = "text/plain; charset=utf-8";
    r.body = "ok";
    return r;
  }
  if (path == "/version") {
    Json v = Json::object();
    for (const auto& [key, value] :
         std::vector<std::pair<const char*, const char*>>{{"major", "1"},
                                                          {"minor", "30"},
                                                          {"gitVersion", "v1.30.0"},
                                                          {"gitCommit", "fake"},
                                                          {"gitTreeState", "clean"},
                                                          {"buildDate", "2024-04-17T00:00:00Z"},
                                                          {"goVersion", "go1.22.2"},
                                                          {"compiler", "gc"},
                                                          {"platform", "linux/amd64"}}) {
      v.set(key, Json::string(value));
    }
    HttpResponse r;
    r.body = v.dump();
    return r;
  }
  if (path == "/openapi/v3" || path.rfind("/openapi/v3/", 0) == 0) return openApiV3(path);
  std::vector<std::string> segments = splitPath(path);
  std::string group;
  std::string version;
  std::vector<std::string> rest;
  if (!segments.empty() && segments[0] == "api" && segments.size() >= 2) {
    version = segments[1];
    rest.assign(segments.begin() + 2, segments.end());
  } else if (!segments.empty() && segments[0] == "apis" && segments.size() >= 3) {
    group = segments[1];
    version = segments[2];
    rest.assign(segments.begin() + 3, segments.end());
  } else if (!segments.empty() && (segments[0] == "api" || segments[0] == "apis")) {
    if (request.method != "GET") return toResponse(methodNotAllowed());
    return discovery(path);
  } else {
    return toResponse(pathNotFound());
  }
  if (rest.empty()) {
    if (request.method != "GET") return toResponse(methodNotAllowed());
    return discovery(path);
  }

  bool legacyWatch = false;
  if (rest[0] == "watch") {
    legacyWatch = true;
    rest.erase(rest.begin());
  }
  std::string ns;
  std::string plural;
  std::string name;
  std::string subresource;
  bool namespacedPath = false;
  // namespaces/{ns}/{plural}... unless it is the namespace's own subresource
  // (namespaces/{name}/status), as the real server's request info parser.
  if (rest.size() > 2 && rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize") {
    ns = rest[1];
    namespacedPath = true;
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return toResponse(pathNotFound());
  plural = rest[0];
  if (rest.size() > 1) name = rest[1];
  if (rest.size() > 2) subresource = rest[2];

  const std::vector<ResourceType>& types = resourceTypes();
  std::size_t type = types.size();
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (types[i].group == group && types[i].version == version && types[i].plural == plural) {
      type = i;
    }
  }
  if (type == types.size()) return toResponse(pathNotFound());
  const ResourceType& rt = types[type];
  if (rt.namespaced != namespacedPath && !(rt.namespaced && name.empty())) {
    return toResponse(pathNotFound());
  }
  if (!subresource.empty() && !(subresource == "status" && rt.statusSubresource)) {
    return toResponse(pathNotFound());
  }
  const bool allNamespaces = rt.namespaced && !namespacedPath;
  Query effective = query;
  if (legacyWatch) effective.emplace("watch", "true");
  const Outcome outcome =
      resourceRequest(request, type, ns, allNamespaces, name, subresource, effective, sink, watch);
  if (watch->started) return HttpResponse{};
  return toResponse(outcome);
}

HttpResponse ApiCore::discovery(const std::string& path) const {
  const std::vector<ResourceType>& types = resourceTypes();
  std::vector<std::string> segments = splitPath(path);
  auto groupVersionJson = [](const ResourceType& t) {
    Json gv = Json::object();
    gv.set("groupVersion", Json::string(t.apiVersion()));
    gv.set("version", Json::string(t.version));
    return gv;
  };
  auto groupJson = [&](const std::string& group) {
    Json g = Json::object();
    g.set("name", Json::string(group));
    Json versions = Json::array();
    std::vector<std::string> seen;
    Json preferred;
    for (const ResourceType& t : types) {
      if (t.group != group || std::find(seen.begin(), seen.end(), t.version) != seen.end()) {
        continue;
      }
      seen.push_back(t.version);
      versions.push(groupVersionJson(t));
      if (preferred.isNull()) preferred = groupVersionJson(t);
    }
    g.set("versions", versions);
    g.set("preferredVersion", preferred);
    return g;
  };
  auto resourceList = [&](const std::string& group, const std::string& version) {
    Json list = Json::object();
    list.set("kind", Json::string("APIResourceList"));
    list.set("apiVersion", Json::string("v1"));
    list.set("groupVersion", Json::string(group.empty() ? version : group + "/" + version));
    Json resources = Json::array();
    for (const ResourceType& t : types) {
      if (t.group != group || t.version != version) continue;
      Json r = Json::object();
      r.set("name", Json::string(t.plural));
      r.set("singularName", Json::string(t.singular));
      r.set("namespaced", Json::boolean(t.namespaced));
      r.set("kind", Json::string(t.kind));
      Json verbs = Json::array();
      for (const char* verb :
           {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}) {
        verbs.push(Json::string(verb));
      }
      r.set("verbs", verbs);
      if (!t.shortNames.empty()) {
        Json shortNames = Json::array();
        for (const std::string& s : t.shortNames) shortNames.push(Json::string(s));
        r.set("shortNames", shortNames);
      }
      resources.push(r);
      if (t.statusSubresource) {
        Json s = Json::object();
        s.set("name", Json::string(t.plural + "/status"));
        s.set("singularName", Json::string(""));
        s.set("namespaced", Json::boolean(t.namespaced));
        s.set("kind", Json::string(t.kind));
        Json statusVerbs = Json::array();
        for (const char* verb : {"get", "patch", "update"}) statusVerbs.push(Json::string(verb));
        s.set("verbs", statusVerbs);
        resources.push(s);
      }
    }
    list.set("resources", resources);
    return list;
  };
  std::vector<std::string> groups;
  for (const ResourceType& t : types) {
    if (!t.group.empty() && std::find(groups.begin(), groups.end(), t.group) == groups.end()) {
      groups.push_back(t.group);
    }
  }
  const bool knownGroup =
      segments.size() >= 2 && std::find(groups.begin(), groups.end(), segments[1]) != groups.end();
  Json body;
  if (segments.size() == 1 && segments[0] == "api") {
    body = Json::object();
    body.set("kind", Json::string("APIVersions"));
    Json versions = Json::array();
    versions.push(Json::string("v1"));
    body.set("versions", versions);
    Json address = Json::object();
    address.set("clientCIDR", Json::string("0.0.0.0/0"));
    address.set("serverAddress", Json::string(serverAddress_));
    Json addresses = Json::array();
    addresses.push(address);
    body.set("serverAddressByClientCIDRs", addresses);
  } else if (segments.size() == 2 && segments[0] == "api" && segments[1] == "v1") {
    body = resourceList("", "v1");
  } else if (segments.size() == 1 && segments[0] == "apis") {
    body = Json::object();
    body.set("kind", Json::string("APIGroupList"));
    body.set("apiVersion", Json::string("v1"));
    Json list = Json::array();
    for (const std::string& g : groups) list.push(groupJson(g));
    body.set("groups", list);
  } else if (segments.size() == 2 && knownGroup) {
    body = groupJson(segments[1]);
    Json withKind = Json::object();
    withKind.set("kind", Json::string("APIGroup"));
    withKind.set("apiVersion", Json::string("v1"));
    for (const auto& [key, value] : body.members()) withKind.set(key, value);
    body = withKind;
  } else if (segments.size() == 3 && knownGroup) {
    bool knownVersion = false;
    for (const ResourceType& t : types) {
      knownVersion = knownVersion || (t.group == segments[1] && t.version == segments[2]);
    }
    if (!knownVersion) return toResponse(pathNotFound());
    body = resourceList(segments[1], segments[2]);
  } else {
    return toResponse(pathNotFound());
  }
  HttpResponse r;
  r.body = body.dump();
  return r;
}

HttpResponse ApiCore::openApiV3(const std::string& path) const {
  const std::vector<ResourceType>& types = resourceTypes();
  auto gvPath = [](const ResourceType& t) {
    return t.group.empty() ? "api/" + t.version : "apis/" + t.group + "/" + t.version;
  };
  Json body = Json::object();
  if (path == "/openapi/v3") {
    Json paths = Json::object();
    for (const ResourceType& t : types) {
      Json entry = Json::object();
      entry.set("serverRelativeURL",
                Json::string("/openapi/v3/" + gvPath(t) +
                             "?hash=" + std::to_string(std::hash<std::string>{}(gvPath(t)))));
      paths.set(gvPath(t), entry);
    }
    body.set("paths", paths);
    HttpResponse r;
    r.body = body.dump();
    return r;
  }
  const std::string gv = path.substr(std::string("/openapi/v3/").size());
  Json paths = Json::object();
  Json schemas = Json::object();
  for (const ResourceType& t : types) {
    if (gvPath(t) != gv) continue;
    Json gvk = Json::object();
    gvk.set("group", Json::string(t.group));
    gvk.set("version", Json::string(t.version));
    gvk.set("kind", Json::string(t.kind));
    auto operation = [&](const std::string& action, bool writes) {
      Json op = Json::object();
      op.set("x-kubernetes-action", Json::string(action));
      op.set("x-kubernetes-group-version-kind", gvk);
      Json parameters = Json::array();
      if (writes) {
        for (const char* name : {"dryRun", "fieldManager", "fieldValidation"}) {
          Json p = Json::object();
          p.set("name", Json::string(name));
          p.set("in", Json::string("query"));
          Json schema = Json::object();
          schema.set("type", Json::string("string"));
          schema.set("uniqueItems", Json::boolean(true));
          p.set("schema", schema);
          parameters.push(p);
        }
      }
      op.set("parameters", parameters);
      Json ok = Json::object();
      ok.set("description", Json::string("OK"));
      Json responses = Json::object();
      responses.set("200", ok);
      op.set("responses", responses);
      return op;
    };
    const std::string base =
        "/" + gv + (t.namespaced ? "/namespaces/{namespace}/" : "/") + t.plural;
    Json collection = Json::object();
    collection.set("get", operation("list", false));
    collection.set("post", operation("post", true));
    paths.set(base, collection);
    Json item = Json::object();
    item.set("get", operation("get", false));
    item.set("put", operation("put", true));
    item.set("patch", operation("patch", true));
    item.set("delete", operation("delete", true));
    paths.set(base + "/{name}", item);
    if (t.statusSubresource) {
      Json status = Json::object();
      status.set("get", operation("get", false));
      status.set("put", operation("put", true));
      status.set("patch", operation("patch", true));
      paths.set(base + "/{name}/status", status);
    }
    // Schemas accept anything: the fake validates no fields.
    std::string prefix = "io.k8s.api." + (t.group.empty() ? std::string("core") : t.group);
    if (t.customResource) {
      prefix.clear();
      std::size_t end = t.group.size();
      while (end != std::string::npos && end > 0) {
        const std::size_t dot = t.group.rfind('.', end - 1);
        const std::size_t start = dot == std::string::npos ? 0 : dot + 1;
        prefix += (prefix.empty() ? "" : ".") + t.group.substr(start, end - start);
        end = dot;
      }
    }
    Json schema = Json::object();
    schema.set("type", Json::string("object"));
    Json gvks = Json::array();
    gvks.push(gvk);
    schema.set("x-kubernetes-group-version-kind", gvks);
    schema.set("x-kubernetes-preserve-unknown-fields", Json::boolean(true));
    schemas.set(prefix + "." + t.version + "." + t.kind, schema);
  }
  if (paths.members().empty()) return toResponse(pathNotFound());
  body.set("openapi", Json::string("3.0.0"));
  Json info = Json::object();
  info.set("title", Json::string("Kubernetes"));
  info.set("version", Json::string("v1.30.0"));
  body.set("info", info);
  body.set("paths", paths);
  Json components = Json::object();
  components.set("schemas", schemas);
  body.set("components", components);
  HttpResponse r;
  r.body = body.dump();
  return r;
}

ApiCore::Outcome ApiCore::resourceRequest(const HttpRequest& request, std::size_t type,
                                          const std::string& ns, bool allNamespaces,
                                          const std::string& name, const std::string& subresource,
                                          const Query& query,
                                          const std::shared_ptr<WatchSink>& sink,
                                          WatchStart* watch) {
  const ResourceType& rt = resourceTypes()[type];
  const std::string& method = request.method;
  const bool dryRun = queryValue(query, "dryRun") == "All";
  const bool isWatch = parseBool(queryValue(query, "watch"));
  if (admission_ != nullptr) {
    admission_->method = method;
    admission_->subresource = subresource;
    admission_->dryRun = dryRun;
    admission_->fieldManager = queryValue(query, "fieldManager");
  }
  auto parseBody = [&](Json* out) -> std::optional<Outcome> {
    const std::string media = mediaType(request.contentType);
    if (!media.empty() && media != "application/json") {
      return unsupportedMediaType("application/json");
    }
    Result<Json> parsed = Json::parse(request.body);
    if (!parsed) {
      return badRequest("the body of the request could not be decoded: " +
                        parsed.status().message());
    }
    *out = std::move(*parsed);
    return std::nullopt;
  };
  const std::string objectNs = rt.namespaced ? ns : "";
  if (name.empty()) {
    if (method == "GET") {
      if (isWatch) return startWatch(type, objectNs, query, sink, watch);
      return listObjects(type, objectNs, query, wantsTable(request.accept));
    }
    if (allNamespaces) return methodNotAllowed();
    if (method == "POST") {
      Json body;
      if (std::optional<Outcome> e = parseBody(&body)) return *e;
      return create(type, objectNs, body, dryRun);
    }
    if (method == "DELETE") return deleteCollection(type, objectNs, query, dryRun);
    return methodNotAllowed();
  }
  if (method == "GET") {
    if (isWatch && subresource.empty()) {
      Query narrowed = query;
      const std::string selector = queryValue(query, "fieldSelector");
      narrowed.erase("fieldSelector");
      narrowed.emplace("fieldSelector",
                       (selector.empty() ? "" : selector + ",") + "metadata.name=" + name);
      return startWatch(type, objectNs, narrowed, sink, watch);
    }
    const Json* object = find(type, objectNs, name);
    if (object == nullptr) return notFound(rt, name);
    if (wantsTable(request.accept)) return {200, tableOf({*object}, rv_)};
    return {200, *object};
  }
  if (method == "PUT") {
    Json body;
    if (std::optional<Outcome> e = parseBody(&body)) return *e;
    return update(type, objectNs, name, body, subresource == "status", dryRun);
  }
  if (method == "PATCH") {
    return patch(type, objectNs, name, request.contentType, request.body, subresource == "status",
                 query, dryRun);
  }
  if (method == "DELETE" && subresource.empty()) {
    return deleteObject(type, objectNs, name, request.body, dryRun);
  }
  return methodNotAllowed();
}

}  // namespace slogate::fakes
