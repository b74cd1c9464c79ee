#include "common/process_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include "common/temp_dir.h"
#include "support/test_env.h"

namespace nixsnap {
namespace {

/// Waits until `file` holds a pid (written by the child), then returns it; 0 if it never
/// does (the loop bound only keeps a broken build from hanging).
pid_t waitForPidFile(const fs::path& file) {
  for (int i = 0; i < 3000; ++i) {
    std::ifstream in(file.string());
    pid_t pid = 0;
    if (in >> pid && pid > 0) {
      return pid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

/// True while `pid` names a process that is not a zombie (a zombie has stopped running;
/// a grandchild's zombie is init's to reap, not ours).
bool runningProcess(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) {
    return false;
  }
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

/// Waits until `pid` no longer runs; the bound (60 s) only keeps a regression from
/// hanging: it is a wait, not a timing assertion.
bool waitGone(pid_t pid) {
  for (int i = 0; i < 6000 && runningProcess(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !runningProcess(pid);
}

/// Runs `script` (which writes a pid to $PIDFILE) with a token the test flips once the
/// pid is there; returns the run's result and the pid.
std::pair<Result<ProcessResult>, pid_t> runAndCancel(const std::string& script,
                                                     std::chrono::milliseconds grace) {
  TempDir dir = testing::makeTempDir();
  const fs::path pid_file = dir.path() / "pid";
  std::atomic<bool> gave_up{false};
  ProcessOptions o;
  o.env["PIDFILE"] = pid_file.string();
  o.cancel = CancelToken([&] { return gave_up.load(); });
  o.cancel_grace = grace;
  Result<ProcessResult> r = internalError("not run");
  std::thread t([&] { r = makePosixProcessRunner()->run({"sh", "-c", script}, o); });
  pid_t pid = waitForPidFile(pid_file);
  gave_up = true;
  t.join();
  return {std::move(r), pid};
}

TEST(PosixProcessRunnerTest, CapturesStdoutStderrAndExitCode) {
  auto runner = makePosixProcessRunner();
  auto r = runner->run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->stdout_data, "out\n");
  EXPECT_EQ(r->stderr_data, "err\n");
  EXPECT_EQ(r->term_signal, 0);
}

// exit_code alone cannot tell `exit 137` from a SIGKILL; term_signal can.
TEST(PosixProcessRunnerTest, TellsAKillingSignalFromAnExitStatus) {
  auto runner = makePosixProcessRunner();
  auto killed = runner->run({"sh", "-c", "kill -KILL $$"});
  ASSERT_TRUE(killed.isOk()) << killed.status().toString();
  EXPECT_EQ(killed->term_signal, SIGKILL);
  EXPECT_EQ(killed->exit_code, 128 + SIGKILL);
  auto exited = runner->run({"sh", "-c", "exit 137"});
  ASSERT_TRUE(exited.isOk()) << exited.status().toString();
  EXPECT_EQ(exited->term_signal, 0);
  EXPECT_EQ(exited->exit_code, 137);
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
  // The child reads its input, then reports whether stdin hangs up (POLLHUP) within the
  // milliseconds given as its argument, as nix-daemon --stdio watches for; it exits on
  // EOF. A closed stdin is waited for generously (a loaded machine may delay the close);
  // a held one only briefly, since that wait always runs out.
  const std::string script =
      "import os, select, sys\n"
      "data = os.read(0, 5)\n"
      "p = select.poll(); p.register(0, select.POLLHUP)\n"
      "hup = any(ev & select.POLLHUP for _, ev in p.poll(int(sys.argv[1])))\n"
      "print(data.decode(), 'hup' if hup else 'open', flush=True)\n"
      "os.read(0, 1)\n"
      "print('eof', flush=True)\n";
  auto runner = makePosixProcessRunner();
  ProcessOptions o;
  o.stdin_data = "hello";
  o.timeout = std::chrono::seconds(20);
  auto closed = runner->run({"python3", "-c", script, "15000"}, o);
  ASSERT_TRUE(closed.isOk()) << closed.status().toString();
  EXPECT_EQ(closed->stdout_data, "hello hup\neof\n");
  std::vector<std::string> seen;
  o.close_stdin_when = [&](const std::string& out) {
    seen.push_back(out);
    return out.find('\n') != std::string::npos;
  };
  auto held = runner->run({"python3", "-c", script, "300"}, o);
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
  EXPECT_EQ(r->term_signal, SIGTERM);
  EXPECT_EQ(r->stdout_data, "");
  // Nothing left to stop: returns at once, and later runs are unaffected.
  terminateRunningProcesses(std::chrono::seconds(5));
  auto after = makePosixProcessRunner()->run({"sh", "-c", "echo ok"});
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(after->stdout_data, "ok\n");
}

TEST(PosixProcessRunnerTest, CancelStopsTheChildAndReportsCanceled) {
  // `exec`: the pid written is the one run() started and must reap.
  auto [r, pid] = runAndCancel("echo $$ > \"$PIDFILE\"; exec sleep 60", std::chrono::seconds(5));
  ASSERT_GT(pid, 0) << "the child never wrote its pid";
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::Canceled);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("running sh"));
  // Reaped by run(): no process, not even a zombie, by that pid.
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid)));
}

TEST(PosixProcessRunnerTest, CancelReachesTheWholeProcessGroup) {
  // The shell waits for a background sleep that holds the output pipes.
  auto [r, pid] = runAndCancel("sleep 60 & echo $! > \"$PIDFILE\"; wait", std::chrono::seconds(5));
  ASSERT_GT(pid, 0) << "the child never wrote its pid";
  EXPECT_EQ(r.status().code(), ErrorCode::Canceled) << r.status().toString();
  EXPECT_TRUE(waitGone(pid)) << "the grandchild " << pid << " still runs";
}

TEST(PosixProcessRunnerTest, CancelKillsAChildThatIgnoresSigterm) {
  // SIG_IGN is inherited across exec: the whole group ignores SIGTERM.
  auto [r, pid] = runAndCancel("trap '' TERM; echo $$ > \"$PIDFILE\"; while :; do sleep 1; done",
                               std::chrono::milliseconds(100));
  ASSERT_GT(pid, 0) << "the child never wrote its pid";
  EXPECT_EQ(r.status().code(), ErrorCode::Canceled) << r.status().toString();
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid)));
}

TEST(PosixProcessRunnerTest, TokenThatNeverFiresChangesNothing) {
  ProcessOptions o;
  o.cancel = CancelToken([] { return false; });
  auto r = makePosixProcessRunner()->run({"sh", "-c", "echo out; exit 4"}, o);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(r->stdout_data, "out\n");
}

TEST(PosixProcessRunnerTest, ChildThatClosedItsOutputIsStillCancellable) {
  auto [r, pid] =
      runAndCancel("exec >&- 2>&-; echo $$ > \"$PIDFILE\"; exec sleep 60", std::chrono::seconds(5));
  ASSERT_GT(pid, 0) << "the child never wrote its pid";
  EXPECT_EQ(r.status().code(), ErrorCode::Canceled) << r.status().toString();
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid)));
}

}  // namespace
}  // namespace nixsnap
