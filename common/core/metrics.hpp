#pragma once
// A small Prometheus registry. Families and their label values are declared at start-up, so the
// hot path only bumps an atomic (no lookup, no lock, no allocation). Label values are fixed
// strings chosen by the code, never request data, so no secret can reach a label.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace stripe_sync::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Cumulative histogram over fixed upper bounds in seconds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double seconds);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

// Default latency buckets: 100 µs .. 10 s.
std::vector<double> latency_buckets();

class Registry {
 public:
  // Each call returns the time series of `name` and `labels` (the rendered label set, e.g.
  // R"(outcome="accepted")", or empty), registering it the first time. Hot paths keep the
  // reference; references stay valid for the registry's life.
  Counter& counter(std::string_view name, std::string_view help, std::string_view labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, std::string_view labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::string_view labels = {},
                       std::vector<double> bounds = latency_buckets());

  // A family whose series are only known when scraped (e.g. consumer lag per assigned
  // partition): `collect` appends complete exposition lines (HELP, TYPE and samples) to `out`.
  // It runs on the scraping thread, after the registered series.
  void add_collector(std::function<void(std::string& out)> collect);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  enum class Kind { counter, gauge, histogram };
  struct Series {
    std::string name, help, labels;
    Kind kind;
    Counter* counter = nullptr;
    Gauge* gauge = nullptr;
    Histogram* histogram = nullptr;
  };
  Series* find(std::string_view name, std::string_view labels);

  mutable std::mutex mutex_;  // guards registration and rendering, never the hot path
  std::vector<Series> series_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name + '\n' + labels -> series_
  std::vector<std::function<void(std::string&)>> collectors_;
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<Histogram> histograms_;
};

// Appends one gauge family rendered from `samples` (label set, value) to `out`.
void render_gauge_family(std::string& out, std::string_view name, std::string_view help,
                         const std::vector<std::pair<std::string, double>>& samples);

// `value` escaped for a label value (backslash, quote, newline).
std::string escape_label(std::string_view value);

}  // namespace stripe_sync::metrics
