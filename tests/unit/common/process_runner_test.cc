#include "common/process_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "common/temp_dir.h"
#include "support/test_env.h"

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

TEST(PosixProcessRunnerTest, StdinHeldOpenUntilTheOutputSaysSo) {
  // The child reads its input, then reports whether stdin has hung up (POLLHUP), as
  // nix-daemon --stdio watches for; it exits on EOF.
  const std::string script =
      "import os, select\n"
      "data = os.read(0, 5)\n"
      "p = select.poll(); p.register(0, select.POLLHUP)\n"
      "hup = any(ev & select.POLLHUP for _, ev in p.poll(300))\n"
      "print(data.decode(), 'hup' if hup else 'open', flush=True)\n"
      "os.read(0, 1)\n"
      "print('eof', flush=True)\n";
  auto runner = makePosixProcessRunner();
  ProcessOptions o;
  o.stdin_data = "hello";
  o.timeout = std::chrono::seconds(20);
  auto closed = runner->run({"python3", "-c", script}, o);
  ASSERT_TRUE(closed.isOk()) << closed.status().toString();
  EXPECT_EQ(closed->stdout_data, "hello hup\neof\n");
  std::vector<std::string> seen;
  o.close_stdin_when = [&](const std::string& out) {
    seen.push_back(out);
    return out.find('\n') != std::string::npos;
  };
  auto held = runner->run({"python3", "-c", script}, o);
  ASSERT_TRUE(held.isOk()) << held.status().toString();
  EXPECT_EQ(held->stdout_data, "hello open\neof\n");
  ASSERT_FALSE(seen.empty());
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

TEST(PosixProcessRunnerTest, OutputOverTheCapKillsChild) {
  ProcessOptions o;
  o.max_output_bytes = 1 << 20;
  o.timeout = std::chrono::seconds(60);
  // Without the cap this would end in DeadlineExceeded after 60 s.
  auto r = makePosixProcessRunner()->run({"sh", "-c", "yes 'flood' >&2; sleep 60"}, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::Internal);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("more than 1048576 bytes"));
  // Under the cap: unchanged.
  auto small = makePosixProcessRunner()->run({"sh", "-c", "echo fine"}, o);
  ASSERT_TRUE(small.isOk());
  EXPECT_EQ(small->stdout_data, "fine\n");
}

TEST(PosixProcessRunnerTest, TerminateRunningProcessesStopsTheWholeProcessGroup) {
  TempDir dir = testing::makeTempDir();
  const fs::path started = dir.path() / "started";
  // The shell stays (two commands) and its `sleep` holds the output pipes too: only a
  // signal to the process group lets run() return.
  Result<ProcessResult> r = internalError("not run");
  std::thread t([&] {
    r = makePosixProcessRunner()->run(
        {"sh", "-c", "touch '" + started.string() + "'; sleep 30; echo unreachable"});
  });
  for (int i = 0; i < 1000 && !fs::exists(started); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(started)) << "the child never started";
  terminateRunningProcesses(std::chrono::seconds(5));
  t.join();
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
  EXPECT_EQ(r->stdout_data, "");
  // Nothing left to stop: returns at once, and later runs are unaffected.
  terminateRunningProcesses(std::chrono::seconds(5));
  auto after = makePosixProcessRunner()->run({"sh", "-c", "echo ok"});
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(after->stdout_data, "ok\n");
}

}  // namespace
}  // namespace nixsnap
