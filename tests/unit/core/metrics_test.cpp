#include "common/core/metrics.hpp"

#include <gtest/gtest.h>

namespace stripe_sync::metrics {
namespace {

TEST(Metrics, RendersCountersOfOneFamilyTogether) {
  Registry r;
  auto& a = r.counter("x_total", "X things", "outcome=\"a\"");
  r.gauge("y", "Y");
  auto& b = r.counter("x_total", "X things", "outcome=\"b\"");
  a.inc(3);
  b.inc();
  std::string text = r.render();
  EXPECT_NE(text.find("# TYPE x_total counter\nx_total{outcome=\"a\"} 3\nx_total{outcome=\"b\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("# HELP x_total"), text.rfind("# HELP x_total"));
}

TEST(Metrics, TheSameNameAndLabelsAreOneSeries) {
  Registry r;
  r.counter("x_total", "X things", "route=\"a\"").inc();
  r.counter("x_total", "X things", "route=\"a\"").inc(2);
  r.counter("x_total", "X things", "route=\"b\"").inc();
  std::string text = r.render();
  EXPECT_NE(text.find("x_total{route=\"a\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{route=\"b\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(&r.gauge("g", "G"), &r.gauge("g", "G"));
}

TEST(Metrics, CollectorsRenderAfterTheRegisteredSeries) {
  Registry r;
  r.counter("a_total", "A").inc();
  r.add_collector([](std::string& out) {
    render_gauge_family(out, "lag", "Lag", {{"partition=\"0\"", 5}, {"partition=\"1\"", 0}});
  });
  std::string text = r.render();
  EXPECT_NE(text.find("# TYPE lag gauge\nlag{partition=\"0\"} 5\nlag{partition=\"1\"} 0\n"), std::string::npos)
      << text;
  EXPECT_LT(text.find("a_total 1"), text.find("# HELP lag"));
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.histogram("lat_seconds", "Latency", "", {0.001, 0.01, 0.1});
  h.observe(0.0005);
  h.observe(0.005);
  h.observe(0.005);
  h.observe(5);
  std::string text = r.render();
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.01\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count 4\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_sum 5.0105\n"), std::string::npos);
}

}  // namespace
}  // namespace stripe_sync::metrics
