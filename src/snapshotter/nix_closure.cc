#include "snapshotter/nix_closure.h"

#include <sys/stat.h>

#include <cerrno>
#include <string_view>

#include "common/small_file.h"
#include "nix/store_path.h"

namespace nixsnap::snapshotter {

namespace {

Status notClosureInfo(const fs::path& closure, const std::string& why) {
  return invalidArgument("closure \"" + closure.string() +
                         "\" is not a closureInfo output: " + why);
}

/// Hostile text goes into messages capped.
std::string quoted(std::string_view s) {
  constexpr size_t kMax = 256;
  return "\"" + std::string(s.substr(0, kMax)) + (s.size() > kMax ? "...\"" : "\"");
}

/// Requires `dir/name` to be a regular file (lstat: a symlink could lead anywhere).
Status checkRegularFile(const fs::path& closure, const std::string& name) {
  struct stat st {};
  fs::path p = closure / name;
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return notClosureInfo(closure, "it has no file \"" + name + "\"");
    }
    return errnoStatus(errno, "inspecting \"" + p.string() + "\"");
  }
  if (!S_ISREG(st.st_mode)) {
    return notClosureInfo(closure, "\"" + name + "\" is not a regular file");
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<fs::path>> readClosureStorePaths(
    const fs::path& store_dir, const fs::path& closure,
    const std::unordered_set<std::string>& requisites) {
  struct stat st {};
  if (::lstat(closure.c_str(), &st) != 0) {
    return errnoStatus(errno, "inspecting closure \"" + closure.string() + "\"");
  }
  if (!S_ISDIR(st.st_mode)) {
    return notClosureInfo(closure, "not a directory");
  }
  NIXSNAP_RETURN_IF_ERROR(checkRegularFile(closure, "registration"));
  NIXSNAP_RETURN_IF_ERROR(checkRegularFile(closure, "store-paths"));
  fs::path file = closure / "store-paths";
  Result<std::string> data = readSmallFile(file, static_cast<int64_t>(kMaxClosureFileBytes));
  if (!data.isOk()) {
    return data.status().wrap("closure \"" + closure.string() + "\"");
  }
  std::vector<fs::path> out;
  std::unordered_set<std::string_view> seen;
  std::string_view rest = *data;
  for (size_t line_no = 1; !rest.empty(); ++line_no) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    auto bad = [&](const std::string& why) {
      return invalidArgument("closure \"" + closure.string() + "\": line " +
                             std::to_string(line_no) + " of \"store-paths\" " + quoted(line) +
                             ": " + why);
    };
    if (line.empty()) {
      return bad("empty line");
    }
    Status syntax = nix::checkStorePathSyntax(store_dir, line);
    if (!syntax.isOk()) {
      return bad(syntax.message());
    }
    if (requisites.count(std::string(line)) == 0) {
      return bad("not in the closure of \"" + closure.string() +
                 "\" (nix-store --query --requisites)");
    }
    if (seen.insert(line).second) {
      out.emplace_back(std::string(line));
    }
  }
  return out;
}

}  // namespace nixsnap::snapshotter
