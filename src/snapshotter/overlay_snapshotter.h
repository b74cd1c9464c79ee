#pragma once

#include <memory>
#include <mutex>
#include <set>

#include "common/clock.h"
#include "common/fs.h"
#include "metadata/meta_store.h"
#include "nix/store.h"
#include "snapshotter/dir_pool.h"
#include "snapshotter/mount_plan.h"
#include "snapshotter/nix_layer.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// How the overlay snapshotter lays out and mounts snapshots.
struct OverlayConfig {
  fs::path root;                      ///< absolute; snapshots/ and gcroots/ live here
  fs::path store_dir = "/nix/store";  ///< store-path labels must be inside it
  bool fuse_overlayfs = false;        ///< mount type "fuse3.fuse-overlayfs" instead of "overlay"
  bool index_off = false;             ///< add "index=off" to overlay options (kernel supports it)
  bool userxattr = false;             ///< add "userxattr" (kernel overlayfs in a user namespace)
  /// Ready-made snapshot directories kept per shape in `<root>/pool` (0: none).
  size_t dir_pool_depth = 4;
  /// Mount table read before deleting a snapshot directory (tests pass their own).
  fs::path mountinfo = "/proc/self/mountinfo";
};

/// containerd's overlayfs snapshotter semantics (snapshots/overlay) over a MetaStore,
/// with the Nix layer on top: store-path labels become GC roots (Prepare of a nix-layer
/// snapshot) and read-only bind mounts (every other Prepare, View and Mounts).
///
/// Layout: `<root>/snapshots/<id>/fs` (the layer) and `work` (overlay workdir, active
/// only), `<root>/gcroots/<id>/`. A new snapshot's directories come ready-made from
/// `<root>/pool/XXXXXX` (DirPool) and are renamed into place inside the metadata
/// transaction, so a crash leaves either no trace or an orphan that cleanup() removes.
/// Store paths are realised and rooted (gcroots/<id>) before the writer lock is taken,
/// under an id handed out in memory: a slow realisation holds up no other write. Until
/// its record is committed the id is "in flight" and cleanup() leaves its roots alone.
/// Usage of committed snapshots is measured on first request and recorded (the layer
/// never changes after Commit), keeping Commit free of a tree walk: containerd calls it
/// while holding its own database lock.
class OverlaySnapshotter final : public Snapshotter, public MountPlanner {
 public:
  /// Creates `<root>/snapshots` and `<root>/gcroots` (0700) and takes ownership of the
  /// collaborators. @return the errno class when the directories cannot be created.
  static Result<std::unique_ptr<OverlaySnapshotter>> create(OverlayConfig config,
                                                            metadata::MetaStorePtr meta,
                                                            nix::NixStorePtr store, ClockPtr clock);

  Result<Info> stat(const std::string& key) override;
  Result<Info> update(const Info& info, const std::vector<std::string>& field_paths) override;
  Result<Usage> usage(const std::string& key) override;
  Result<std::vector<Mount>> mounts(const std::string& key) override;
  Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                     const Labels& labels) override;
  Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                  const Labels& labels) override;
  Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                     const Labels& labels, const CancelToken& cancel) override;
  Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                  const Labels& labels, const CancelToken& cancel) override;
  Status commit(const std::string& name, const std::string& key, const Labels& labels) override;
  Status remove(const std::string& key) override;
  Status walk(const std::vector<std::string>& filters, const WalkFn& fn) override;
  Status cleanup() override;
  Result<MountPlan> mountPlan(const std::string& key) override;

  /// `<root>/snapshots/<id>/fs`.
  fs::path upperPath(int64_t id) const;
  fs::path workPath(int64_t id) const;

 private:
  OverlaySnapshotter(OverlayConfig config, metadata::MetaStorePtr meta, nix::NixStorePtr store,
                     ClockPtr clock);

  Result<std::vector<Mount>> createSnapshot(Kind kind, const std::string& key,
                                            const std::string& parent, const Labels& labels,
                                            const CancelToken& cancel);
  /// Read-only early answer for what create() would refuse (used key, missing or
  /// uncommitted parent), so a doomed Prepare realises nothing. create() checks again.
  Status precheck(const std::string& key, const std::string& parent);
  /// AlreadyExists when the snapshot.ref label names a snapshot that exists.
  Status checkTargetFree(const Labels& labels);
  /// Gives the new upper dir its committed parent's owner (as containerd's overlay does).
  Status adoptParentOwner(const TempDir& tmp, const metadata::Snapshot& s,
                          const std::string& key) const;
  /// Renames the prepared dir to `dest` (replacing an orphan left by a crash), keeping it.
  Status moveIntoPlace(TempDir& tmp, const fs::path& dest) const;
  /// A fresh id, marked in flight. Never handed out twice by this process.
  int64_t takeId();
  /// Ends the in-flight mark of `id` (its record is committed, or its roots are gone).
  void releaseId(int64_t id);
  /// containerd's overlay mounts for `s` (no binds).
  std::vector<Mount> baseMounts(const metadata::Snapshot& s) const;
  /// baseMounts plus the store-path binds (unless `s` is an active nix layer).
  Result<std::vector<Mount>> fullMounts(metadata::Transaction& txn, const std::string& key,
                                        const metadata::Snapshot& s);
  /// fullMounts() as a plan: the chain's binds stay in the shared cached BindChain.
  Result<MountPlan> planMounts(metadata::Transaction& txn, const std::string& key,
                               const metadata::Snapshot& s);
  /// Makes the mountpoint of every bind in `mounts` match its store path's type
  /// (ensureMountpoints): created in the layer mounted on top, i.e. the active snapshot's
  /// `fs` (or a parentless view's own `fs`); a view of committed layers is only checked.
  Status matchMountpoints(const metadata::Snapshot& s, const std::vector<Mount>& mounts) const;
  /// Highest numeric name (or `.removing-<n>`) in snapshots/ and gcroots/; 0 if none.
  int64_t highestIdOnDisk() const;
  /// Deletes `snapshots/<id>` (recursively) unless something is mounted at or under it.
  Status removeDirs(int64_t id);
  /// FailedPrecondition naming the first mount point at or under `dir`, if any.
  Status checkNotMounted(const fs::path& dir) const;
  /// checkNotMounted, then a recursive delete; a missing `dir` is Ok.
  Status removeTree(const fs::path& dir) const;

  OverlayConfig config_;
  metadata::MetaStorePtr meta_;
  nix::NixStorePtr store_;
  ClockPtr clock_;
  NixLayer nix_;
  DirPool pool_;  ///< `<root>/pool`, same filesystem as snapshots/
  std::mutex ids_mu_;
  /// Highest id ever handed out, recorded, or found on disk: ids name directories and GC
  /// root folders, so none is used twice (a failed Prepare may leave its roots behind).
  int64_t last_id_ = 0;          ///< guarded by ids_mu_
  std::set<int64_t> in_flight_;  ///< ids of unfinished Prepares/Views; guarded by ids_mu_
};

}  // namespace nixsnap::snapshotter
