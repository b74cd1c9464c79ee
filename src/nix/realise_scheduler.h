#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "nix/store.h"

namespace nixsnap::nix {

/// NixStore decorator that schedules realise() calls (config `max_parallel_realisations`):
/// - bounded parallelism: at most `max_parallel` calls of the inner store run at once
///   (each is a nix-store or builder process; Nix's daemon does the downloading);
/// - single-flight: a store path is in at most one running call. A call naming a path
///   that another call is realising waits for that call to end, then runs its own inner
///   realise, which finds the path valid and only roots it (nothing is substituted or
///   built twice). If the other call failed, this one simply tries itself.
/// - cancellation: a caller whose CancelToken fires stops waiting (for a slot, a path,
///   or its running realisation) and gets Canceled. A realisation it abandoned runs to
///   its end in the background (another caller may be waiting for its paths) and its
///   roots in `gc_root_dir` are then removed, so nothing is left behind.
/// A call claims all its paths at once and only when none is busy, so calls never wait
/// on each other in a cycle. Each `gc_root_dir` must belong to one call (the snapshotter
/// uses gcroots/<fresh id>).
class RealiseScheduler final : public NixStore {
 public:
  /// Default bound: enough to overlap several layers of one image without flooding the
  /// Nix daemon with processes.
  static constexpr size_t kDefaultMaxParallel = 4;
  /// How often a waiting caller polls its CancelToken.
  static constexpr std::chrono::milliseconds kCancelPoll{50};

  /// @param inner        the store doing the work (owned).
  /// @param max_parallel inner realise() calls at once; 0 is taken as 1.
  /// @param stop_orphans called by the destructor while abandoned realisations still run
  ///        (the daemon passes terminateRunningProcesses), so shutdown does not wait for
  ///        a builder nobody waits for; empty: the destructor just waits.
  RealiseScheduler(NixStorePtr inner, size_t max_parallel, std::function<void()> stop_orphans = {});
  /// Waits until every abandoned realisation has ended and its roots are removed.
  ~RealiseScheduler() override;

  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir) override;
  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                 const CancelToken& cancel) override;
  Status removeRoots(const fs::path& gc_root_dir) override;
  Result<std::vector<fs::path>> requisites(const fs::path& store_path) override;

  size_t maxParallel() const { return max_parallel_; }

  /// Calls at this moment: running an inner realise, waiting for a slot or a path (logs,
  /// tests).
  struct Load {
    size_t running = 0;
    size_t waiting = 0;
  };
  Load load() const;

 private:
  struct Flight;
  /// True when none of `keys` is claimed by a running call.
  bool allFree(const std::vector<std::string>& keys) const;
  /// Unclaims `keys` and the slot; caller holds mu_.
  void release(const std::vector<std::string>& keys);
  /// Runs the inner realise on a thread of its own for a caller that may give up.
  void startFlight(std::vector<fs::path> paths, fs::path dir, std::vector<std::string> keys,
                   std::shared_ptr<Flight> flight);

  NixStorePtr inner_;
  size_t max_parallel_;
  std::function<void()> stop_orphans_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  ///< any claim released, flight ended or thread gone
  std::set<std::string> busy_;  ///< paths claimed by running calls; guarded by mu_
  size_t running_ = 0;          ///< inner calls running; guarded by mu_
  size_t threads_ = 0;          ///< flight threads alive; guarded by mu_
  size_t abandoned_ = 0;        ///< flights whose caller gave up, still running
  size_t waiting_ = 0;          ///< calls waiting for a slot or a path; guarded by mu_
};

}  // namespace nixsnap::nix
