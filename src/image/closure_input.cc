#include "image/closure_input.h"

#include <sys/stat.h>

#include "common/small_file.h"
#include "image/nix_layer_format.h"
#include "nix/store_path.h"

namespace nixsnap::image {
namespace {

constexpr const char* kStorePathsFile = "store-paths";

/// `dir` as a top-level store path under `store_dir`, or "" when it is not one. Symlinks
/// (an out-link, a symlinked store dir) are resolved and mapped back under `store_dir`.
std::string asStorePath(const fs::path& dir, const fs::path& store_dir) {
  fs::path lexical = fs::absolute(dir).lexically_normal();
  if (nix::checkStorePathSyntax(store_dir, lexical.string()).isOk()) {
    return lexical.string();
  }
  boost::system::error_code ec;
  fs::path real = fs::canonical(dir, ec);
  if (ec) {
    return "";
  }
  fs::path real_store = fs::canonical(store_dir, ec);
  fs::path rel = real.lexically_relative(ec ? store_dir : real_store);
  std::string candidate = (store_dir / rel).string();
  return nix::checkStorePathSyntax(store_dir, candidate).isOk() ? candidate : "";
}

}  // namespace

Result<ClosureInput> readClosureInput(const fs::path& arg, const fs::path& store_dir,
                                      int64_t max_bytes) {
  ClosureInput in;
  fs::path list = arg;
  struct stat st {};
  if (::stat(arg.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    in.closure_info = asStorePath(arg, store_dir);
    if (in.closure_info.empty()) {
      return invalidArgument("--closure " + arg.string() +
                             " is a directory but not a closureInfo store path (want a store "
                             "path holding store-paths, or a list file)");
    }
    list = arg / kStorePathsFile;
  } else if (arg.filename() == kStorePathsFile) {
    in.closure_info = asStorePath(fs::absolute(arg).lexically_normal().parent_path(), store_dir);
  }
  auto text = readSmallFile(list, max_bytes);
  if (!text.isOk()) {
    return text.status().wrap("reading --closure");
  }
  auto paths = parseClosure(*text, store_dir);
  if (!paths.isOk()) {
    return paths.status().wrap("reading --closure " + list.string());
  }
  in.paths = std::move(*paths);
  return in;
}

}  // namespace nixsnap::image
