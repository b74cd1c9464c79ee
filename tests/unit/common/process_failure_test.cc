#include "common/process_failure.h"

#include <gtest/gtest.h>

namespace nixsnap {
namespace {

ProcessResult exited(int code, std::string err) {
  ProcessResult r;
  r.exit_code = code;
  r.stderr_data = std::move(err);
  return r;
}

// A failure with nothing on stderr used to give an empty detail ("...: nix-store exited 1: ").
TEST(ProcessFailureTest, EmptyStderrStillNamesCommandAndStatus) {
  EXPECT_EQ(describeProcessFailure("nix-store --realise", exited(1, "")),
            "nix-store --realise exited with status 1 (no output)");
  EXPECT_EQ(describeProcessFailure("nix-store --realise", exited(1, " \n\n")),
            "nix-store --realise exited with status 1 (no output)");
}

TEST(ProcessFailureTest, KilledBySignalSaysSo) {
  ProcessResult r = exited(128 + 9, "");
  r.term_signal = 9;
  EXPECT_EQ(describeProcessFailure("builder", r), "builder was killed by signal 9 (no output)");
}

TEST(ProcessFailureTest, StderrIsQuotedWithoutTrailingBlanksAndCappedAtItsEnd) {
  EXPECT_EQ(describeProcessFailure("nix-store --realise", exited(1, "error: disk full\n")),
            "nix-store --realise exited with status 1: error: disk full");
  EXPECT_EQ(describeProcessFailure("b", exited(2, "0123456789\n"), 4),
            "b exited with status 2: ...6789");
}

TEST(ProcessFailureTest, StderrTailTrimsBlanksAndKeepsTheEnd) {
  EXPECT_EQ(stderrTail("error: x\r\n \t", 100), "error: x");
  EXPECT_EQ(stderrTail(" \n", 100), "");
  EXPECT_EQ(stderrTail("0123456789", 4), "...6789");
  EXPECT_EQ(stderrTail("0123", 4), "0123");
}

}  // namespace
}  // namespace nixsnap
