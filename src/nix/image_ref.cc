#include "nix/image_ref.h"

#include <string>

#include "nix/store_path.h"
#include "oci/reference.h"

namespace nixsnap::nix {
namespace {

// containerd rejects longer names in references (reference.NameTotalLengthMax).
constexpr size_t kMaxRefNameLength = 255;

Status bad(std::string_view ref, std::string_view why) {
  return invalidArgument("parsing nix image reference \"" + std::string(ref) +
                         "\": " + std::string(why));
}

}  // namespace

bool isNixImageRef(std::string_view ref) {
  constexpr std::string_view kHead = "nix:0";
  if (ref.size() < kHead.size()) {
    return false;
  }
  for (size_t i = 0; i < kHead.size(); ++i) {
    char c = ref[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != kHead[i]) {
      return false;
    }
  }
  // "nix:0.1", "nix:0.10.2": image "nix" with a version tag; everything else is claimed.
  std::string_view rest = ref.substr(kHead.size());
  if (ref.substr(0, 4) != "nix:" || rest.size() < 2 || rest.front() != '.') {
    return true;
  }
  bool after_dot = false;
  for (char c : rest) {
    if (c == '.') {
      if (after_dot) {
        return true;
      }
      after_dot = true;
    } else if (c >= '0' && c <= '9') {
      after_dot = false;
    } else {
      return true;
    }
  }
  return after_dot;
}

Result<NixImageRef> parseNixImageRef(std::string_view ref, std::string_view store_dir) {
  if (ref.substr(0, kNixRefPrefix.size()) != kNixRefPrefix) {
    return bad(ref, "expected nix:0/<store path>[:latest]");
  }
  std::string_view path = ref.substr(kNixRefPrefix.size() - 1);  // keeps the leading '/'
  if (path.size() > kLatestTag.size() &&
      path.substr(path.size() - kLatestTag.size()) == kLatestTag) {
    path.remove_suffix(kLatestTag.size());
  }
  if (path.find_first_of(":@") != std::string_view::npos) {
    return bad(ref, "only the tag \":latest\" is allowed, and no digest");
  }
  std::string dir(store_dir);
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  if (path.size() <= dir.size() + 1 || path.substr(0, dir.size()) != dir ||
      path[dir.size()] != '/') {
    return bad(ref, "path is not in the nix store " + dir);
  }
  std::string_view base = path.substr(dir.size() + 1);
  if (base.find('/') != std::string_view::npos) {
    return bad(ref, "store path must not have further components");
  }
  // The store-path grammar is nix/store_path's; its reason is kept, the reference named.
  if (Status syntax = checkStorePathSyntax(dir, path); !syntax.isOk()) {
    return bad(ref, syntax.message());
  }
  if (!oci::isValidReferenceComponent(base)) {
    return bad(ref,
               "store path name must be a lowercase image reference component "
               "([a-z0-9] joined by '.', '_' or '-')");
  }
  // Every directory of the store dir becomes a reference path component too.
  size_t start = 1;
  while (start < dir.size()) {
    size_t end = dir.find('/', start);
    if (end == std::string::npos) {
      end = dir.size();
    }
    if (!oci::isValidReferenceComponent(std::string_view(dir).substr(start, end - start))) {
      return bad(ref, "store dir " + dir + " cannot appear in an image reference");
    }
    start = end + 1;
  }
  NixImageRef out;
  out.store_path = std::string(path);
  out.untagged = "nix:0" + out.store_path;
  out.tagged = out.untagged + std::string(kLatestTag);
  if (out.untagged.size() > kMaxRefNameLength) {
    return bad(ref, "reference longer than 255 characters");
  }
  return out;
}

}  // namespace nixsnap::nix
