#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "nix/store.h"
#include "snapshotter/mount_plan.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// The Nix part of the snapshotter: store-path and closure labels (validation, GC roots,
/// bind mounts) and the cache of what Mounts needs from committed ancestors.
///
/// Two layer formats, mixable in one chain: legacy labels (nix-layer plus one
/// "containerd.io/snapshot/nix-store-path.<i>" per path) and the closure format (one
/// "containerd.io/snapshot/nix-closure" naming a closureInfo output, whose `store-paths`
/// lists the paths; one GC root on it keeps them all alive).
///
/// Bind order: the snapshot's own paths first, then its parent's, and so on up the chain;
/// within one snapshot the closure's `store-paths` in file order, then the store-path
/// labels in label-key order (std::map order); a path already listed is skipped.
class NixLayer {
 public:
  /// @param store_dir   absolute store dir labels must be in, e.g. "/nix/store".
  /// @param gcroots_dir absolute root/gcroots; roots go to `<gcroots_dir>/<id>/<basename>`.
  /// @param store       realises and roots paths (not owned; must outlive this).
  NixLayer(fs::path store_dir, fs::path gcroots_dir, nix::NixStore* store);

  /// True when `labels` mark a Nix layer that the unpacker fills with mountpoints
  /// (containerd.io/snapshot/nix-layer or containerd.io/snapshot/nix-closure present).
  static bool isNixLayer(const Labels& labels);

  /// The store paths labelled in `labels`, in label-key order (unvalidated text).
  static std::vector<fs::path> storePaths(const Labels& labels);

  /// The closure label's value (unvalidated text), if present.
  static std::optional<fs::path> closurePath(const Labels& labels);

  /// True when `labels` name anything to realise and bind (store-path or closure label).
  static bool hasStorePaths(const Labels& labels);

  /// Validates every store-path label and the closure label as hostile input
  /// (nix::parseStorePath). @return InvalidArgument naming the first bad label key.
  Status validate(const Labels& labels) const;

  /// Realises and roots the store paths of `labels` and the closure path (one root for
  /// the whole closure) under gcroots/<id>, in one NixStore::realise, then checks each
  /// realised path on disk (nix::checkStorePathOnDisk: a label missing at validation may
  /// have been substituted as a symlink out of the store) and reads the closure's
  /// `store-paths` (readClosureStorePaths against NixStore::requisites), caching it.
  /// @return the NixStore's error (with Nix's text); InvalidArgument naming the label
  ///         whose realised path fails the disk check, or the closure and the bad line of
  ///         its file. On any failure the roots made here are removed again.
  /// `cancel`: passed to NixStore::realise; Canceled once the caller gave up. The roots of
  /// a realise() that failed or was cancelled are the store's to remove (RealiseScheduler
  /// owns those of a realisation it let run on for other callers); this removes only
  /// roots of a realise() that succeeded.
  Status root(int64_t id, const Labels& labels, const CancelToken& cancel = CancelToken());

  /// Forgets the cached `store-paths` of a removed snapshot's closure label, so the cache
  /// holds only closures of live snapshots (a later user reads the file again).
  void forget(const Labels& labels);

  /// Removes gcroots/<id> and its registrations; a missing folder is Ok.
  Status unroot(int64_t id);

  /// What gcroots/ holds, from one listing.
  struct RootDirs {
    std::vector<int64_t> ids;        ///< gcroots/<id> folders
    std::vector<fs::path> detached;  ///< removals a stopped daemon did not finish
  };
  /// Lists gcroots/ (other names are ignored).
  RootDirs listRootDirs() const;

  /// The id a snapshot directory or gc root folder is named by: all digits, at most 18
  /// ("42" -> 42); nullopt for any other name.
  static std::optional<int64_t> idOfDirName(const std::string& name);

  fs::path rootDir(int64_t id) const;

  /// Loads the labels of a committed snapshot's chain, nearest first (the snapshot itself
  /// first). Called on cache misses only.
  using ChainLoader = std::function<Result<std::vector<Labels>>()>;

  /// Appends bind mounts for `own` labels and, through the cache keyed by committed
  /// `parent_id` (0 = none), for the parent's whole chain. Every path is disk-checked
  /// (nix::checkStorePathOnDisk) once; paths that passed are remembered (valid store
  /// paths are immutable), so repeated calls do no I/O for them.
  /// @return FailedPrecondition (missing) or InvalidArgument (symlink out of the store)
  ///         naming the path; nothing is appended then.
  Status appendBinds(const Labels& own, int64_t parent_id, const ChainLoader& load_chain,
                     std::vector<Mount>& out);

  /// appendBinds() in plan form: appends the binds of `own` to `plan.head` and sets
  /// `plan.chain` to the cached (shared, never copied) chain of committed `parent_id`.
  /// When an own path is also in the chain, the chain's remaining binds are appended to
  /// `plan.head` instead and `plan.chain` stays null, so plan.flatten() always equals
  /// what appendBinds() appends. Same checks, errors and caching as appendBinds().
  Status planBinds(const Labels& own, int64_t parent_id, const ChainLoader& load_chain,
                   MountPlan& plan);

  /// Drops cached chains (after an Update or Remove changed a committed snapshot).
  void invalidate();

 private:
  using PathList = std::vector<fs::path>;
  using PathListPtr = std::shared_ptr<const PathList>;
  /// Disk-checks `p` unless it passed before.
  Status verify(const fs::path& p);
  /// The checked paths of `closure`'s store-paths file: cached, else queried (requisites),
  /// read and disk-checked, then cached.
  Result<PathListPtr> loadClosure(const fs::path& closure);
  /// Every path `labels` bind: the closure's list, then the store-path labels (each
  /// disk-checked), possibly with repeats.
  Result<PathList> pathsOf(const Labels& labels);
  /// The cached chain of committed `parent_id`, built through `load_chain` on a miss.
  Result<BindChainPtr> chainOf(int64_t parent_id, const ChainLoader& load_chain);

  fs::path store_dir_;
  fs::path gcroots_dir_;
  nix::NixStore* store_;
  std::mutex mu_;
  uint64_t generation_ = 0;
  std::map<int64_t, BindChainPtr> chains_;       ///< by committed parent id; every path verified
  std::unordered_set<std::string> verified_;     ///< guarded by mu_
  std::map<std::string, PathListPtr> closures_;  ///< by closure path; guarded by mu_
};

}  // namespace nixsnap::snapshotter
