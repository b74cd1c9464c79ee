#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "common/log.h"
#include "mount/mounter.h"

namespace nixsnap::mount {

/// A mount on a directory that this object created: the destructor unmounts it and then
/// removes the directory with a NON-recursive rmdir, so a mount that failed to go away
/// can never turn into a recursive delete of what it shows (containerd's mount/temp.go).
class ScopedMount {
 public:
  /// Creates directory `target` (0700), mounts `m` on it.
  /// @return the guard; the errno class of mkdir or of Mounter::mount.
  static Result<ScopedMount> create(Mounter& mounter, const Mount& m, const fs::path& target) {
    if (::mkdir(target.c_str(), 0700) != 0) {
      return errnoStatus(errno, "creating mount point \"" + target.string() + "\"");
    }
    Status st = mounter.mount(m, target);
    if (!st.isOk()) {
      ::rmdir(target.c_str());
      return st;
    }
    return ScopedMount(mounter, target);
  }

  ScopedMount(ScopedMount&& o) noexcept : mounter_(o.mounter_), target_(std::move(o.target_)) {
    o.mounter_ = nullptr;
  }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  ScopedMount& operator=(ScopedMount&&) = delete;
  ~ScopedMount() { release().ignore(); }

  const fs::path& target() const { return target_; }

  /// Unmounts and removes the directory now. @return the first failure (logged too).
  Status release() noexcept {
    if (mounter_ == nullptr) {
      return Status::ok();
    }
    Mounter* m = mounter_;
    mounter_ = nullptr;
    Status st = m->unmount(target_);
    if (!st.isOk()) {
      NIXSNAP_LOG(Warn, "failed to unmount; leaving mount point",
                  {{"path", target_.string()}, {"error", st.message()}});
      return st;
    }
    if (::rmdir(target_.c_str()) != 0) {
      Status rm = errnoStatus(errno, "removing mount point \"" + target_.string() + "\"");
      NIXSNAP_LOG(Warn, "failed to remove mount point", {{"error", rm.message()}});
      return rm;
    }
    return Status::ok();
  }

 private:
  ScopedMount(Mounter& mounter, fs::path target) : mounter_(&mounter), target_(std::move(target)) {}
  Mounter* mounter_;
  fs::path target_;
};

}  // namespace nixsnap::mount
