#include "image/console_progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace nixsnap::image {
namespace {

using K = ProgressEvent::Kind;

std::vector<ProgressEvent> aLoad() {
  ProgressEvent started = layerEvent(K::LayerStarted, "sha256:" + std::string(64, 'a'), 1, 1);
  ProgressEvent done = started;
  done.kind = K::LayerUnpacked;
  done.prepare = std::chrono::milliseconds(1500);
  return {blobEvent(K::BlobStarted, "sha256:" + std::string(64, 'b'), 2048),
          blobEvent(K::BlobWritten, "sha256:" + std::string(64, 'b'), 2048), started, done};
}

TEST(ConsoleProgressTest, LogGetsOneLinePerFinishedStepAndNoControlCharacters) {
  std::ostringstream out;
  auto sink = makeConsoleProgress(out, false);
  for (const auto& e : aLoad()) {
    sink->report(e);
  }
  std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\033'), std::string::npos);
  EXPECT_NE(text.find("2.0 KiB"), std::string::npos) << text;
  EXPECT_NE(text.find("1.50 s"), std::string::npos) << text;
}

TEST(ConsoleProgressTest, TerminalShowsRunningStepsAndReplacesThem) {
  std::ostringstream out;
  auto sink = makeConsoleProgress(out, true);
  for (const auto& e : aLoad()) {
    sink->report(e);
  }
  std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 4) << "each step rewrites the line";
  EXPECT_NE(text.find("unpacking layer 1/1"), std::string::npos) << text;
}

}  // namespace
}  // namespace nixsnap::image
