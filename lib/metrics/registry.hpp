// A tiny Prometheus registry: counters, gauges and histograms keyed by
// label sets, rendered in the text exposition format (0.0.4) with HELP and
// TYPE lines. Everything runs on the daemon's one loop thread, so values
// are plain numbers with no locking; nothing here does I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hssjw::metrics {

// Label name/value pairs, in the order they are rendered.
using labels = std::vector<std::pair<std::string, std::string>>;

enum class kind { counter, gauge, histogram };

class registry {
 public:
  // Declares a family once, before use. Histograms need ascending bucket
  // upper bounds (+Inf is implied).
  void describe(const std::string& name, kind k, std::string help,
                std::vector<double> buckets = {});

  // Counters only go up: `n` is added to the series.
  void add(std::string_view name, const labels& l = {}, std::uint64_t n = 1);
  void set(std::string_view name, const labels& l, double value);      // gauges
  void observe(std::string_view name, const labels& l, double value);  // histograms
  // Drops every series of `name` (gauges rebuilt at collection time).
  void clear(std::string_view name);

  // Runs just before render: gauges that mirror live state (jobs per
  // scope, subscribers, journal size) are set here, at scrape time.
  void on_collect(std::function<void(registry&)> collect);

  // The exposition text; families in declaration order, series sorted.
  std::string render();

  // Test access: a counter or gauge value (0 when absent).
  double value(std::string_view name, const labels& l = {}) const;

 private:
  struct histogram_data {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct family {
    std::string name;
    kind k = kind::counter;
    std::string help;
    std::vector<double> buckets;
    std::map<labels, std::uint64_t> counters;
    std::map<labels, double> gauges;
    std::map<labels, histogram_data> histograms;
  };
  family* find(std::string_view name, kind k);
  const family* find(std::string_view name) const;
  void render_family(const family& f, std::string& out) const;

  std::vector<family> families_;
  std::vector<std::function<void(registry&)>> collectors_;
};

// Label values and HELP text escaped as the exposition format requires.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// A sample value: integers without a fraction, +Inf/-Inf/NaN spelled out.
std::string format_value(double v);

}  // namespace hssjw::metrics
