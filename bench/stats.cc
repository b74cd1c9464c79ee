#include "bench/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nixsnap::bench {

double Samples::percentile(double q) {
  if (us_.empty()) {
    return 0;
  }
  std::sort(us_.begin(), us_.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(us_.size())));
  rank = std::clamp<size_t>(rank, 1, us_.size());
  return us_[rank - 1];
}

double median(std::vector<double> values) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace nixsnap::bench
