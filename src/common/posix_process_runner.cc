#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "common/process_runner.h"
#include "common/unique_fd.h"

extern char** environ;

namespace nixsnap {
namespace {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Status makePipe(Pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return errnoStatus(errno, "creating pipe");
  }
  p.read.reset(fds[0]);
  p.write.reset(fds[1]);
  return Status::ok();
}

std::vector<std::string> buildEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos && extra.count(kv.substr(0, eq)) != 0) {
      continue;
    }
    env.push_back(std::move(kv));
  }
  for (const auto& [k, v] : extra) {
    env.push_back(k + "=" + v);
  }
  return env;
}

/// Every child any runner has started and not yet reaped, for
/// terminateRunningProcesses(). A pid leaves the set before it is reaped, so it can never
/// name a reused pid when signalled.
struct Children {
  std::mutex mu;
  std::set<pid_t> running;
};

Children& children() {
  static Children c;
  return c;
}

class PosixProcessRunner final : public ProcessRunner {
 public:
  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            const ProcessOptions& options) override {
    if (argv.empty()) {
      return invalidArgument("running process: empty argv");
    }
    Pipe in, out, err, exec_err;
    NIXSNAP_RETURN_IF_ERROR(makePipe(in));
    NIXSNAP_RETURN_IF_ERROR(makePipe(out));
    NIXSNAP_RETURN_IF_ERROR(makePipe(err));
    NIXSNAP_RETURN_IF_ERROR(makePipe(exec_err));

    std::vector<std::string> env_strings = buildEnv(options.env);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env_strings) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);

    std::unique_lock<std::mutex> registry(children().mu);
    pid_t pid = ::fork();
    if (pid < 0) {
      return errnoStatus(errno, "forking for " + argv[0]);
    }
    if (pid == 0) {
      // Child: only async-signal-safe calls from here on. Its own process group, so that
      // terminateRunningProcesses() reaches whatever it starts (a builder's sleep, say).
      ::setpgid(0, 0);
      ::dup2(in.read.get(), 0);
      ::dup2(out.write.get(), 1);
      ::dup2(err.write.get(), 2);
      ::execvpe(cargv[0], cargv.data(), cenv.data());
      int e = errno;
      (void)!::write(exec_err.write.get(), &e, sizeof e);
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here: whichever runs first, the group exists before use
    children().running.insert(pid);
    registry.unlock();
    in.read.reset();
    out.write.reset();
    err.write.reset();
    exec_err.write.reset();

    int child_errno = 0;
    ssize_t n = ::read(exec_err.read.get(), &child_errno, sizeof child_errno);
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
      reap(pid, nullptr);
      return Status(ErrorCode::Unavailable,
                    "starting " + argv[0] + ": " + std::strerror(child_errno));
    }
    return pump(pid, std::move(in.write), std::move(out.read), std::move(err.read), options,
                argv[0]);
  }

 private:
  static Result<ProcessResult> pump(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err,
                                    const ProcessOptions& options, const std::string& name) {
    ProcessResult result;
    size_t written = 0;
    const bool hold_stdin = static_cast<bool>(options.close_stdin_when);
    if (options.stdin_data.empty() && !hold_stdin) {
      in.reset();
    } else {
      ::fcntl(in.get(), F_SETFL, O_NONBLOCK);
    }
    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    bool timed_out = false;
    bool too_much = false;
    bool cancelled = false;
    char buf[65536];
    while (out.valid() || err.valid() || (in.valid() && written < options.stdin_data.size())) {
      pollfd fds[3];
      int nfds = 0;
      int idx_out = -1, idx_err = -1, idx_in = -1;
      if (out.valid()) {
        idx_out = nfds;
        fds[nfds++] = {out.get(), POLLIN, 0};
      }
      if (err.valid()) {
        idx_err = nfds;
        fds[nfds++] = {err.get(), POLLIN, 0};
      }
      if (in.valid() && written < options.stdin_data.size()) {
        idx_in = nfds;
        fds[nfds++] = {in.get(), POLLOUT, 0};
      }
      if (options.cancel.cancelled()) {
        cancelled = true;
        break;
      }
      int wait_ms = pollWait(options, deadline);
      if (wait_ms == 0) {
        timed_out = true;
        break;
      }
      int r = ::poll(fds, nfds, wait_ms);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      auto drain = [&](int idx, UniqueFd& fd, std::string& sink) {
        if (idx < 0 || fds[idx].revents == 0) return;
        ssize_t got = ::read(fd.get(), buf, sizeof buf);
        if (got > 0) {
          sink.append(buf, static_cast<size_t>(got));
        } else if (got == 0 || errno != EINTR) {
          fd.reset();
        }
      };
      drain(idx_out, out, result.stdout_data);
      drain(idx_err, err, result.stderr_data);
      if (hold_stdin && in.valid() &&
          (!out.valid() || options.close_stdin_when(result.stdout_data))) {
        in.reset();
      }
      if (options.max_output_bytes > 0 &&
          result.stdout_data.size() + result.stderr_data.size() > options.max_output_bytes) {
        too_much = true;
        break;
      }
      if (idx_in >= 0 && fds[idx_in].revents != 0) {
        ssize_t w = ::write(in.get(), options.stdin_data.data() + written,
                            options.stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) in.reset();
        if (written == options.stdin_data.size() && !hold_stdin) in.reset();
      }
    }
    in.reset();  // a child waiting for EOF on stdin may exit now
    return finish(pid, {timed_out, too_much, cancelled}, options, name, std::move(result));
  }

  /// poll()'s timeout: the time left until the deadline (0 once it has passed), at most
  /// kProcessCancelPoll while the caller may give up, else -1 (none).
  static int pollWait(const ProcessOptions& options,
                      std::chrono::steady_clock::time_point deadline) {
    int wait_ms = -1;
    if (options.timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
      if (wait_ms == 0) {
        return 0;
      }
    }
    if (options.cancel.canCancel()) {
      int poll_ms = static_cast<int>(kProcessCancelPoll.count());
      wait_ms = wait_ms < 0 ? poll_ms : std::min(wait_ms, poll_ms);
    }
    return wait_ms;
  }

  /// Waits for `pid` to exit (not reaping it) while polling `cancel`.
  /// @return true when the caller gave up first.
  static bool waitUnlessCancelled(pid_t pid, const CancelToken& cancel) {
    while (!exited(pid)) {
      if (cancel.cancelled()) {
        return true;
      }
      std::this_thread::sleep_for(kProcessCancelPoll);
    }
    return false;
  }

  /// True once `pid` has exited (a zombie, not reaped: its pid stays ours).
  static bool exited(pid_t pid) {
    siginfo_t info{};
    int r = 0;
    while ((r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT)) < 0 &&
           errno == EINTR) {
    }
    return r < 0 || info.si_pid == pid;
  }

  /// Stops a child whose caller gave up: SIGTERM to its process group, SIGKILL after
  /// `grace` (or as soon as the leader is gone, for anything left in the group), reaped.
  static void stop(pid_t pid, std::chrono::milliseconds grace) {
    ::kill(-pid, SIGTERM);
    auto until = std::chrono::steady_clock::now() + grace;
    while (!exited(pid) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pid, SIGKILL);  // the leader is unreaped, so -pid is still our group
    reap(pid, nullptr);
  }

  /// Why pump() stopped reading before the output ended.
  struct Stopped {
    bool timed_out = false;
    bool too_much = false;
    bool cancelled = false;
  };

  /// Kills a child that overran or whose caller gave up, reaps it and turns its end into
  /// the call's result.
  static Result<ProcessResult> finish(pid_t pid, Stopped why, const ProcessOptions& options,
                                      const std::string& name, ProcessResult result) {
    const bool timed_out = why.timed_out;
    const bool too_much = why.too_much;
    // Output can end (closed pipes) before the child does: a cancel still stops it.
    if (!timed_out && !too_much && !why.cancelled && options.cancel.canCancel()) {
      why.cancelled = waitUnlessCancelled(pid, options.cancel);
    }
    if (why.cancelled) {
      stop(pid, options.cancel_grace);
      return Status(ErrorCode::Canceled, "running " + name + ": stopped, the caller gave up");
    }
    if (timed_out || too_much) {
      ::kill(-pid, SIGKILL);
    }
    int wstatus = 0;
    reap(pid, &wstatus);
    if (timed_out) {
      return Status(ErrorCode::DeadlineExceeded, "running " + name + ": timed out");
    }
    if (too_much) {
      return internalError("running " + name + ": killed after writing more than " +
                           std::to_string(options.max_output_bytes) + " bytes");
    }
    if (WIFEXITED(wstatus)) {
      result.exit_code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
      result.term_signal = WTERMSIG(wstatus);
      result.exit_code = 128 + result.term_signal;
    }
    return result;
  }

  /// Waits for `pid` to exit, drops it from the registry while it is still a zombie (so
  /// its pid cannot have been reused yet), then reaps it.
  static void reap(pid_t pid, int* wstatus) {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0 &&
           errno == EINTR) {
    }
    {
      std::lock_guard<std::mutex> lock(children().mu);
      children().running.erase(pid);
    }
    while (::waitpid(pid, wstatus, 0) < 0 && errno == EINTR) {
    }
  }
};

}  // namespace

void terminateRunningProcesses(std::chrono::milliseconds kill_after) {
  auto signalAll = [](int sig) {
    std::lock_guard<std::mutex> lock(children().mu);
    for (pid_t pid : children().running) {
      ::kill(-pid, sig);
    }
    return children().running.size();
  };
  if (signalAll(SIGTERM) == 0) {
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + kill_after;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(children().mu);
      if (children().running.empty()) {
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  signalAll(SIGKILL);
}

ProcessRunnerPtr makePosixProcessRunner() { return std::make_shared<PosixProcessRunner>(); }

}  // namespace nixsnap
