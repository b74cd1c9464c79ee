#pragma once

#include <vector>

#include "image/progress.h"

namespace nixsnap::testing {

/// Records progress events, for tests that check what a load or push reported.
class RecordingProgress : public image::ProgressSink {
 public:
  void report(const image::ProgressEvent& e) override { events.push_back(e); }

  std::vector<image::ProgressEvent::Kind> kinds() const {
    std::vector<image::ProgressEvent::Kind> out;
    for (const auto& e : events) {
      out.push_back(e.kind);
    }
    return out;
  }

  size_t count(image::ProgressEvent::Kind k) const {
    size_t n = 0;
    for (const auto& e : events) {
      n += e.kind == k ? 1 : 0;
    }
    return n;
  }

  std::vector<image::ProgressEvent> events;
};

}  // namespace nixsnap::testing
