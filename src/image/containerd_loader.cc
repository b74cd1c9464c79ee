#include "image/containerd_loader.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "common/log.h"
#include "common/scope_guard.h"
#include "common/temp_dir.h"
#include "image/archive_validation.h"
#include "image/nix_layer_format.h"
#include "oci/archive_reader.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "snapshots/labels.h"

namespace nixsnap::image {
namespace {

using containerd::CallContext;
using containerd::StringMap;

constexpr std::string_view kSnapshotLabelPrefix = "containerd.io/snapshot/";
constexpr const char* kSnapshotRefLabel = snapshots::kLabelSnapshotRef;
constexpr const char* kUncompressedLabel = "containerd.io/uncompressed";
constexpr const char* kGcRefContent = "containerd.io/gc.ref.content.";
constexpr const char* kGcRefSnapshot = "containerd.io/gc.ref.snapshot.";
constexpr const char* kGcExpire = "containerd.io/gc.expire";

std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

using Kind = ProgressEvent::Kind;

std::chrono::milliseconds since(const Clock& clock, std::chrono::system_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start);
}

/// True when `labels` carries every entry of `required` with the same value.
bool carries(const StringMap& labels, const std::map<std::string, std::string>& required) {
  for (const auto& [k, v] : required) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) {
      return false;
    }
  }
  return true;
}

containerd::Descriptor toClient(const oci::Descriptor& d) {
  return {d.media_type, d.digest, d.size, StringMap(d.annotations.begin(), d.annotations.end())};
}

/// One import, with the state a rollback needs.
class LoadJob {
 public:
  LoadJob(containerd::ContainerdClient& client, const oci::Layout& layout,
          const LoadOptions& options, CallContext ctx, const Clock& clock, Random& random)
      : client_(client),
        layout_(layout),
        options_(options),
        ctx_(std::move(ctx)),
        clock_(clock),
        random_(random) {}

  void report(const ProgressEvent& e) const {
    if (options_.progress) {
      options_.progress->report(e);
    }
  }

  Status writeBlob(const oci::Descriptor& d, const StringMap& labels) {
    auto info = client_.contentInfo(ctx_, d.digest);
    if (info.isOk()) {
      if (info->size != d.size) {
        return invalidArgument("content " + d.digest + " in containerd has size " +
                               std::to_string(info->size) + ", descriptor says " +
                               std::to_string(d.size));
      }
      report(blobEvent(Kind::BlobSkipped, d.digest, d.size));
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
    report(blobEvent(Kind::BlobStarted, d.digest, d.size));
    NIXSNAP_RETURN_IF_ERROR(client_.writeContent(
        ctx_, "nix2container-" + d.digest, layout_.blobPath(d.digest), d.digest, d.size, labels));
    report(blobEvent(Kind::BlobWritten, d.digest, d.size));
    return Status::ok();
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

  Status unpackLayer(size_t i, const std::string& chain, const std::string& parent) {
    const oci::Descriptor& layer = layout_.image.manifest.layers[i];
    ProgressEvent ev =
        layerEvent(Kind::LayerSkipped, layer.digest, i + 1, layout_.image.manifest.layers.size());
    if (client_.statSnapshot(ctx_, options_.snapshotter, chain).isOk()) {
      report(ev);  // replaceStale() removed it if it lacked its Nix labels
      return Status::ok();
    }
    StringMap labels = {{kSnapshotRefLabel, chain}};
    for (const auto& [k, v] : layer.annotations) {
      if (k.rfind(kSnapshotLabelPrefix, 0) == 0) {
        labels[k] = v;
      }
    }
    ev.kind = Kind::LayerStarted;
    report(ev);
    std::string key = "extract-" + randomHex(random_, 16) + "-" + chain;
    auto start = clock_.now();
    auto mounts = client_.prepareSnapshot(ctx_, options_.snapshotter, key, parent, labels);
    ev.prepare = since(clock_, start);
    if (!mounts.isOk()) {
      if (mounts.status().code() == ErrorCode::AlreadyExists) {
        ev.kind = Kind::LayerSkipped;
        report(ev);
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
    start = clock_.now();
    auto applied = client_.applyDiff(ctx_, toClient(layer), *mounts);
    ev.apply = since(clock_, start);
    if (!applied.isOk()) {
      return applied.status().wrap("unpacking layer " + layer.digest);
    }
    if (applied->digest != layout_.image.diff_ids[i]) {
      return invalidArgument("unpacking layer " + layer.digest + ": uncompressed digest " +
                             applied->digest + " does not match diff ID " +
                             layout_.image.diff_ids[i]);
    }
    // The labels again, as containerd's unpacker passes them: containerd's own metadata
    // then records them on the committed snapshot whatever the snapshotter keeps.
    Status st = client_.commitSnapshot(ctx_, options_.snapshotter, chain, key, labels);
    if (st.code() == ErrorCode::AlreadyExists) {
      ev.kind = Kind::LayerSkipped;
      report(ev);
      return Status::ok();  // committed concurrently; our key is removed by the guard
    }
    NIXSNAP_RETURN_IF_ERROR(st.wrap("unpacking layer " + layer.digest));
    remove_key.dismiss();
    ev.kind = Kind::LayerUnpacked;
    report(ev);
    return Status::ok();
  }

  Status unpack(const std::vector<std::string>& chains) {
    for (size_t i = 0; i < chains.size(); ++i) {
      NIXSNAP_RETURN_IF_ERROR(unpackLayer(i, chains[i], i == 0 ? "" : chains[i - 1]));
    }
    return Status::ok();
  }

  /// Finds the lowest layer whose chain-ID snapshot exists without any Nix label although
  /// its annotations require some (an ordinary import unpacked it: containerd 1.7's `ctr
  /// image import` passes no annotations), and removes it with every snapshot of this chain
  /// above it, top down, so that unpack() makes them again with labels. Reusing it would
  /// leave the image's store paths unrealised, unrooted and unmounted.
  Status replaceStale(const std::vector<std::string>& chains) {
    const auto& layers = layout_.image.manifest.layers;
    size_t stale = chains.size();
    for (size_t i = 0; i < chains.size() && stale == chains.size(); ++i) {
      auto info = client_.statSnapshot(ctx_, options_.snapshotter, chains[i]);
      if (!info.isOk()) {
        if (info.status().code() == ErrorCode::NotFound) {
          return Status::ok();  // nothing above it can exist either
        }
        return info.status().wrap("checking snapshot " + chains[i]);
      }
      auto required = nixAnnotations(layers[i].annotations);
      if (carries(info->labels, required)) {
        continue;
      }
      if (nixAnnotations(info->labels).empty()) {
        stale = i;  // unpacked without any Nix label: realise, root and bind nothing
      } else {
        // Same layer bytes (so the same chain ID) already unpacked for another image
        // with other Nix labels: both images bind from that snapshot. Replacing it would
        // take its roots from the image already using it; containerd keys snapshots by
        // chain ID alone, so there is no second key to unpack under.
        NIXSNAP_LOG(Warn, "reusing a snapshot whose Nix labels differ from its layer's",
                    {{"key", chains[i]}, {"digest", layers[i].digest}});
      }
    }
    for (size_t i = chains.size(); i-- > stale;) {
      Status st = client_.removeSnapshot(ctx_, options_.snapshotter, chains[i]);
      if (st.code() == ErrorCode::FailedPrecondition) {
        return failedPrecondition(
            "snapshot " + chains[stale] + " of layer " + layers[stale].digest +
            " exists in snapshotter " + options_.snapshotter +
            " without the Nix labels its annotations require (an ordinary import, such as "
            "`ctr image import`, unpacked it), and snapshot " +
            chains[i] + " cannot be removed because others build on it (" + st.message() +
            "); remove the containers using it, then `ctr -n " + ctx_.ns +
            " snapshots --snapshotter " + options_.snapshotter + " rm " + chains[i] +
            "` (children first) and load again");
      }
      if (!st.isOk() && st.code() != ErrorCode::NotFound) {
        return st.wrap("removing snapshot " + chains[i] + " that lacks its Nix labels");
      }
      report(layerEvent(Kind::LayerReplaced, layers[i].digest, i + 1, layers.size()));
      NIXSNAP_LOG(Info, "removed snapshot without the Nix labels of its layer",
                  {{"key", chains[i]}, {"digest", layers[i].digest}});
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

  void reportNamed(const std::string& name) const {
    report(namedEvent(Kind::ImageNamed, layout_.image.manifest_desc.digest, name));
  }

 private:
  containerd::ContainerdClient& client_;
  const oci::Layout& layout_;
  const LoadOptions& options_;
  CallContext ctx_;
  const Clock& clock_;
  Random& random_;
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

ContainerdLoader::ContainerdLoader(containerd::ContainerdClientPtr client, fs::path tmp_dir,
                                   ClockPtr clock, RandomPtr random)
    : client_(std::move(client)),
      tmp_dir_(tmp_dir.empty() ? tempDirFromEnvironment() : std::move(tmp_dir)),
      clock_(clock != nullptr ? std::move(clock) : makeSystemClock()),
      random_(random != nullptr ? std::move(random) : makeSystemRandom()) {}

Result<std::vector<LoadedImage>> ContainerdLoader::load(const fs::path& archive,
                                                        const LoadOptions& options) {
  auto work = TempDir::create(tmp_dir_, "nix2container-load-");
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
  NIXSNAP_RETURN_IF_ERROR(
      LoadJob(*client_, *layout, options, ctx, *clock_, *random_).replaceStale(chains));
  // Fast path: every name already points at this manifest and the top layer is unpacked
  // (with its Nix labels: replaceStale removed it otherwise).
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

  std::string lease = "nix2container-" + randomHex(*random_, 16);
  NIXSNAP_RETURN_IF_ERROR(client_->createLease(
      ctx, lease, {{kGcExpire, rfc3339(clock_->now() + std::chrono::hours(24))}}));
  ScopeGuard drop_lease([&] {
    Status st = client_->deleteLease(ctx, lease);
    if (!st.isOk()) {
      NIXSNAP_LOG(Warn, "failed to delete lease", {{"id", lease}, {"error", st.message()}});
    }
  });
  LoadJob job(*client_, *layout, options, CallContext{options.ns, lease}, *clock_, *random_);
  NIXSNAP_RETURN_IF_ERROR(job.writeAllContent(top));
  NIXSNAP_RETURN_IF_ERROR(job.unpack(chains));
  for (const auto& n : names) {
    NIXSNAP_RETURN_IF_ERROR(job.putImage(n));
    job.reportNamed(n);
    NIXSNAP_LOG(Info, "image loaded", {{"image", n}, {"digest", img.manifest_desc.digest}});
  }
  return loaded;
}

}  // namespace nixsnap::image
