#pragma once

#include <functional>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::nix {

/// Creates the GC root symlink `root` -> `store_path` (our file; Nix learns of it through a
/// RootRegistrar). An existing identical symlink is kept.
/// @return the errno class of symlink(2) (AlreadyExists if `root` points elsewhere).
Status makeRootLink(const fs::path& root, const fs::path& store_path);

/// Removes the symlink `root` (missing is Ok). Nix's registration of it, if any, then
/// dangles: the collector no longer counts it and deletes it on its next run.
Status removeRootLink(const fs::path& root);

/// Name prefix of a root folder that detachRootDir took away from Nix.
inline constexpr char kDetachedPrefix[] = ".removing-";

/// Takes every root in `dir` away from Nix's garbage collector in one step: renames `dir`
/// to `<parent>/.removing-<name>`. Nix's indirect-root registrations in gcroots/auto still
/// name `dir/<x>`, which no longer exists, and Nix ignores (and deletes) registrations
/// whose target is gone, so the paths are collectable as soon as this returns.
/// A `dir` already named `.removing-*` is returned as is (a retry).
/// @return the detached folder; an empty path when `dir` is missing; the errno class of
///         rename(2) otherwise.
Result<fs::path> detachRootDir(const fs::path& dir);

/// Deletes a detached folder: each entry, then a non-recursive rmdir. Keeps going after a
/// failure and returns the first one. The registrations are Nix's to drop (they dangle).
/// @param keep_going polled between entries; returning false stops early (Ok, the rest
///        stays for a later call).
Status removeDetachedRootDir(const fs::path& detached,
                             const std::function<bool()>& keep_going = {});

/// Undoes a realisation that failed half-way: on destruction, unless dismiss() was called,
/// removes every root recorded with add() (removeRootLink, failures logged) and then
/// rmdir's `dir`, which only succeeds when it is empty (never a recursive delete).
/// Shared by the nix-store and external-builder stores. Not thread-safe.
class RootRollback {
 public:
  explicit RootRollback(fs::path dir) : dir_(std::move(dir)) {}
  RootRollback(const RootRollback&) = delete;
  RootRollback& operator=(const RootRollback&) = delete;
  ~RootRollback();

  /// Records `root` (a path under `dir`) for removal on rollback.
  void add(fs::path root) { roots_.push_back(std::move(root)); }
  /// Keeps everything recorded: the realisation succeeded.
  void dismiss() { dismissed_ = true; }

 private:
  fs::path dir_;
  std::vector<fs::path> roots_;
  bool dismissed_ = false;
};

}  // namespace nixsnap::nix
