#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace nixsnap::bench {

/// Latency samples of one operation in one run, in microseconds.
class Samples {
 public:
  void add(std::chrono::steady_clock::duration d) {
    us_.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
  void append(const Samples& other) { us_.insert(us_.end(), other.us_.begin(), other.us_.end()); }
  size_t size() const { return us_.size(); }
  /// Nearest-rank percentile, `q` in [0, 1]; 0 for no samples. Sorts in place.
  double percentile(double q);

 private:
  std::vector<double> us_;
};

/// Median of `values` (mean of the two middle ones for an even count); 0 when empty.
double median(std::vector<double> values);

/// "123.4" style fixed formatting with `digits` decimals.
std::string fixed(double v, int digits);

/// Elapsed time since `start`, in seconds.
double secondsSince(std::chrono::steady_clock::time_point start);

}  // namespace nixsnap::bench
