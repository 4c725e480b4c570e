#include "config/time_zone_loader.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

namespace slogate::config {
namespace {

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string zoneDir() {
  const char* dir = std::getenv("TZDIR");  // NOLINT(concurrency-mt-unsafe): read-only use
  return dir != nullptr && *dir != '\0' ? std::string(dir) : std::string("/usr/share/zoneinfo");
}

Result<std::shared_ptr<const TimeZone>> readZone(const std::string& name) {
  if (name == "UTC" || name == "Etc/UTC") return std::make_shared<const TimeZone>(TimeZone::utc());
  const std::string path = zoneDir() + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument("\"" + name + "\": unknown time zone (no " + path + ")");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (bytes.str().size() > (1U << 20)) {
    return invalidArgument("\"" + name + "\": " + path + " is not a time zone file");
  }
  auto zone = TimeZone::fromTzif(name, bytes.str());
  if (!zone) return invalidArgument("\"" + name + "\": " + path + ": " + zone.status().message());
  return std::make_shared<const TimeZone>(std::move(*zone));
}

}  // namespace

Result<std::shared_ptr<const TimeZone>> loadTimeZone(std::string_view name) {
  if (!validName(name)) {
    return invalidArgument("\"" + std::string(name) +
                           "\" is not an IANA time zone name such as UTC or Europe/Berlin");
  }
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> cache;
  const std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  auto zone = readZone(std::string(name));
  if (!zone) return zone.status();
  cache.emplace(std::string(name), *zone);
  return *zone;
}

}  // namespace slogate::config
