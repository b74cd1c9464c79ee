#include "image/nix_layer_format.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/json.h"
#include "nix/store_path.h"

namespace nixsnap::image {
namespace {

using oci::TarEntry;

std::string relOf(const fs::path& p) {
  std::string s = p.generic_string();
  while (!s.empty() && s.front() == '/') {
    s.erase(0, 1);
  }
  return s;
}

/// Where a store path (or a path inside one) really leads, expressed under `store_dir` as
/// the container will see it: symlinks are resolved (also those of the store dir itself,
/// which are then mapped back), and the result must stay inside the store.
Result<fs::path> resolveInStore(const fs::path& p, const fs::path& store_dir) {
  boost::system::error_code ec;
  fs::path real = fs::canonical(p, ec);
  if (ec) {
    return Status(errorCodeFromErrno(ec.value()), ec.message()).wrap(p.string());
  }
  fs::path real_store = fs::canonical(store_dir, ec);
  if (ec) {
    real_store = store_dir;
  }
  fs::path rel = real.lexically_relative(real_store);
  if (rel.empty() || rel == "." || *rel.begin() == "..") {
    return invalidArgument(p.string() + " leads out of the store " + store_dir.string() + " to " +
                           real.string());
  }
  return store_dir / rel;
}

class RootLinker {
 public:
  /// @param mounted the closure paths the layer has mountpoints for.
  RootLinker(std::map<std::string, TarEntry>& entries, fs::path store_dir,
             const std::set<std::string>& mounted)
      : entries_(entries), store_dir_(std::move(store_dir)), mounted_(mounted) {}

  /// A root that is a symlink to another store path (a wrapper output, the original's
  /// #165) is followed: its target's files are linked, by their target paths.
  Status linkRoot(const fs::path& root) {
    const std::string dangle =
        " not in the closure (--closure): the image's links to it would dangle";
    if (mounted_.count(root.string()) == 0) {
      return invalidArgument("copyToRoot path " + root.string() + " is" + dangle);
    }
    auto real = resolveInStore(root, store_dir_);
    if (!real.isOk()) {
      return invalidArgument("reading copyToRoot path " + root.string() + ": " +
                             real.status().message());
    }
    fs::path target = store_dir_ / *real->lexically_relative(store_dir_).begin();
    if (mounted_.count(target.string()) == 0) {
      return invalidArgument("copyToRoot path " + root.string() + " leads to " + target.string() +
                             ", which is" + dangle);
    }
    struct stat st {};
    if (::stat(real->c_str(), &st) != 0) {
      return invalidArgument("reading copyToRoot path " + root.string() + ": " +
                             std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      std::string base = root.filename().string();
      std::string name = base.size() > 33 ? base.substr(33) : base;
      addLink(name, *real);
      return Status::ok();
    }
    return walk(*real, "");
  }

 private:
  static bool underNix(const std::string& rel) { return rel == "nix" || rel.rfind("nix/", 0) == 0; }

  void addLink(const std::string& rel, const fs::path& target) {
    if (underNix(rel) || entries_.count(rel) != 0) {
      return;
    }
    entries_[rel] = TarEntry{rel, TarEntry::Type::Symlink, 0777, target.string(), "", {}};
  }

  /// @return false when `rel` is taken by something that is not a directory.
  bool addDir(const std::string& rel) {
    auto it = entries_.find(rel);
    if (it != entries_.end()) {
      return it->second.type == TarEntry::Type::Directory;
    }
    entries_[rel] = TarEntry{rel, TarEntry::Type::Directory, 0755, "", "", {}};
    return true;
  }

  Status walk(const fs::path& root, const std::string& rel) {
    boost::system::error_code ec;
    std::set<std::string> names;
    for (fs::directory_iterator it(rel.empty() ? root : root / rel, ec), end; !ec && it != end;
         it.increment(ec)) {
      names.insert(it->path().filename().string());
    }
    if (ec) {
      return invalidArgument("reading copyToRoot directory " + (root / rel).string() + ": " +
                             ec.message());
    }
    for (const auto& name : names) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      if (underNix(child)) {
        continue;
      }
      fs::path full = root / child;
      struct stat st {};
      if (::lstat(full.c_str(), &st) != 0) {
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        if (addDir(child)) {
          NIXSNAP_RETURN_IF_ERROR(walk(root, child));
        }
      } else {
        addLink(child, full);
      }
    }
    return Status::ok();
  }

  std::map<std::string, TarEntry>& entries_;
  fs::path store_dir_;
  const std::set<std::string>& mounted_;
};

/// The mountpoint of closure path `p`: of the type the bind mount will put there. A bind
/// mount follows a symlink source, so stat (not lstat) decides; a path that cannot be
/// seen now would get a guessed type, so it is refused.
Result<TarEntry> mountpointFor(const std::string& p) {
  std::string rel = relOf(p);
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    int err = errno;
    return Status(errorCodeFromErrno(err),
                  "closure path " + p + " is not in the store at build time (" +
                      std::strerror(err) +
                      "); realise the closure before building, e.g. nix-store --realise");
  }
  if (S_ISDIR(st.st_mode)) {
    return TarEntry{rel, TarEntry::Type::Directory, 0555, "", "", {}};
  }
  return TarEntry{rel, TarEntry::Type::File, 0444, "", "", {}};
}

}  // namespace

Result<std::vector<std::string>> parseClosure(std::string_view text, const fs::path& store_dir) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::istringstream in{std::string(text)};
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.pop_back();
    }
    if (line.empty()) {
      continue;
    }
    Status st = nix::checkStorePathSyntax(store_dir, line);
    if (!st.isOk()) {
      return invalidArgument("reading closure line " + std::to_string(n) + ": " + st.message());
    }
    if (seen.insert(line).second) {
      out.push_back(line);
    }
  }
  return out;
}

Result<std::vector<std::string>> parseCopyToRoot(std::string_view text, const fs::path& store_dir) {
  std::vector<std::string> out;
  auto parsed = parseJson(text, "copyToRoot");
  if (!parsed.isOk()) {
    return parsed.status();
  }
  try {
    const nlohmann::json& j = *parsed;
    if (!j.is_array()) {
      return invalidArgument("parsing copyToRoot: want a JSON list of store paths");
    }
    for (size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_string()) {
        return invalidArgument("parsing copyToRoot: element " + std::to_string(i) + " is " +
                               j[i].type_name() + ", not a store path string");
      }
      std::string p = j[i].get<std::string>();
      Status st = nix::checkStorePathSyntax(store_dir, p);
      if (!st.isOk()) {
        return invalidArgument("parsing copyToRoot: element " + std::to_string(i) + ": " +
                               st.message());
      }
      out.push_back(p);
    }
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument(std::string("parsing copyToRoot: ") + jsonErrorText(e));
  }
  return out;
}

Result<std::vector<oci::TarEntry>> nixLayerEntries(const std::vector<std::string>& closure,
                                                   const std::vector<std::string>& copy_to_root,
                                                   const fs::path& store_dir) {
  std::map<std::string, TarEntry> entries;
  // Every parent of the store dir ("nix", "nix/store").
  std::string acc;
  for (const auto& part : fs::path(relOf(store_dir))) {
    acc += (acc.empty() ? "" : "/") + part.string();
    entries[acc] = TarEntry{acc, TarEntry::Type::Directory, 0755, "", "", {}};
  }
  for (const auto& p : closure) {
    auto entry = mountpointFor(p);
    if (!entry.isOk()) {
      return entry.status();
    }
    entries[entry->path] = std::move(*entry);
  }
  const std::set<std::string> mounted(closure.begin(), closure.end());
  RootLinker linker(entries, store_dir, mounted);
  for (const auto& root : copy_to_root) {
    NIXSNAP_RETURN_IF_ERROR(linker.linkRoot(root));
  }
  std::vector<TarEntry> out;
  out.reserve(entries.size());
  for (auto& [k, v] : entries) {
    out.push_back(std::move(v));
  }
  return out;
}

std::map<std::string, std::string> nixAnnotations(
    const std::map<std::string, std::string>& annotations) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : annotations) {
    if (key == kLabelNixClosure || key == kLabelNixLayer ||
        key.rfind(kLabelNixStorePathPrefix, 0) == 0) {
      out.emplace(key, value);
    }
  }
  return out;
}

Status checkNixLayerAnnotations(const std::string& digest,
                                const std::map<std::string, std::string>& annotations,
                                const fs::path& store_dir) {
  auto closure = annotations.find(std::string(kLabelNixClosure));
  if (closure != annotations.end()) {
    Status st = nix::checkStorePathSyntax(store_dir, closure->second);
    if (!st.isOk()) {
      return invalidArgument("layer " + digest + ": annotation " + closure->first + " \"" +
                             closure->second + "\" is not a store path: " + st.message());
    }
  }
  const std::string prefix(kLabelNixStorePathPrefix);
  std::string first_path_key;
  for (const auto& [key, value] : annotations) {
    if (key.rfind(prefix, 0) != 0) {
      continue;
    }
    if (first_path_key.empty()) {
      first_path_key = key;
    }
    Status st = nix::checkStorePathSyntax(store_dir, value);
    if (!st.isOk()) {
      return invalidArgument("layer " + digest + ": annotation " + key + " \"" + value +
                             "\" is not a store path: " + st.message());
    }
  }
  if (first_path_key.empty()) {
    return Status::ok();
  }
  auto it = annotations.find(std::string(kLabelNixLayer));
  if (it == annotations.end() || it->second != "true") {
    return invalidArgument("layer " + digest + " has annotation " + first_path_key + " but not " +
                           std::string(kLabelNixLayer) + ": \"true\"");
  }
  return Status::ok();
}

}  // namespace nixsnap::image
