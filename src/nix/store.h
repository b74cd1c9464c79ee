#pragma once

#include <memory>
#include <vector>

#include "common/cancel.h"
#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::nix {

/// Realises store paths and pins them with GC roots: the seam between the snapshotter's
/// Nix layer and the Nix installation (mocked in the snapshotter's tests).
class NixStore {
 public:
  virtual ~NixStore() = default;

  /// Makes every path valid (building or substituting it) and pins it with a GC root
  /// symlink `<gc_root_dir>/<basename P>` -> P that Nix's garbage collector honours.
  /// Roots exist before realisation starts, so a concurrent nix-collect-garbage cannot
  /// delete a path between its realisation and its rooting. All or nothing: on failure
  /// every root this call created is removed again.
  /// @param store_paths validated "/nix/store/<hash>-<name>" paths, realised in this order.
  /// @param gc_root_dir absolute directory (created if missing), e.g. root/gcroots/<id>.
  /// @return Ok; NotFound when Nix knows no way to produce a path; Unavailable when the
  ///         Nix tool cannot be executed; Internal for other failures. The message carries
  ///         Nix's own error text (stderr).
  /// Thread-safe for distinct `gc_root_dir`s.
  virtual Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir) = 0;

  /// realise() for a caller that may give up. Once `cancel` reports it, the call stops
  /// its work (kills the nix-store or builder process) and returns Canceled, having
  /// removed every root it created: all or nothing, like any failure. (A cancel that
  /// comes too late may still see Ok: the roots are then the caller's, as on success.)
  /// The default ignores `cancel` and runs to the end.
  virtual Status realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                         const CancelToken& cancel) {
    (void)cancel;
    return realise(store_paths, gc_root_dir);
  }

  /// realise(…, cancel) when the caller knows some of the paths are valid already: a
  /// realise() of this store made them valid moments ago and its roots still hold them
  /// (RealiseScheduler's single-flight). A store whose realisation of a valid path only
  /// roots it (nix-store) ignores the hint, as the default does; one whose work is costly
  /// even then (an external builder) roots those paths itself instead of redoing it.
  /// Same roots, contract and errors as realise().
  /// @param known_valid a subset of `store_paths`.
  virtual Status realiseKnownValid(const std::vector<fs::path>& store_paths,
                                   const fs::path& gc_root_dir, const CancelToken& cancel,
                                   const std::vector<fs::path>& known_valid) {
    (void)known_valid;
    return realise(store_paths, gc_root_dir, cancel);
  }

  /// Removes every root in `gc_root_dir` (and any registration of it with Nix), then the
  /// directory itself. When this returns Ok the roots no longer protect their paths from
  /// Nix's garbage collector; deleting the files may finish later (see RootReaper).
  /// A missing directory is Ok; so is a `.removing-*` folder left by an earlier call.
  /// @return the errno class when the roots cannot be taken away.
  virtual Status removeRoots(const fs::path& gc_root_dir) = 0;

  /// The closure of a valid store path as Nix's database records it (the path itself and
  /// everything it references, transitively): what a GC root on the path keeps alive.
  /// Like `nix-store --query --requisites P`.
  /// @param store_path a validated, valid "/nix/store/<hash>-<name>" path.
  /// @return the paths, in Nix's order; Unavailable when the Nix tool cannot be executed;
  ///         FailedPrecondition when the path is not valid; Internal for other failures
  ///         (with Nix's error text). Thread-safe.
  virtual Result<std::vector<fs::path>> requisites(const fs::path& store_path) = 0;
};
using NixStorePtr = std::unique_ptr<NixStore>;

}  // namespace nixsnap::nix
