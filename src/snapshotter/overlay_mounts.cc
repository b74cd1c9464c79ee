// Mount construction of OverlaySnapshotter (containerd's overlay snapshotter `mounts`,
// plus the Nix store binds).
#include <string>

#include "snapshotter/mountpoints.h"
#include "snapshotter/overlay_snapshotter.h"

namespace nixsnap::snapshotter {

std::vector<Mount> OverlaySnapshotter::baseMounts(const metadata::Snapshot& s) const {
  if (s.parent_ids.empty()) {
    // A single layer cannot be an overlay: bind its directory.
    return {
        Mount{"bind", upperPath(s.id).string(), "", {s.kind == Kind::View ? "ro" : "rw", "rbind"}}};
  }
  if (s.kind != Kind::Active && s.parent_ids.size() == 1) {
    return {Mount{"bind", upperPath(s.parent_ids.front()).string(), "", {"ro", "rbind"}}};
  }
  std::vector<std::string> options;
  if (config_.index_off && !config_.fuse_overlayfs) {
    options.emplace_back("index=off");
  }
  if (config_.userxattr && !config_.fuse_overlayfs) {
    options.emplace_back("userxattr");  // trusted.* xattrs are root-only in a user namespace
  }
  if (s.kind == Kind::Active) {
    options.push_back("workdir=" + workPath(s.id).string());
    options.push_back("upperdir=" + upperPath(s.id).string());
  }
  std::string lower = "lowerdir=";
  for (size_t i = 0; i < s.parent_ids.size(); ++i) {
    if (i > 0) {
      lower += ':';
    }
    lower += upperPath(s.parent_ids[i]).string();
  }
  options.push_back(std::move(lower));
  return {Mount{config_.fuse_overlayfs ? "fuse3.fuse-overlayfs" : "overlay", "overlay", "",
                std::move(options)}};
}

Status OverlaySnapshotter::matchMountpoints(const metadata::Snapshot& s,
                                            const std::vector<Mount>& mounts) const {
  std::vector<fs::path> targets;
  for (const Mount& m : mounts) {
    if (!m.target.empty()) {
      targets.emplace_back(m.target);
    }
  }
  if (targets.empty()) {
    return Status::ok();
  }
  fs::path upper;
  if (s.kind == Kind::Active || s.parent_ids.empty()) {
    upper = upperPath(s.id);  // what is mounted on top: writable here
  }
  std::vector<fs::path> lowers;
  lowers.reserve(s.parent_ids.size());
  for (int64_t id : s.parent_ids) {
    lowers.push_back(upperPath(id));
  }
  return ensureMountpoints(config_.store_dir, upper, lowers, targets);
}

Result<MountPlan> OverlaySnapshotter::planMounts(metadata::Transaction& txn, const std::string& key,
                                                 const metadata::Snapshot& s) {
  MountPlan plan;
  plan.head = baseMounts(s);
  if (s.kind == Kind::Active && NixLayer::isNixLayer(s.labels)) {
    return plan;  // the unpacker writes mountpoints into it: no binds over them
  }
  int64_t parent_id = s.parent_ids.empty() ? 0 : s.parent_ids.front();
  auto load_chain = [&]() -> Result<std::vector<Labels>> {
    Result<std::vector<metadata::Record>> anc = txn.ancestors(key);
    if (!anc.isOk()) {
      return anc.status();
    }
    std::vector<Labels> labels;
    labels.reserve(anc->size());
    for (metadata::Record& r : *anc) {
      labels.push_back(std::move(r.info.labels));
    }
    return labels;
  };
  NIXSNAP_RETURN_IF_ERROR(nix_.planBinds(s.labels, parent_id, load_chain, plan));
  return plan;
}

Result<std::vector<Mount>> OverlaySnapshotter::fullMounts(metadata::Transaction& txn,
                                                          const std::string& key,
                                                          const metadata::Snapshot& s) {
  Result<MountPlan> plan = planMounts(txn, key, s);
  if (!plan.isOk()) {
    return plan.status();
  }
  return plan->flatten();
}

Result<MountPlan> OverlaySnapshotter::mountPlan(const std::string& key) {
  Result<metadata::TransactionPtr> txn = meta_->begin(false);
  if (!txn.isOk()) {
    return txn.status();
  }
  Result<metadata::Snapshot> s = (*txn)->getActive(key);
  if (!s.isOk()) {
    return s.status();
  }
  return planMounts(**txn, key, *s);
}

}  // namespace nixsnap::snapshotter
