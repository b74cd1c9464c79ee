#include "image/containerd_loader.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <random>

#include "common/log.h"
#include "common/scope_guard.h"
#include "common/temp_dir.h"
#include "image/archive_validation.h"
#include "image/nix_layer.h"
#include "oci/archive_reader.h"
#include "oci/digest.h"
#include "oci/layout.h"

namespace nixsnap::image {
namespace {

using containerd::CallContext;
using containerd::StringMap;

constexpr std::string_view kSnapshotLabelPrefix = "containerd.io/snapshot/";
constexpr const char* kSnapshotRefLabel = "containerd.io/snapshot.ref";
constexpr const char* kUncompressedLabel = "containerd.io/uncompressed";
constexpr const char* kGcRefContent = "containerd.io/gc.ref.content.";
constexpr const char* kGcRefSnapshot = "containerd.io/gc.ref.snapshot.";
constexpr const char* kGcExpire = "containerd.io/gc.expire";

std::string randomHex(size_t n) {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kHex[rd() & 0xf]);
  }
  return s;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

containerd::Descriptor toClient(const oci::Descriptor& d) {
  return {d.media_type, d.digest, d.size, StringMap(d.annotations.begin(), d.annotations.end())};
}

/// One import, with the state a rollback needs.
class LoadJob {
 public:
  LoadJob(containerd::ContainerdClient& client, const oci::Layout& layout,
          const LoadOptions& options, CallContext ctx)
      : client_(client), layout_(layout), options_(options), ctx_(std::move(ctx)) {}

  Status writeBlob(const oci::Descriptor& d, const StringMap& labels) {
    auto info = client_.contentInfo(ctx_, d.digest);
    if (info.isOk()) {
      if (info->size != d.size) {
        return invalidArgument("content " + d.digest + " in containerd has size " +
                               std::to_string(info->size) + ", descriptor says " +
                               std::to_string(d.size));
      }
      if (labels.empty()) {
        return Status::ok();
      }
      std::vector<std::string> fields;
      for (const auto& [k, v] : labels) {
        fields.push_back("labels." + k);
      }
      return client_.updateContentLabels(ctx_, d.digest, labels, fields);
    }
    if (info.status().code() != ErrorCode::NotFound) {
      return info.status();
    }
    return client_.writeContent(ctx_, "nix2container-" + d.digest, layout_.blobPath(d.digest),
                                d.digest, d.size, labels);
  }

  Status writeAllContent(const std::string& top_chain) {
    const auto& img = layout_.image;
    for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
      NIXSNAP_RETURN_IF_ERROR(
          writeBlob(img.manifest.layers[i], {{kUncompressedLabel, img.diff_ids[i]}}));
    }
    StringMap config_labels;
    if (!top_chain.empty()) {
      config_labels[kGcRefSnapshot + options_.snapshotter] = top_chain;
    }
    NIXSNAP_RETURN_IF_ERROR(writeBlob(img.manifest.config, config_labels));
    StringMap manifest_labels = {
        {std::string(kGcRefContent) + "config", img.manifest.config.digest}};
    for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
      manifest_labels[std::string(kGcRefContent) + "l." + std::to_string(i)] =
          img.manifest.layers[i].digest;
    }
    return writeBlob(img.manifest_desc, manifest_labels);
  }

  Status unpackLayer(const oci::Descriptor& layer, const std::string& diff_id,
                     const std::string& chain, const std::string& parent) {
    if (client_.statSnapshot(ctx_, options_.snapshotter, chain).isOk()) {
      return Status::ok();
    }
    StringMap labels = {{kSnapshotRefLabel, chain}};
    for (const auto& [k, v] : layer.annotations) {
      if (k.rfind(kSnapshotLabelPrefix, 0) == 0) {
        labels[k] = v;
      }
    }
    std::string key = "extract-" + randomHex(16) + "-" + chain;
    auto mounts = client_.prepareSnapshot(ctx_, options_.snapshotter, key, parent, labels);
    if (!mounts.isOk()) {
      if (mounts.status().code() == ErrorCode::AlreadyExists) {
        return Status::ok();  // the snapshotter already has this layer: skip it
      }
      return mounts.status().wrap("unpacking layer " + layer.digest);
    }
    ScopeGuard remove_key([&] {
      Status st = client_.removeSnapshot(ctx_, options_.snapshotter, key);
      if (!st.isOk()) {
        NIXSNAP_LOG(Warn, "failed to remove snapshot after failed unpack",
                    {{"key", key}, {"error", st.message()}});
      }
    });
    auto applied = client_.applyDiff(ctx_, toClient(layer), *mounts);
    if (!applied.isOk()) {
      return applied.status().wrap("unpacking layer " + layer.digest);
    }
    if (applied->digest != diff_id) {
      return invalidArgument("unpacking layer " + layer.digest + ": uncompressed digest " +
                             applied->digest + " does not match diff ID " + diff_id);
    }
    Status st = client_.commitSnapshot(ctx_, options_.snapshotter, chain, key, {});
    if (st.code() == ErrorCode::AlreadyExists) {
      return Status::ok();  // committed concurrently; our key is removed by the guard
    }
    NIXSNAP_RETURN_IF_ERROR(st.wrap("unpacking layer " + layer.digest));
    remove_key.dismiss();
    return Status::ok();
  }

  Status unpack(const std::vector<std::string>& chains) {
    const auto& img = layout_.image;
    for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
      NIXSNAP_RETURN_IF_ERROR(unpackLayer(img.manifest.layers[i], img.diff_ids[i], chains[i],
                                          i == 0 ? "" : chains[i - 1]));
    }
    return Status::ok();
  }

  Status putImage(const std::string& name) {
    containerd::Image image{name, {}, toClient(layout_.image.manifest_desc)};
    image.target.annotations.clear();
    auto created = client_.createImage(ctx_, image);
    if (created.isOk()) {
      return Status::ok();
    }
    if (created.status().code() != ErrorCode::AlreadyExists) {
      return created.status();
    }
    auto updated = client_.updateImage(ctx_, image, {"target"});
    return updated.status();
  }

 private:
  containerd::ContainerdClient& client_;
  const oci::Layout& layout_;
  const LoadOptions& options_;
  CallContext ctx_;
};

std::vector<std::string> namesFor(const oci::Layout& layout, const LoadOptions& options) {
  std::vector<std::string> names;
  if (options.archive_names) {
    names = layout.image.names;
  }
  for (const auto& n : options.extra_names) {
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      names.push_back(n);
    }
  }
  if (names.empty()) {
    names.push_back("nix2container.local/import:" +
                    oci::digestHex(layout.image.manifest_desc.digest).substr(0, 64));
  }
  return names;
}

}  // namespace

std::vector<std::string> chainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const auto& d : diff_ids) {
    out.push_back(out.empty() ? d : oci::digestOf(out.back() + " " + d));
  }
  return out;
}

ContainerdLoader::ContainerdLoader(containerd::ContainerdClientPtr client, fs::path tmp_dir)
    : client_(std::move(client)), tmp_dir_(std::move(tmp_dir)) {}

Result<std::vector<LoadedImage>> ContainerdLoader::load(const fs::path& archive,
                                                        const LoadOptions& options) {
  fs::path tmp = tmp_dir_;
  if (tmp.empty()) {
    const char* t = std::getenv("TMPDIR");
    tmp = t && *t ? t : "/tmp";
  }
  auto work = TempDir::create(tmp, "nix2container-load-");
  if (!work.isOk()) {
    return work.status().wrap("loading " + archive.string());
  }
  NIXSNAP_RETURN_IF_ERROR(oci::extractImageArchive(archive, work->path()));
  auto layout = oci::openLayout(work->path());
  if (!layout.isOk()) {
    return layout.status().wrap("loading " + archive.string());
  }
  NIXSNAP_RETURN_IF_ERROR(validateArchiveForCri(*layout).wrap("loading " + archive.string()));
  const auto& img = layout->image;
  for (const auto& layer : img.manifest.layers) {
    Status st = checkNixLayerAnnotations(layer.digest, layer.annotations, options.store_dir);
    if (!st.isOk()) {
      return st.wrap("loading " + archive.string());
    }
  }
  std::vector<std::string> names = namesFor(*layout, options);
  std::vector<std::string> chains = chainIds(img.diff_ids);
  std::string top = chains.empty() ? "" : chains.back();
  std::vector<LoadedImage> loaded;
  for (const auto& n : names) {
    loaded.push_back({n, img.manifest_desc.digest, img.manifest.config.digest});
  }

  CallContext ctx{options.ns, ""};
  // Fast path: every name already points at this manifest and the top layer is unpacked.
  bool done = true;
  for (const auto& n : names) {
    auto existing = client_->getImage(ctx, n);
    if (!existing.isOk()) {
      if (existing.status().code() != ErrorCode::NotFound) {
        return existing.status();
      }
      done = false;
      break;
    }
    done = done && existing->target.digest == img.manifest_desc.digest;
  }
  if (done && (top.empty() || client_->statSnapshot(ctx, options.snapshotter, top).isOk())) {
    NIXSNAP_LOG(Info, "image already loaded", {{"image", names.front()}});
    return loaded;
  }

  std::string lease = "nix2container-" + randomHex(16);
  NIXSNAP_RETURN_IF_ERROR(client_->createLease(
      ctx, lease,
      {{kGcExpire, rfc3339(std::chrono::system_clock::now() + std::chrono::hours(24))}}));
  ScopeGuard drop_lease([&] {
    Status st = client_->deleteLease(ctx, lease);
    if (!st.isOk()) {
      NIXSNAP_LOG(Warn, "failed to delete lease", {{"id", lease}, {"error", st.message()}});
    }
  });
  LoadJob job(*client_, *layout, options, CallContext{options.ns, lease});
  NIXSNAP_RETURN_IF_ERROR(job.writeAllContent(top));
  NIXSNAP_RETURN_IF_ERROR(job.unpack(chains));
  for (const auto& n : names) {
    NIXSNAP_RETURN_IF_ERROR(job.putImage(n));
    NIXSNAP_LOG(Info, "image loaded", {{"image", n}, {"digest", img.manifest_desc.digest}});
  }
  return loaded;
}

}  // namespace nixsnap::image
