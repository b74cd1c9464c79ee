#include "image/console_progress.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string>

namespace nixsnap::image {
namespace {

using Kind = ProgressEvent::Kind;

std::string shortDigest(const std::string& d) {
  auto colon = d.find(':');
  return colon == std::string::npos ? d : d.substr(0, std::min(d.size(), colon + 13));
}

std::string bytes(int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

std::string layer(const ProgressEvent& e) {
  return "layer " + std::to_string(e.index) + "/" + std::to_string(e.count) + " " +
         shortDigest(e.digest);
}

class ConsoleProgress : public ProgressSink {
 public:
  ConsoleProgress(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void report(const ProgressEvent& e) override {
    bool running = e.kind == Kind::BlobStarted || e.kind == Kind::LayerStarted;
    if (running && !terminal_) {
      return;  // a log gets the result line only
    }
    if (terminal_) {
      out_ << "\r\033[K";  // replace the running step's line
    }
    out_ << describeProgress(e);
    if (!running) {
      out_ << "\n";
    }
    out_.flush();
  }

 private:
  std::ostream& out_;
  bool terminal_;
};

}  // namespace

std::string describeProgress(const ProgressEvent& e) {
  switch (e.kind) {
    case Kind::BlobStarted:
      return "copying blob " + shortDigest(e.digest) + " (" + bytes(e.size_bytes) + ") ...";
    case Kind::BlobWritten:
      return "copied blob " + shortDigest(e.digest) + " (" + bytes(e.size_bytes) + ")";
    case Kind::BlobSkipped: return "skipped blob " + shortDigest(e.digest) + " (already there)";
    case Kind::LayerStarted: return "unpacking " + layer(e) + " (realising its store paths) ...";
    case Kind::LayerUnpacked:
      return "unpacked " + layer(e) + " (prepare/realise " + seconds(e.prepare) + ", apply " +
             seconds(e.apply) + ")";
    case Kind::LayerSkipped: return "skipped " + layer(e) + " (already unpacked)";
    case Kind::LayerReplaced:
      return "replacing " + layer(e) + ": its snapshot lacked the Nix labels";
    case Kind::ManifestPushed: return "pushed manifest " + shortDigest(e.digest) + " as " + e.name;
    case Kind::ImageNamed: return "image " + e.name + " -> " + shortDigest(e.digest);
  }
  return "";
}

ProgressSinkPtr makeConsoleProgress(std::ostream& out, bool terminal) {
  return std::make_shared<ConsoleProgress>(out, terminal);
}

}  // namespace nixsnap::image
