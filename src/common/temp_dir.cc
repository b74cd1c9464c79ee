#include "common/temp_dir.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/log.h"

namespace nixsnap {

fs::path tempDirFromEnvironment() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != '\0' ? fs::path(t) : fs::path("/tmp");
}

Result<TempDir> TempDir::create(const fs::path& parent, std::string_view prefix) {
  std::string tmpl = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return errnoStatus(errno, "creating temporary directory under " + parent.string());
  }
  return TempDir(fs::path(tmpl));
}

TempDir::TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    removeNow();
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() { removeNow(); }

fs::path TempDir::keep() {
  fs::path p = std::move(path_);
  path_.clear();
  return p;
}

void TempDir::removeNow() noexcept {
  if (path_.empty()) {
    return;
  }
  boost::system::error_code ec;
  // Entries that vanish meanwhile (another remover, e.g. an interrupt's cleanup, at work)
  // fail the walk with ENOENT: walk again, until the tree is gone or a real error stops it.
  for (int attempt = 0; attempt < 100; ++attempt) {
    ec.clear();
    fs::remove_all(path_, ec);
    if (ec.value() != ENOENT) {
      break;
    }
  }
  if (ec) {
    NIXSNAP_LOG(Warn, "failed to remove temporary directory",
                {{"path", path_.string()}, {"error", ec.message()}});
  }
  path_.clear();
}

}  // namespace nixsnap
