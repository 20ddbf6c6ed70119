// Writes the Prometheus text exposition format (version 0.0.4): one HELP and
// TYPE line per family, then its samples. Label values are escaped; names are
// the caller's constants.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace keymux::metrics {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

using Label = std::pair<std::string_view, std::string_view>;

class PrometheusText {
 public:
  // Starts a family: `type` is counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
  // A histogram's _bucket lines (cumulative counts; +Inf is `count`), _sum and _count.
  template <typename Bounds, typename Cumulative>
  void histogram(std::string_view name, const Bounds& upper_bounds_seconds,
                 const Cumulative& cumulative, std::uint64_t count, double sum) {
    std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < upper_bounds_seconds.size(); ++i) {
      const std::string le = format_double(upper_bounds_seconds[i]);
      sample(bucket, {{"le", le}}, static_cast<std::uint64_t>(cumulative[i]));
    }
    sample(bucket, {{"le", "+Inf"}}, count);
    sample(std::string(name) + "_sum", {}, sum);
    sample(std::string(name) + "_count", {}, count);
  }

  const std::string& text() const { return out_; }
  static std::string format_double(double value);

 private:
  void begin_sample(std::string_view name, std::initializer_list<Label> labels);
  std::string out_;
};

}  // namespace keymux::metrics
