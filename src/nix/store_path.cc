#include "nix/store_path.h"

#include <sys/stat.h>

#include <cerrno>
#include <string>

namespace nixsnap::nix {

namespace {

/// Longest part of a rejected path an error quotes: the input may be a hostile 10 MB line.
constexpr size_t kQuoteMax = 256;

Status bad(std::string_view text, std::string_view why) {
  std::string quoted(text.substr(0, kQuoteMax));
  if (text.size() > kQuoteMax) {
    quoted += "... (" + std::to_string(text.size()) + " bytes)";
  }
  return invalidArgument("invalid store path \"" + quoted + "\": " + std::string(why));
}

bool validNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '-' || c == '.' || c == '_' || c == '?' || c == '=';
}

/// True when `p` equals or lies below `dir` (both absolute and normalised).
bool isWithin(const fs::path& dir, const fs::path& p) {
  auto d = dir.begin();
  auto q = p.begin();
  for (; d != dir.end(); ++d, ++q) {
    if (q == p.end() || *d != *q) {
      return false;
    }
  }
  return q != p.end();
}

}  // namespace

Status checkStorePathSyntax(const fs::path& store_dir, std::string_view text) {
  std::string prefix = store_dir.string() + "/";
  if (text.size() <= prefix.size() || text.substr(0, prefix.size()) != prefix) {
    return bad(text, "not directly inside store directory \"" + store_dir.string() + "\"");
  }
  std::string_view base = text.substr(prefix.size());
  if (base.size() < kStoreHashLength + 2 || base[kStoreHashLength] != '-') {
    return bad(text, "expected <32-char hash>-<name>");
  }
  for (size_t i = 0; i < kStoreHashLength; ++i) {
    if (kNixBase32Chars.find(base[i]) == std::string_view::npos) {
      return bad(text, "hash contains a character outside Nix base32");
    }
  }
  std::string_view name = base.substr(kStoreHashLength + 1);
  if (name.size() > kMaxStoreNameLength) {
    return bad(text, "name longer than 211 characters");
  }
  if (name.front() == '.') {
    return bad(text, "name starts with '.'");
  }
  for (char c : name) {
    if (c == '/') {
      return bad(text, "extra path components after the store path");
    }
    if (!validNameChar(c)) {
      return bad(text, "name contains a forbidden character");
    }
  }
  return Status::ok();
}

namespace {

/// Resolves symlink `p` and checks it stays inside the (resolved) store dir.
Status checkSymlinkTarget(const fs::path& store_dir, const fs::path& p) {
  boost::system::error_code ec;
  fs::path store_real = fs::weakly_canonical(store_dir, ec);
  if (ec) {
    return bad(p.string(), "cannot resolve store directory: " + ec.message());
  }
  fs::path real = fs::weakly_canonical(p, ec);
  if (ec) {
    return bad(p.string(), "cannot resolve symlink: " + ec.message());
  }
  if (!isWithin(store_real, real)) {
    return bad(p.string(), "symlink leads out of the store to \"" + real.string() + "\"");
  }
  return Status::ok();
}

}  // namespace

Result<fs::path> parseStorePath(const fs::path& store_dir, std::string_view text) {
  NIXSNAP_RETURN_IF_ERROR(checkStorePathSyntax(store_dir, text));
  fs::path p{std::string(text)};
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return p;
    }
    return errnoStatus(errno, "inspecting store path \"" + p.string() + "\"");
  }
  if (S_ISLNK(st.st_mode)) {
    NIXSNAP_RETURN_IF_ERROR(checkSymlinkTarget(store_dir, p));
  }
  return p;
}

Status checkStorePathOnDisk(const fs::path& store_dir, const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status(ErrorCode::FailedPrecondition,
                    "store path \"" + path.string() + "\" does not exist");
    }
    return errnoStatus(errno, "inspecting store path \"" + path.string() + "\"");
  }
  if (!S_ISLNK(st.st_mode)) {
    return Status::ok();
  }
  NIXSNAP_RETURN_IF_ERROR(checkSymlinkTarget(store_dir, path));
  if (::stat(path.c_str(), &st) != 0) {
    return Status(ErrorCode::FailedPrecondition,
                  "store path \"" + path.string() + "\" is a dangling symlink");
  }
  return Status::ok();
}

}  // namespace nixsnap::nix
