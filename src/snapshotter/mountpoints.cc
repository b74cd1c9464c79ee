#include "snapshotter/mountpoints.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <unordered_map>

#include "common/unique_fd.h"

namespace nixsnap::snapshotter {

namespace {

/// What a name is in one layer (or in the merged view).
enum class EntryKind { Missing, Dir, File, Other, Whiteout };

const char* describe(EntryKind k) {
  switch (k) {
    case EntryKind::Missing:
    case EntryKind::Whiteout: return "missing";
    case EntryKind::Dir: return "a directory";
    case EntryKind::File: return "a file";
    case EntryKind::Other: return "a symlink or special file";
  }
  return "unknown";
}

EntryKind kindOf(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) {
    return EntryKind::Dir;
  }
  if (S_ISREG(st.st_mode)) {
    return EntryKind::File;
  }
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
    return EntryKind::Whiteout;  // containerd's applier writes whiteouts as 0:0 char devices
  }
  return EntryKind::Other;
}

/// Opaque directory: overlayfs hides the layers below it (trusted.*, or user.* with
/// userxattr in rootless mode).
bool isOpaque(const fs::path& dir) {
  char v = 0;
  for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
    if (::lgetxattr(dir.c_str(), name, &v, 1) == 1 && v == 'y') {
      return true;
    }
  }
  return false;
}

using Listing = std::unordered_map<std::string, EntryKind>;

/// The names of one layer's store dir.
Result<Listing> list(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return errnoStatus(errno, "listing \"" + dir.string() + "\"");
  }
  Listing out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    EntryKind k = EntryKind::Other;
    if (e->d_type == DT_DIR) {
      k = EntryKind::Dir;
    } else if (e->d_type == DT_REG) {
      k = EntryKind::File;
    } else if (e->d_type == DT_CHR || e->d_type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        k = kindOf(st);
      }
    }
    out.emplace(std::move(name), k);
  }
  ::closedir(d);
  return out;
}

/// The store dir as overlayfs would show it: the listings of the layers that contribute
/// to it, nearest first. `reachable` is false when the merged path to it is missing or
/// passes through a non-directory.
struct MergedStoreDir {
  bool reachable = false;
  std::vector<Listing> layers;
};

Result<MergedStoreDir> mergeStoreDir(const fs::path& rel_store,
                                     const std::vector<fs::path>& layers) {
  MergedStoreDir out;
  for (const fs::path& layer : layers) {
    fs::path cur = layer;
    bool opaque = false;
    enum { Found, Absent, Hides } state = Found;
    for (const fs::path& comp : rel_store) {
      cur /= comp;
      struct stat st {};
      if (::lstat(cur.c_str(), &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
          return errnoStatus(errno, "inspecting \"" + cur.string() + "\"");
        }
        state = Absent;
        break;
      }
      if (!S_ISDIR(st.st_mode)) {
        state = Hides;  // a file, symlink or whiteout hides the layers below
        break;
      }
      opaque = opaque || isOpaque(cur);
    }
    if (state == Hides) {
      break;
    }
    if (state == Found) {
      Result<Listing> l = list(cur);
      if (!l.isOk()) {
        return l.status();
      }
      out.reachable = true;
      out.layers.push_back(std::move(*l));
    }
    if (opaque) {
      break;
    }
  }
  return out;
}

EntryKind lookup(const MergedStoreDir& merged, const std::string& name) {
  for (const Listing& l : merged.layers) {
    auto it = l.find(name);
    if (it != l.end()) {
      return it->second == EntryKind::Whiteout ? EntryKind::Missing : it->second;
    }
  }
  return EntryKind::Missing;
}

/// Creates `upper/rel_store` component by component; each new directory takes mode and
/// owner of the nearest lower layer's directory at that path, else 0755 and `owner`.
Status makeStoreDir(const fs::path& upper, const fs::path& rel_store,
                    const std::vector<fs::path>& lowers, const struct stat& owner) {
  fs::path rel;
  for (const fs::path& comp : rel_store) {
    rel /= comp;
    fs::path p = upper / rel;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        continue;
      }
      return failedPrecondition("creating mountpoints: \"" + p.string() + "\" is not a directory");
    }
    mode_t mode = 0755;
    uid_t uid = owner.st_uid;
    gid_t gid = owner.st_gid;
    for (const fs::path& lower : lowers) {
      struct stat ls {};
      if (::lstat((lower / rel).c_str(), &ls) == 0 && S_ISDIR(ls.st_mode)) {
        mode = ls.st_mode & 07777;
        uid = ls.st_uid;
        gid = ls.st_gid;
        break;
      }
    }
    if (::mkdir(p.c_str(), 0700) != 0) {
      return errnoStatus(errno, "creating mountpoint directory \"" + p.string() + "\"");
    }
    if (::lchown(p.c_str(), uid, gid) != 0 || ::chmod(p.c_str(), mode) != 0) {
      return errnoStatus(errno, "setting owner and mode of \"" + p.string() + "\"");
    }
  }
  return Status::ok();
}

Status makeMountpoint(const fs::path& p, EntryKind want, const struct stat& owner) {
  if (want == EntryKind::Dir) {
    if (::mkdir(p.c_str(), 0755) != 0) {
      return errnoStatus(errno, "creating mountpoint \"" + p.string() + "\"");
    }
  } else {
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444));
    if (fd.get() < 0) {
      return errnoStatus(errno, "creating mountpoint \"" + p.string() + "\"");
    }
  }
  if (::lchown(p.c_str(), owner.st_uid, owner.st_gid) != 0) {
    return errnoStatus(errno, "setting owner of mountpoint \"" + p.string() + "\"");
  }
  return Status::ok();
}

}  // namespace

Status ensureMountpoints(const fs::path& store_dir, const fs::path& upper,
                         const std::vector<fs::path>& lowers,
                         const std::vector<fs::path>& targets) {
  if (targets.empty()) {
    return Status::ok();
  }
  const fs::path rel_store = store_dir.relative_path();
  std::vector<fs::path> layers;
  if (!upper.empty()) {
    layers.push_back(upper);
  }
  layers.insert(layers.end(), lowers.begin(), lowers.end());
  Result<MergedStoreDir> merged = mergeStoreDir(rel_store, layers);
  if (!merged.isOk()) {
    return merged.status().wrap("looking up mountpoints");
  }
  struct Fix {
    const fs::path* target;
    EntryKind want;
  };
  std::vector<Fix> fixes;
  for (const fs::path& t : targets) {
    struct stat st {};
    if (::stat(t.c_str(), &st) != 0) {
      return errnoStatus(errno, "inspecting store path \"" + t.string() + "\"");
    }
    EntryKind want = S_ISDIR(st.st_mode) ? EntryKind::Dir : EntryKind::File;
    EntryKind have =
        merged->reachable ? lookup(*merged, t.filename().string()) : EntryKind::Missing;
    if (have == want) {
      continue;
    }
    if (upper.empty()) {
      return failedPrecondition(
          "mountpoint for store path \"" + t.string() + "\" is " + describe(have) +
          " in the snapshot's layers where " + describe(want) +
          " is needed, and a view of committed layers cannot add it (the image was built "
          "without a matching mountpoint)");
    }
    fixes.push_back({&t, want});
  }
  if (fixes.empty()) {
    return Status::ok();
  }
  struct stat owner {};
  if (::lstat(upper.c_str(), &owner) != 0) {
    return errnoStatus(errno, "inspecting \"" + upper.string() + "\"");
  }
  NIXSNAP_RETURN_IF_ERROR(makeStoreDir(upper, rel_store, lowers, owner));
  for (const Fix& f : fixes) {
    NIXSNAP_RETURN_IF_ERROR(
        makeMountpoint(upper / rel_store / f.target->filename(), f.want, owner));
  }
  return Status::ok();
}

}  // namespace nixsnap::snapshotter
