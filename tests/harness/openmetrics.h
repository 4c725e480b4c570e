// openmetrics.h — OpenMetricsWriter: builds an OpenMetrics text file for
// `promtool tsdb create-blocks-from openmetrics` (test histories).
//
// Families are written in declaration order, each with its `# TYPE` line;
// inside a family, series are written in the order of their first sample and
// all samples of one series are written together, in the order they were
// added. The file ends with "# EOF\n". Timestamps are integer Unix seconds
// (what promtool expects; milliseconds would land in the year ~58000).
//
//   OpenMetricsWriter w;
//   w.declare("http_requests", "counter");
//   w.add("http_requests_total", {{"service", "a"}}, 1704067200, 0);
//   w.add("http_requests_total", {{"service", "a"}}, 1704067260, 42);
//   std::string file = w.text();
//
// Misuse (undeclared family, unknown type, a sample not later than the
// previous one of its series) throws std::invalid_argument: promtool would
// silently drop such samples.
//
// Thread safety: none; one writer per file, used from one thread at a time
// (const members may be called concurrently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slogate::harness {

struct Label {
  std::string name, value;
};

class OpenMetricsWriter {
 public:
  // type: "counter" (family name without _total; samples named
  // family+"_total"), "gauge", or "histogram" (samples named
  // family+"_bucket"/"_count"/"_sum"). Declaring a family again with the same
  // type is a no-op.
  void declare(const std::string& family, const std::string& type);
  // sampleName is the full name (e.g. "http_requests_total"); its family must
  // be declared; timestampSeconds is Unix seconds. Labels are written in the
  // given order; the same names and values in another order are another series.
  void add(const std::string& sampleName, const std::vector<Label>& labels,
           std::int64_t timestampSeconds, double value);
  std::string text() const;  // the whole file
  std::size_t samples() const;

  // How a value is printed: integral values (|v| < 1e18) as integers,
  // others as the shortest decimal that reads back to the same double;
  // "+Inf", "-Inf", "NaN".
  static std::string formatValue(double value);
  // Label value escaped per OpenMetrics: backslash, double quote, newline.
  static std::string escapeLabelValue(std::string_view value);

 private:
  struct Series {
    std::string head;  // name{labels}
    std::vector<std::pair<std::int64_t, double>> points;
  };
  struct Family {
    std::string name;
    std::string type;
    std::vector<Series> series;
    std::map<std::string, std::size_t> index;  // head -> position in series
  };

  Family* familyOf(const std::string& sampleName);

  std::vector<Family> families_;
  std::map<std::string, std::size_t> familyIndex_;  // family name -> position
  std::size_t samples_ = 0;
};

}  // namespace slogate::harness
