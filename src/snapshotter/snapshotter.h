#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"
#include "mount/mount.h"
#include "snapshots/labels.h"
#include "snapshots/types.h"

namespace nixsnap::snapshotter {

using mount::Mount;
using snapshots::Info;
using snapshots::Kind;
using snapshots::Labels;
using snapshots::Usage;

/// Receives one snapshot during walk(); return a non-Ok status to stop the walk with it.
using WalkFn = std::function<Status(const Info&)>;

/// The containerd snapshotter contract (core/snapshots.Snapshotter), independent of gRPC.
/// Keys are opaque strings chosen by the caller (containerd passes "<ns>/<n>/<key>").
/// Error classes follow containerd's errdefs: NotFound, AlreadyExists, FailedPrecondition,
/// InvalidArgument. All methods are thread-safe.
class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  /// Info of snapshot `key`. @return NotFound if it does not exist.
  virtual Result<Info> stat(const std::string& key) = 0;

  /// Updates the mutable fields of `info.name` named by `field_paths` ("labels",
  /// "labels.<key>"); an empty list replaces all labels.
  /// @return the updated info; NotFound; InvalidArgument for any other field path.
  virtual Result<Info> update(const Info& info, const std::vector<std::string>& field_paths) = 0;

  /// Disk usage of the snapshot's own layer: measured now for active snapshots, the value
  /// recorded at commit for committed ones. @return NotFound.
  virtual Result<Usage> usage(const std::string& key) = 0;

  /// Mounts for an active snapshot or view. @return NotFound; FailedPrecondition for a
  /// committed snapshot.
  virtual Result<std::vector<Mount>> mounts(const std::string& key) = 0;

  /// Creates active snapshot `key` on committed `parent` (empty for none).
  /// @return its mounts; AlreadyExists for a used key (and for a snapshot.ref label whose
  ///         target exists: containerd's "skip this layer" signal); NotFound for a missing
  ///         parent; InvalidArgument for a parent that is not committed or a bad label.
  virtual Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                             const Labels& labels) = 0;

  /// Like prepare() but read-only and not committable.
  virtual Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                          const Labels& labels) = 0;

  /// prepare() and view() for a caller that may give up (gRPC): once `cancel` reports it,
  /// a wait for a Nix realisation ends with Canceled and nothing is left behind. The
  /// default ignores `cancel`.
  virtual Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                             const Labels& labels, const CancelToken& cancel) {
    (void)cancel;
    return prepare(key, parent, labels);
  }
  virtual Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                          const Labels& labels, const CancelToken& cancel) {
    (void)cancel;
    return view(key, parent, labels);
  }

  /// Commits active snapshot `key` as `name`; `key` ceases to exist.
  /// @return NotFound; AlreadyExists for a used name; FailedPrecondition for a view or a
  ///         committed snapshot.
  virtual Status commit(const std::string& name, const std::string& key, const Labels& labels) = 0;

  /// Removes a snapshot. @return NotFound; FailedPrecondition if it has children.
  virtual Status remove(const std::string& key) = 0;

  /// Calls `fn` for every snapshot matching any of `filters` (containerd filter syntax;
  /// empty = all), in key order.
  virtual Status walk(const std::vector<std::string>& filters, const WalkFn& fn) = 0;

  /// Removes directories (and GC roots) that no snapshot record owns.
  virtual Status cleanup() = 0;
};
using SnapshotterPtr = std::unique_ptr<Snapshotter>;

using snapshots::kLabelNixClosure;
using snapshots::kLabelNixLayer;
using snapshots::kLabelNixStorePathPrefix;
using snapshots::kLabelSnapshotRef;
using snapshots::kMaxLabelSize;

}  // namespace nixsnap::snapshotter
