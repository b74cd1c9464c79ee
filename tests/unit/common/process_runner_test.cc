#include <gtest/gtest.h>

#include "common/process_runner.h"

namespace nixsnap {
namespace {

TEST(PosixProcessRunnerTest, CapturesStdoutStderrAndExitCode) {
  auto runner = makePosixProcessRunner();
  auto r = runner->run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->stdout_data, "out\n");
  EXPECT_EQ(r->stderr_data, "err\n");
}

TEST(PosixProcessRunnerTest, FeedsStdinAndEnv) {
  auto runner = makePosixProcessRunner();
  ProcessOptions o;
  o.stdin_data = std::string(200000, 'x');
  o.env["NIXSNAP_X"] = "v";
  auto r = runner->run({"sh", "-c", "wc -c; echo $NIXSNAP_X"}, o);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->stdout_data, "200000\nv\n");
}

TEST(PosixProcessRunnerTest, MissingProgramIsUnavailable) {
  auto r = makePosixProcessRunner()->run({"/nonexistent/nixsnap-no-such-program"});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::Unavailable);
}

TEST(PosixProcessRunnerTest, TimeoutKillsChild) {
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(100);
  auto r = makePosixProcessRunner()->run({"sleep", "5"}, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::DeadlineExceeded);
}

}  // namespace
}  // namespace nixsnap
