#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// The store-path bind mounts contributed by a committed parent chain: an immutable,
/// shared list (the snapshotter caches one per committed parent id), plus one memo slot in
/// which the gRPC edge keeps the list in its encoded wire form. Exists so Mounts on a deep
/// chain does not rebuild (or re-encode) 16,000 binds on every call: a call takes a
/// reference to the chain and sends the memo bytes as they are.
///
/// Every path here was validated and disk-checked when the chain was built; each becomes
/// `{bind, P, target P, [ro, rbind]}`. Thread-safe: the list never changes; the memo is
/// filled once (std::call_once).
class BindChain {
 public:
  explicit BindChain(std::vector<fs::path> paths) : paths_(std::move(paths)) {}
  BindChain(const BindChain&) = delete;
  BindChain& operator=(const BindChain&) = delete;

  /// Bind sources in mount order (nearest ancestor first, deduplicated).
  const std::vector<fs::path>& paths() const { return paths_; }

  /// The chain in an edge's encoded form: `encode(paths())`, computed on first use and
  /// kept for the chain's lifetime. A process must use one encoding per chain (the first
  /// caller's function wins); the snapshots service is the only user.
  /// @return a reference valid as long as this chain lives.
  const std::string& encoded(
      const std::function<std::string(const std::vector<fs::path>&)>& encode) const {
    std::call_once(encoded_once_, [&] { encoded_ = encode(paths_); });
    return encoded_;
  }

 private:
  std::vector<fs::path> paths_;
  mutable std::once_flag encoded_once_;
  mutable std::string encoded_;
};
using BindChainPtr = std::shared_ptr<const BindChain>;

/// The mounts of one snapshot, split in two so the edge can reuse per-chain work: first
/// every mount in `head` (the overlay or bind of the snapshot itself, then the binds of
/// its own store-path labels), then a bind for every path of `chain` (when set). The
/// flattened list equals Snapshotter::mounts() exactly (order and dedup included): when
/// an own path also appears in the parent chain, the planner flattens everything into
/// `head` and leaves `chain` empty.
struct MountPlan {
  std::vector<Mount> head;
  BindChainPtr chain;  ///< null when there are no chain binds to append

  /// `head` followed by the chain's binds: what Snapshotter::mounts() returns.
  std::vector<Mount> flatten() const {
    std::vector<Mount> out = head;
    if (chain) {
      out.reserve(out.size() + chain->paths().size());
      for (const fs::path& p : chain->paths()) {
        out.push_back(Mount{"bind", p.string(), p.string(), {"ro", "rbind"}});
      }
    }
    return out;
  }
};

/// Capability of a Snapshotter whose Mounts answer can be split into a MountPlan. The
/// snapshots service looks for it (dynamic_cast, as Nix probes store capabilities) and
/// falls back to Snapshotter::mounts() without it.
class MountPlanner {
 public:
  virtual ~MountPlanner() = default;

  /// Mounts of active snapshot or view `key`, as a plan (see MountPlan).
  /// @param key containerd's snapshot key ("<ns>/<n>/<key>" through containerd).
  /// @return NotFound; FailedPrecondition for a committed snapshot; FailedPrecondition or
  ///         InvalidArgument naming a store path that fails the disk check (as mounts()).
  ///         Thread-safe. Source: containerd snapshots.Snapshotter.Mounts.
  virtual Result<MountPlan> mountPlan(const std::string& key) = 0;
};

}  // namespace nixsnap::snapshotter
