// The Prometheus registry and its text rendering.
#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace hssjw::metrics {

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    for (int precision = 6; precision <= 17;
         ++precision) {  // the shortest text that reads back exactly
      std::snprintf(buf, sizeof buf, "%.*g", precision, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
  return buf;
}

namespace {

std::string series(const std::string& name, const labels& l, const std::string& extra = {}) {
  std::string out = name;
  if (l.empty() && extra.empty()) return out;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + escape_label_value(v) + '"';
  }
  if (!extra.empty()) out += (first ? "" : ",") + extra;
  out += '}';
  return out;
}

const char* kind_name(kind k) {
  switch (k) {
    case kind::counter:
      return "counter";
    case kind::gauge:
      return "gauge";
    case kind::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void registry::describe(const std::string& name, kind k, std::string help,
                        std::vector<double> buckets) {
  if (find(name)) return;
  family f;
  f.name = name;
  f.k = k;
  f.help = std::move(help);
  std::sort(buckets.begin(), buckets.end());
  f.buckets = std::move(buckets);
  families_.push_back(std::move(f));
}

// Using an undeclared name, or a name as the wrong kind, is a programming
// error that tests must catch at once rather than a silently missing series.
registry::family* registry::find(std::string_view name, kind k) {
  for (auto& f : families_)
    if (f.name == name) {
      if (f.k != k) throw std::logic_error("metric " + f.name + " used as the wrong kind");
      return &f;
    }
  throw std::logic_error("metric " + std::string(name) + " was not described");
}

const registry::family* registry::find(std::string_view name) const {
  for (const auto& f : families_)
    if (f.name == name) return &f;
  return nullptr;
}

void registry::add(std::string_view name, const labels& l, std::uint64_t n) {
  find(name, kind::counter)->counters[l] += n;
}

void registry::set(std::string_view name, const labels& l, double value) {
  find(name, kind::gauge)->gauges[l] = value;
}

void registry::observe(std::string_view name, const labels& l, double value) {
  auto* f = find(name, kind::histogram);
  auto& h = f->histograms[l];
  if (h.counts.empty()) h.counts.assign(f->buckets.size(), 0);
  auto it = std::lower_bound(f->buckets.begin(), f->buckets.end(), value);
  if (it != f->buckets.end()) ++h.counts[static_cast<std::size_t>(it - f->buckets.begin())];
  ++h.count;
  h.sum += value;
}

void registry::clear(std::string_view name) {
  for (auto& f : families_)
    if (f.name == name) {
      f.counters.clear();
      f.gauges.clear();
      f.histograms.clear();
    }
}

void registry::on_collect(std::function<void(registry&)> collect) {
  collectors_.push_back(std::move(collect));
}

double registry::value(std::string_view name, const labels& l) const {
  const auto* f = find(name);
  if (!f) return 0;
  if (auto it = f->counters.find(l); it != f->counters.end())
    return static_cast<double>(it->second);
  if (auto it = f->gauges.find(l); it != f->gauges.end()) return it->second;
  if (auto it = f->histograms.find(l); it != f->histograms.end())
    return static_cast<double>(it->second.count);
  return 0;
}

void registry::render_family(const family& f, std::string& out) const {
  out += "# HELP " + f.name + ' ' + escape_help(f.help) + '\n';
  out += "# TYPE " + f.name + ' ' + kind_name(f.k) + '\n';
  for (const auto& [l, v] : f.counters) out += series(f.name, l) + ' ' + std::to_string(v) + '\n';
  for (const auto& [l, v] : f.gauges) out += series(f.name, l) + ' ' + format_value(v) + '\n';
  for (const auto& [l, h] : f.histograms) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < f.buckets.size(); ++i) {
      cumulative += h.counts[i];
      out += series(f.name + "_bucket", l, "le=\"" + format_value(f.buckets[i]) + '"') + ' ' +
             std::to_string(cumulative) + '\n';
    }
    out += series(f.name + "_bucket", l, "le=\"+Inf\"") + ' ' + std::to_string(h.count) + '\n';
    out += series(f.name + "_sum", l) + ' ' + format_value(h.sum) + '\n';
    out += series(f.name + "_count", l) + ' ' + std::to_string(h.count) + '\n';
  }
}

std::string registry::render() {
  for (auto& c : collectors_) c(*this);
  std::string out;
  for (const auto& f : families_) render_family(f, out);
  return out;
}

}  // namespace hssjw::metrics
