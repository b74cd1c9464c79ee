#include "image/nix_image_pull.h"

#include <utility>

#include "common/log.h"
#include "nix/store_path.h"

namespace nixsnap::image {

using nix::NixImageRef;

NixImagePull::NixImagePull(NixImagePullDeps deps, NixImagePullOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

Result<std::string> NixImagePull::pull(const std::string& ref) {
  auto parsed = nix::parseNixImageRef(ref, options_.store_dir);
  if (!parsed.isOk()) {
    return parsed.status();
  }
  NixImageRef nix_ref = *parsed;
  return flights_.run(nix_ref.store_path, [&] { return run(nix_ref); });
}

Result<std::string> NixImagePull::run(const NixImageRef& ref) {
  const std::string context = "pulling nix image " + ref.untagged;
  // Ask containerd first: when it is down, fail before touching the store.
  auto before = deps_.cri->imageId(ref.tagged);
  if (!before.isOk()) {
    return before.status().wrap(context);
  }
  auto id = loadRooted(ref, *before);
  if (!id.isOk()) {
    return id.status().wrap(context);
  }
  NIXSNAP_LOG(Info, "loaded nix image",
              {{"image", ref.tagged}, {"store_path", ref.store_path}, {"id", *id}});
  return id;
}

Status NixImagePull::realise(const NixImageRef& ref, const fs::path& roots) {
  const fs::path path = ref.store_path;
  NIXSNAP_RETURN_IF_ERROR(deps_.store->realise({path}, roots));
  // The realised path is hostile input too: a symlink must stay in the store, and only a
  // file can be an image archive.
  NIXSNAP_RETURN_IF_ERROR(nix::checkStorePathOnDisk(options_.store_dir, path));
  boost::system::error_code ec;
  if (fs::is_directory(path, ec)) {
    return invalidArgument(path.string() + " is a directory, not an image archive");
  }
  return Status::ok();
}

Result<std::vector<LoadedImage>> NixImagePull::realiseAndLoad(const NixImageRef& ref,
                                                              const fs::path& roots) {
  NIXSNAP_RETURN_IF_ERROR(realise(ref, roots));
  LoadOptions load_options;
  load_options.ns = options_.ns;
  load_options.snapshotter = options_.snapshotter;
  load_options.extra_names = {ref.tagged};
  load_options.archive_names = false;  // the archive is hostile input: only our own name
  load_options.store_dir = options_.store_dir;
  return deps_.loader->load(ref.store_path, load_options);
}

Result<std::string> NixImagePull::loadRooted(const NixImageRef& ref, const std::string& before) {
  // What the name pointed at before, so a refused load can put it back.
  std::optional<containerd::Image> prior;
  const containerd::CallContext ctx{options_.ns, ""};
  if (!before.empty()) {
    auto image = deps_.containerd->getImage(ctx, ref.tagged);
    if (image.isOk()) {
      prior = *image;
    } else if (image.status().code() != ErrorCode::NotFound) {
      return image.status();
    }
  }
  // The archive is rooted from before its realisation until it is loaded: a concurrent
  // nix-collect-garbage must not delete it under the loader.
  const fs::path roots = options_.gc_root_dir / ("pull-" + randomHex(*deps_.random, 16));
  Result<std::vector<LoadedImage>> loaded = realiseAndLoad(ref, roots);
  if (Status st = deps_.store->removeRoots(roots); !st.isOk()) {
    NIXSNAP_LOG(Warn, "failed to remove the pull's gc roots",
                {{"dir", roots.string()}, {"error", st.message()}});
  }
  if (!loaded.isOk()) {
    return loaded.status();
  }
  std::string id;
  for (const auto& image : *loaded) {
    if (id.empty() || image.name == ref.tagged) {
      id = image.config_digest;
    }
  }
  if (id.empty()) {
    return invalidArgument("archive " + ref.store_path + " holds no image");
  }
  Status visible = waitUntilVisible(ref, id);
  if (!visible.isOk()) {
    undoLoad(ref, prior);
    return visible;
  }
  return id;
}

Status NixImagePull::waitUntilVisible(const NixImageRef& ref, const std::string& id) {
  const auto deadline = deps_.clock->now() + options_.visible_timeout;
  std::string last;
  for (;;) {
    auto by_ref = deps_.cri->imageId(ref.tagged);
    if (!by_ref.isOk()) {
      return by_ref.status();
    }
    if (*by_ref == id) {
      auto by_id = deps_.cri->imageId(id);
      if (!by_id.isOk()) {
        return by_id.status();
      }
      if (*by_id == id) {
        return Status::ok();
      }
    }
    last = by_ref->empty() ? "no image" : "image " + *by_ref;
    if (deps_.clock->now() >= deadline) {
      break;
    }
    deps_.sleeper->sleepFor(options_.visible_poll);
  }
  return {ErrorCode::DeadlineExceeded, "waiting for containerd CRI at " + deps_.cri->address() +
                                           " to list " + ref.tagged + " as " + id +
                                           ": it still reports " + last};
}

void NixImagePull::undoLoad(const NixImageRef& ref, const std::optional<containerd::Image>& prior) {
  // The load created or re-pointed only ref.tagged (archive names are off): point it back
  // at what it named before, or delete it, so an image containerd's CRI refuses does not
  // stay behind.
  const containerd::CallContext ctx{options_.ns, ""};
  Status st = Status::ok();
  if (prior.has_value()) {
    st = deps_.containerd->updateImage(ctx, *prior, {"target"}).status();
  } else {
    st = deps_.containerd->deleteImage(ctx, ref.tagged);
    if (st.code() == ErrorCode::NotFound) {
      st = Status::ok();
    }
  }
  if (!st.isOk()) {
    NIXSNAP_LOG(Warn, "failed to undo image load",
                {{"image", ref.tagged}, {"error", st.message()}});
  }
}

void NixImagePull::removeStaleRoots() {
  boost::system::error_code ec;
  fs::directory_iterator it(options_.gc_root_dir, ec);
  if (ec) {
    return;  // no pull ever rooted anything here
  }
  std::vector<fs::path> stale;  // collected first: removeRoots renames entries
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      break;
    }
    stale.push_back(it->path());
  }
  for (const fs::path& dir : stale) {
    Status st = deps_.store->removeRoots(dir);
    if (!st.isOk()) {
      NIXSNAP_LOG(Warn, "failed to remove a pull's stale gc roots",
                  {{"dir", dir.string()}, {"error", st.message()}});
    }
  }
}

}  // namespace nixsnap::image
