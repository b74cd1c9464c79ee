#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
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
///   that another call is realising waits for that call to end. If it succeeded, the
///   waiter's inner call gets the path as known valid (realiseKnownValid): it is only
///   rooted, never substituted or built a second time. If it failed, the waiter tries
///   itself.
/// - cancellation: a caller whose CancelToken fires stops waiting (for a slot, a path,
///   or its running realisation) and gets Canceled at once. A running realisation it
///   abandons is stopped (its own CancelToken, passed to the inner store, fires: the
///   builder is killed and the inner store removes the roots it made) unless another
///   caller waits for one of its paths; then it runs on for them, and is stopped as soon
///   as the last of them gives up too.
/// Roots of an abandoned realisation have one owner, this scheduler: when it fails or is
/// stopped the inner store has removed them; when it succeeds they are removed here, after
/// the callers that waited for its paths have rooted those. removeRoots() of such a
/// folder meanwhile (Cleanup sees it: no record owns it, no Prepare marks it in flight)
/// only confirms that, so the folder is removed exactly once.
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
  ///        after their CancelTokens fired (an inner store that ignores them), so shutdown
  ///        does not wait for a builder nobody waits for (the daemon passes
  ///        terminateRunningProcesses); empty: the destructor just waits.
  RealiseScheduler(NixStorePtr inner, size_t max_parallel, std::function<void()> stop_orphans = {});
  /// Stops every abandoned realisation, waits until each has ended and its roots are gone.
  ~RealiseScheduler() override;

  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir) override;
  Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                 const CancelToken& cancel) override;
  /// Schedules like realise(); `known_valid` is passed on with the paths a finished
  /// call it waited for made valid.
  Status realiseKnownValid(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                           const CancelToken& cancel,
                           const std::vector<fs::path>& known_valid) override;
  /// Ok without touching the folder while it belongs to an abandoned realisation (its
  /// end removes it); otherwise the inner store's removeRoots().
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
  struct Waiter;
  using FlightPtr = std::shared_ptr<Flight>;
  /// True when none of `keys` is claimed by a running call.
  bool allFree(const std::vector<std::string>& keys) const;
  /// True when a waiting caller needs one of `keys`; caller holds mu_.
  bool wanted(const std::vector<std::string>& keys) const;
  /// Waits for a slot and for every path of `me` to be free; registered in waiters_
  /// meanwhile. Caller holds mu_ (through `lock`). Canceled when `cancel` fires first.
  Status waitTurn(std::unique_lock<std::mutex>& lock, Waiter& me, const CancelToken& cancel,
                  const std::vector<fs::path>& paths);
  /// A flight ended: its paths go to the waiters that want them as known valid (if `ok`),
  /// and are unclaimed with the slot. Caller holds mu_.
  void finish(Flight& f, bool ok);
  /// Fires the token of every abandoned flight no waiter needs. Caller holds mu_.
  void stopUnwanted();
  /// Runs the inner realise on a thread of its own for a caller that may give up.
  void startFlight(std::vector<fs::path> paths, std::vector<fs::path> known_valid, FlightPtr f);
  /// Thread body's end for an abandoned flight: waits until no caller needs its paths,
  /// removes its roots if it succeeded, then finishes it.
  void retire(FlightPtr f, const Status& st);

  NixStorePtr inner_;
  size_t max_parallel_;
  std::function<void()> stop_orphans_;
  mutable std::mutex mu_;
  std::condition_variable cv_;                ///< any claim released, flight ended or thread gone
  std::set<std::string> busy_;                ///< paths claimed by running calls; guarded by mu_
  std::map<std::string, FlightPtr> flights_;  ///< running calls by gc_root_dir; mu_
  std::list<Waiter*> waiters_;                ///< calls waiting for a slot or a path; mu_
  size_t running_ = 0;                        ///< inner calls running; guarded by mu_
  size_t threads_ = 0;                        ///< flight threads alive; guarded by mu_
  size_t abandoned_ = 0;                      ///< flights whose caller gave up, still running
};

}  // namespace nixsnap::nix
