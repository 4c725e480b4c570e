#include "harness/openmetrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace slogate::harness {

namespace {

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

}  // namespace

void OpenMetricsWriter::declare(const std::string& family, const std::string& type) {
  if (type != "counter" && type != "gauge" && type != "histogram") {
    throw std::invalid_argument("OpenMetricsWriter: unknown type '" + type + "' for " + family);
  }
  if (family.empty()) throw std::invalid_argument("OpenMetricsWriter: empty family name");
  auto it = familyIndex_.find(family);
  if (it != familyIndex_.end()) {
    if (families_[it->second].type != type) {
      throw std::invalid_argument("OpenMetricsWriter: family " + family + " declared as " +
                                  families_[it->second].type + " and as " + type);
    }
    return;
  }
  familyIndex_.emplace(family, families_.size());
  families_.push_back(Family{family, type, {}, {}});
}

OpenMetricsWriter::Family* OpenMetricsWriter::familyOf(const std::string& sampleName) {
  auto find = [&](std::string_view suffix, std::string_view type) -> Family* {
    if (!endsWith(sampleName, suffix)) return nullptr;
    auto it = familyIndex_.find(sampleName.substr(0, sampleName.size() - suffix.size()));
    if (it == familyIndex_.end() || families_[it->second].type != type) return nullptr;
    return &families_[it->second];
  };
  if (Family* f = find("", "gauge")) return f;
  if (Family* f = find("_total", "counter")) return f;
  for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
    if (Family* f = find(suffix, "histogram")) return f;
  }
  return nullptr;
}

void OpenMetricsWriter::add(const std::string& sampleName, const std::vector<Label>& labels,
                            std::int64_t timestampSeconds, double value) {
  Family* family = familyOf(sampleName);
  if (family == nullptr) {
    throw std::invalid_argument("OpenMetricsWriter: no declared family for sample " + sampleName);
  }
  std::string head = sampleName;
  if (!labels.empty()) {
    head += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) head += ',';
      head += labels[i].name;
      head += "=\"";
      head += escapeLabelValue(labels[i].value);
      head += '"';
    }
    head += '}';
  }
  auto [it, inserted] = family->index.emplace(head, family->series.size());
  if (inserted) family->series.push_back(Series{head, {}});
  Series& series = family->series[it->second];
  if (!series.points.empty() && series.points.back().first >= timestampSeconds) {
    throw std::invalid_argument("OpenMetricsWriter: sample of " + head + " at " +
                                std::to_string(timestampSeconds) + " not after " +
                                std::to_string(series.points.back().first));
  }
  series.points.emplace_back(timestampSeconds, value);
  ++samples_;
}

std::string OpenMetricsWriter::text() const {
  std::string out;
  for (const Family& family : families_) {
    out += "# TYPE ";
    out += family.name;
    out += ' ';
    out += family.type;
    out += '\n';
    for (const Series& series : family.series) {
      for (const auto& [timestamp, value] : series.points) {
        out += series.head;
        out += ' ';
        out += formatValue(value);
        out += ' ';
        out += std::to_string(timestamp);
        out += '\n';
      }
    }
  }
  out += "# EOF\n";
  return out;
}

std::size_t OpenMetricsWriter::samples() const {
  return samples_;
}

std::string OpenMetricsWriter::formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return "0";  // also -0
  if (std::trunc(value) == value && std::fabs(value) < 1e18) {
    return std::to_string(static_cast<long long>(value));
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string OpenMetricsWriter::escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace slogate::harness
