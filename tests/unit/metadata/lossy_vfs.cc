#include "metadata/lossy_vfs.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

namespace nixsnap::testing {

namespace {

std::string readWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {};
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

constexpr size_t kRealOffset = 64;  // where the wrapped file starts inside our sqlite3_file

}  // namespace

/// Our sqlite3_file; the default VFS's file follows it at kRealOffset.
struct LossyVfs::File {
  sqlite3_file base;
  LossyVfs* owner;
  std::string* path;  ///< null for files opened without a name (not tracked)
  sqlite3_file* real() {
    return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(this) + kRealOffset);
  }
};

namespace {
LossyVfs::File* asFile(sqlite3_file* f) { return reinterpret_cast<LossyVfs::File*>(f); }
sqlite3_file* real(sqlite3_file* f) { return asFile(f)->real(); }
const sqlite3_io_methods* rm(sqlite3_file* f) { return real(f)->pMethods; }
}  // namespace

LossyVfs::LossyVfs() : real_(sqlite3_vfs_find(nullptr)) {
  static_assert(sizeof(File) <= kRealOffset);
  vfs_ = *real_;
  vfs_.zName = "nixsnap-lossy";
  vfs_.szOsFile = static_cast<int>(kRealOffset) + real_->szOsFile;
  vfs_.pAppData = this;
  vfs_.pNext = nullptr;
  vfs_.xOpen = &LossyVfs::xOpen;
  vfs_.xDelete = &LossyVfs::xDelete;

  methods_.iVersion = 3;
  methods_.xClose = &LossyVfs::xClose;
  methods_.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
    return rm(f)->xRead(real(f), b, n, o);
  };
  methods_.xWrite = &LossyVfs::xWrite;
  methods_.xTruncate = &LossyVfs::xTruncate;
  methods_.xSync = &LossyVfs::xSync;
  methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* s) {
    return rm(f)->xFileSize(real(f), s);
  };
  methods_.xLock = [](sqlite3_file* f, int l) { return rm(f)->xLock(real(f), l); };
  methods_.xUnlock = [](sqlite3_file* f, int l) { return rm(f)->xUnlock(real(f), l); };
  methods_.xCheckReservedLock = [](sqlite3_file* f, int* r) {
    return rm(f)->xCheckReservedLock(real(f), r);
  };
  methods_.xFileControl = [](sqlite3_file* f, int op, void* a) {
    return rm(f)->xFileControl(real(f), op, a);
  };
  methods_.xSectorSize = [](sqlite3_file* f) { return rm(f)->xSectorSize(real(f)); };
  methods_.xDeviceCharacteristics = [](sqlite3_file* f) {
    return rm(f)->xDeviceCharacteristics(real(f));
  };
  methods_.xShmMap = [](sqlite3_file* f, int pg, int sz, int ext, void volatile** p) {
    return rm(f)->xShmMap(real(f), pg, sz, ext, p);
  };
  methods_.xShmLock = [](sqlite3_file* f, int o, int n, int fl) {
    return rm(f)->xShmLock(real(f), o, n, fl);
  };
  methods_.xShmBarrier = [](sqlite3_file* f) { rm(f)->xShmBarrier(real(f)); };
  methods_.xShmUnmap = [](sqlite3_file* f, int d) { return rm(f)->xShmUnmap(real(f), d); };
  methods_.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
    return rm(f)->xFetch(real(f), o, n, p);
  };
  methods_.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
    return rm(f)->xUnfetch(real(f), o, p);
  };
  sqlite3_vfs_register(&vfs_, 1);
}

LossyVfs::~LossyVfs() { sqlite3_vfs_unregister(&vfs_); }

int LossyVfs::xOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                    int* out_flags) {
  auto* self = static_cast<LossyVfs*>(vfs->pAppData);
  File* f = asFile(file);
  f->base.pMethods = nullptr;
  f->owner = self;
  f->path = nullptr;
  int rc = self->real_->xOpen(self->real_, name, f->real(), flags, out_flags);
  if (rc != SQLITE_OK) {
    return rc;
  }
  if (name != nullptr) {
    f->path = new std::string(name);
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->disks_.count(*f->path) == 0) {
      self->disks_[*f->path].durable = readWhole(*f->path);
    }
  }
  f->base.pMethods = &self->methods_;
  return SQLITE_OK;
}

int LossyVfs::xDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  auto* self = static_cast<LossyVfs*>(vfs->pAppData);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->disks_.erase(name);
  return self->real_->xDelete(self->real_, name, sync_dir);
}

int LossyVfs::xClose(sqlite3_file* file) {
  File* f = asFile(file);
  int rc = rm(file)->xClose(real(file));
  delete f->path;
  f->path = nullptr;
  return rc;
}

int LossyVfs::xWrite(sqlite3_file* file, const void* buf, int amt, sqlite3_int64 off) {
  File* f = asFile(file);
  std::lock_guard<std::mutex> lock(f->owner->mu_);
  int rc = rm(file)->xWrite(real(file), buf, amt, off);
  if (rc == SQLITE_OK && f->path != nullptr) {
    f->owner->disks_[*f->path].pending.push_back(
        Op{false, off, std::string(static_cast<const char*>(buf), static_cast<size_t>(amt))});
  }
  return rc;
}

int LossyVfs::xTruncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = asFile(file);
  std::lock_guard<std::mutex> lock(f->owner->mu_);
  int rc = rm(file)->xTruncate(real(file), size);
  if (rc == SQLITE_OK && f->path != nullptr) {
    f->owner->disks_[*f->path].pending.push_back(Op{true, size, {}});
  }
  return rc;
}

int LossyVfs::xSync(sqlite3_file* file, int flags) {
  File* f = asFile(file);
  int rc = rm(file)->xSync(real(file), flags);
  if (rc == SQLITE_OK && f->path != nullptr) {
    f->owner->syncFile(*f->path);
  }
  return rc;
}

void LossyVfs::apply(std::string& image, const Op& op) {
  if (op.truncate) {
    image.resize(static_cast<size_t>(op.offset));
    return;
  }
  size_t end = static_cast<size_t>(op.offset) + op.data.size();
  if (image.size() < end) {
    image.resize(end);
  }
  std::copy(op.data.begin(), op.data.end(), image.begin() + op.offset);
}

bool LossyVfs::syncFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = disks_.find(path);
  if (it == disks_.end()) {
    return false;
  }
  for (const Op& op : it->second.pending) {
    apply(it->second.durable, op);
  }
  it->second.pending.clear();
  return true;
}

void LossyVfs::powerCut(const fs::path& dir, double keep_probability, uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution keep(keep_probability);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [path, disk] : disks_) {
    std::string image = disk.durable;
    for (const Op& op : disk.pending) {
      if (keep(rng)) {
        apply(image, op);
      }
    }
    std::ofstream out((dir / fs::path(path).filename()).string(), std::ios::binary);
    out.write(image.data(), static_cast<std::streamsize>(image.size()));
  }
}

size_t LossyVfs::pendingOps() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [path, disk] : disks_) {
    n += disk.pending.size();
  }
  return n;
}

}  // namespace nixsnap::testing
