#include <algorithm>
#include <cctype>

#include "net/http_client.h"

namespace slogate::net {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string findHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return v;
  }
  return "";
}

std::string HttpResponse::header(std::string_view name) const {
  return findHeader(headers, name);
}

}  // namespace slogate::net
