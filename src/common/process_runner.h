#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"

namespace nixsnap {

/// What a finished child process left behind.
struct ProcessResult {
  int exit_code = 0;        ///< exit status, or 128+signal when killed by a signal
  std::string stdout_data;  ///< everything written to stdout
  std::string stderr_data;  ///< everything written to stderr
  int term_signal = 0;      ///< the signal that killed it; 0 when it exited (last: brace
                            ///< initialisers {exit_code, stdout, stderr} stay valid)
};

/// Options of one run.
struct ProcessOptions {
  std::string stdin_data;                  ///< written to the child's stdin, then closed
  std::map<std::string, std::string> env;  ///< added to (or replacing in) the environment
  std::chrono::milliseconds timeout{0};    ///< 0 = none; on expiry the child is killed
  size_t max_output_bytes = 0;  ///< 0 = none; past it (stdout + stderr) the child is killed
  /// When set, stdin stays open after stdin_data is written, until this returns true for
  /// the stdout read so far (or stdout closes): for programs that take a closed stdin as
  /// the client hanging up, e.g. `nix-daemon --stdio`, which then stops mid-session.
  std::function<bool(const std::string& stdout_so_far)> close_stdin_when;
  /// Polled while the child runs (every kProcessCancelPoll, only when it canCancel()): once it
  /// reports the caller gave up, the child's process group gets SIGTERM, then SIGKILL
  /// after `cancel_grace`, and run() returns Canceled.
  CancelToken cancel;
  std::chrono::milliseconds cancel_grace{2000};  ///< SIGTERM to SIGKILL on cancel
};

/// Runs external programs (nix-store, external builders). The seam that lets unit tests
/// replace real processes with a GoogleMock double.
class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;

  /// Runs `argv` (argv[0] looked up in PATH) to completion, capturing its output.
  /// @param argv non-empty program and arguments.
  /// @return the result for any exit status (callers judge exit_code); Unavailable when
  ///         the program cannot be started (not found, not executable);
  ///         DeadlineExceeded on timeout; Canceled (naming the program) once
  ///         options.cancel fired, after the child was stopped and reaped; Internal for
  ///         pipe/fork failures and for output over max_output_bytes.
  /// Thread-safe.
  virtual Result<ProcessResult> run(const std::vector<std::string>& argv,
                                    const ProcessOptions& options = {}) = 0;
};
using ProcessRunnerPtr = std::shared_ptr<ProcessRunner>;

/// How often run() polls ProcessOptions::cancel while its child runs.
inline constexpr std::chrono::milliseconds kProcessCancelPoll{50};

/// fork/exec implementation with pipes and poll(2). Each child runs in a process group
/// of its own (setpgid), which a timeout, a cancel or terminateRunningProcesses() signals
/// whole.
ProcessRunnerPtr makePosixProcessRunner();

/// For a daemon's shutdown once its grace period is over: sends SIGTERM to the process
/// group of every child that any makePosixProcessRunner() runner is still waiting for,
/// then SIGKILL to those still running after `kill_after`. Their run() calls then return
/// (exit code 128 + signal), so the calls waiting on them can finish. Returns when all
/// have exited or right after the SIGKILL. Runs started later are not affected.
/// Thread-safe.
void terminateRunningProcesses(std::chrono::milliseconds kill_after);

}  // namespace nixsnap
