#include "mount/mount_table.h"

#include <stdlib.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

namespace nixsnap::mount {

namespace {

/// Undoes the kernel's mangling of spaces, tabs, newlines and backslashes ("\ooo").
std::string unescape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/// `dir` with symlinks resolved when it exists; as given otherwise.
std::string resolved(const fs::path& dir) {
  char buf[PATH_MAX];
  if (::realpath(dir.c_str(), buf) != nullptr) {
    return buf;
  }
  return dir.string();
}

bool isAtOrUnder(const std::string& p, const std::string& dir) {
  if (p.compare(0, dir.size(), dir) != 0) {
    return false;
  }
  return p.size() == dir.size() || p[dir.size()] == '/' || dir == "/";
}

}  // namespace

Result<std::vector<fs::path>> mountPointsUnder(const fs::path& dir, const fs::path& mountinfo) {
  std::ifstream in(mountinfo.string());
  if (!in) {
    return errnoStatus(errno, "reading \"" + mountinfo.string() + "\"");
  }
  std::string base = resolved(dir);
  while (base.size() > 1 && base.back() == '/') {
    base.pop_back();
  }
  std::vector<fs::path> out;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    std::istringstream fields(line);
    std::string f[5];
    for (std::string& field : f) {
      if (!(fields >> field)) {
        return Status(ErrorCode::Internal, "line " + std::to_string(line_no) + " of \"" +
                                               mountinfo.string() + "\" has fewer than 5 fields");
      }
    }
    std::string point = unescape(f[4]);
    if (isAtOrUnder(point, base)) {
      out.emplace_back(point);
    }
  }
  return out;
}

}  // namespace nixsnap::mount
