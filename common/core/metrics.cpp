#include "common/core/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace stripe_sync::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size())) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double seconds) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  if (it != bounds_.end()) {
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e6),
                        std::memory_order_relaxed);
}

namespace {
std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
std::string with_label(std::string_view labels, std::string_view extra) {
  std::string out = "{";
  out += labels;
  if (!labels.empty() && !extra.empty()) out += ",";
  out += extra;
  out += "}";
  return out == "{}" ? std::string() : out;
}
}  // namespace

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += std::string(name) + "_bucket" +
           with_label(labels, "le=\"" + format_double(bounds_[i]) + "\"") + " " +
           std::to_string(cumulative) + "\n";
  }
  std::uint64_t n = count();
  out += std::string(name) + "_bucket" + with_label(labels, "le=\"+Inf\"") + " " +
         std::to_string(n) + "\n";
  out += std::string(name) + "_sum" + with_label(labels, "") + " " +
         format_double(static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6) +
         "\n";
  out += std::string(name) + "_count" + with_label(labels, "") + " " + std::to_string(n) + "\n";
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

Registry::Series* Registry::find(std::string_view name, std::string_view labels) {
  std::string key(name);
  key += '\n';
  key += labels;
  auto it = index_.find(key);
  if (it != index_.end()) return &series_[it->second];
  index_.emplace(std::move(key), series_.size());
  return nullptr;
}

Counter& Registry::counter(std::string_view name, std::string_view help, std::string_view labels) {
  std::lock_guard lock(mutex_);
  if (Series* s = find(name, labels)) return *s->counter;
  Counter& c = counters_.emplace_back();
  series_.push_back({std::string(name), std::string(help), std::string(labels), Kind::counter, &c});
  return c;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, std::string_view labels) {
  std::lock_guard lock(mutex_);
  if (Series* s = find(name, labels)) return *s->gauge;
  Gauge& g = gauges_.emplace_back();
  series_.push_back({std::string(name), std::string(help), std::string(labels), Kind::gauge,
                     nullptr, &g});
  return g;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::string_view labels, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  if (Series* s = find(name, labels)) return *s->histogram;
  Histogram& h = histograms_.emplace_back(std::move(bounds));
  series_.push_back({std::string(name), std::string(help), std::string(labels), Kind::histogram,
                     nullptr, nullptr, &h});
  return h;
}

void Registry::add_collector(std::function<void(std::string&)> collect) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

void render_gauge_family(std::string& out, std::string_view name, std::string_view help,
                         const std::vector<std::pair<std::string, double>>& samples) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " gauge\n";
  for (const auto& [labels, value] : samples) {
    out += name;
    out += with_label(labels, "");
    out += ' ';
    out += format_double(value);
    out += '\n';
  }
}

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(4096);
  // Prometheus wants every series of a family together, under one HELP and TYPE.
  std::vector<std::string_view> names;
  for (const auto& s : series_)
    if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
  for (std::string_view name : names) {
    bool described = false;
    for (const auto& s : series_) {
      if (s.name != name) continue;
      if (!described) {
        described = true;
        const char* type = s.kind == Kind::counter ? "counter"
                           : s.kind == Kind::gauge ? "gauge"
                                                   : "histogram";
        out += "# HELP " + s.name + " " + s.help + "\n# TYPE " + s.name + " " + type + "\n";
      }
      switch (s.kind) {
        case Kind::counter:
          out += s.name + with_label(s.labels, "") + " " + std::to_string(s.counter->value()) + "\n";
          break;
        case Kind::gauge:
          out += s.name + with_label(s.labels, "") + " " + std::to_string(s.gauge->value()) + "\n";
          break;
        case Kind::histogram:
          s.histogram->render(out, s.name, s.labels);
          break;
      }
    }
  }
  for (const auto& collect : collectors_) collect(out);
  return out;
}

}  // namespace stripe_sync::metrics
