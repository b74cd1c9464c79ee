#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace nixsnap::testing {

/// True while some FaultPlan is armed; read and written with __atomic builtins. A plain
/// constant-initialised bool, so the syscall shim can read it before main and even before
/// ASan has started (ASan's start-up calls mkdir; std::atomic's accessors are instrumented).
extern bool g_fault_plan_armed;

/// Which call of a fault-injection walk fails: every fault point (a metadata statement
/// or commit, a filesystem call, a Nix store call) asks hit() while the plan is armed,
/// and the `fail_at`-th of them (1-based) fails. Only the arming thread counts, so a
/// background thread (the directory pool) never shifts the numbering.
class FaultPlan {
 public:
  /// The one plan the fault points consult (the syscall shim has no other way in).
  static FaultPlan& global();

  /// Starts counting on this thread; the `fail_at`-th point fails (0: none fails).
  void arm(int fail_at);
  /// Stops counting. @return the number of points the armed section passed.
  int disarm();

  /// Counts one fault point named `what`; true if it must fail now.
  bool hit(const char* what);

  /// While alive, this thread's calls are no fault points (a test double's own disk
  /// writes, which the real collaborator makes in another process).
  class Quiet {
   public:
    Quiet();
    ~Quiet();
    Quiet(const Quiet&) = delete;
    Quiet& operator=(const Quiet&) = delete;
  };

  /// Points counted so far in the armed section.
  int count() const { return count_; }
  /// Notes that a metadata commit of the armed section became visible: a fault from then
  /// on, or one inside that commit (after point `count_before`: its sync), is past the
  /// operation's commit point.
  void passCommitPoint(int count_before);
  /// Whether the failed point came at or after a commit point (see passCommitPoint).
  bool failedPastCommit() const { return failed_past_commit_; }

  /// The point that failed in the armed section ("" if none).
  const std::string& failed() const { return failed_; }

 private:
  std::atomic<bool> armed_{false};
  std::thread::id thread_;
  int fail_at_ = 0;
  int count_ = 0;
  std::string failed_;
  bool past_commit_ = false;
  bool failed_past_commit_ = false;
};

}  // namespace nixsnap::testing
