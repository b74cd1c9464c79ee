#include "mocks/containerd_mocks.h"

#include "oci/digest.h"

namespace nixsnap::testing {

MockContainerdClient::MockContainerdClient() = default;
MockContainerdClient::~MockContainerdClient() = default;
MockContainerdConfigSource::MockContainerdConfigSource() = default;
MockContainerdConfigSource::~MockContainerdConfigSource() = default;

Result<containerd::ContentInfo> FakeContainerdClient::contentInfo(const CallContext&,
                                                                  const std::string& d) {
  auto it = content.find(d);
  if (it == content.end()) {
    return notFound("content " + d + ": not found");
  }
  return it->second;
}

Status FakeContainerdClient::writeContent(const CallContext&, const std::string&,
                                          const fs::path& blob, const std::string& expected,
                                          int64_t size, const StringMap& labels) {
  ++writes;
  Result<oci::FileDigest> got = oci::digestFile(blob);
  if (!got.isOk()) {
    return got.status();
  }
  if (got->digest != expected || got->size != size) {
    return failedPrecondition("unexpected commit digest " + got->digest + ", expected " + expected);
  }
  content[expected] = {expected, size, labels};
  return Status::ok();
}

Status FakeContainerdClient::updateContentLabels(const CallContext&, const std::string& d,
                                                 const StringMap& labels,
                                                 const std::vector<std::string>&) {
  auto it = content.find(d);
  if (it == content.end()) {
    return notFound("content " + d);
  }
  for (const auto& [k, v] : labels) {
    it->second.labels[k] = v;
  }
  return Status::ok();
}

Result<containerd::Image> FakeContainerdClient::getImage(const CallContext&,
                                                         const std::string& name) {
  auto it = images.find(name);
  if (it == images.end()) {
    return notFound("image " + name);
  }
  return it->second;
}

Result<containerd::Image> FakeContainerdClient::createImage(const CallContext&,
                                                            const containerd::Image& i) {
  if (images.count(i.name) != 0) {
    return alreadyExists("image " + i.name);
  }
  images[i.name] = i;
  return i;
}

Result<containerd::Image> FakeContainerdClient::updateImage(const CallContext&,
                                                            const containerd::Image& i,
                                                            const std::vector<std::string>&) {
  if (images.count(i.name) == 0) {
    return notFound("image " + i.name);
  }
  images[i.name].target = i.target;
  return images[i.name];
}

Status FakeContainerdClient::deleteImage(const CallContext&, const std::string& name) {
  return images.erase(name) != 0 ? Status::ok() : notFound("image " + name);
}

Result<std::vector<containerd::Mount>> FakeContainerdClient::prepareSnapshot(
    const CallContext&, const std::string&, const std::string& key, const std::string& parent,
    const StringMap& labels) {
  ++prepares;
  if (snapshots.count(key) != 0) {
    return alreadyExists("snapshot " + key);
  }
  auto ref = labels.find("containerd.io/snapshot.ref");
  if (ref != labels.end() && snapshots.count(ref->second) != 0) {
    return alreadyExists("target snapshot " + ref->second);
  }
  if (!parent.empty() && (snapshots.count(parent) == 0 || !snapshots[parent].committed)) {
    return notFound("parent " + parent);
  }
  snapshots[key] = {parent, false, labels};
  return std::vector<containerd::Mount>{{"bind", "/fake/" + key, "", {"rw", "rbind"}}};
}

Status FakeContainerdClient::commitSnapshot(const CallContext&, const std::string&,
                                            const std::string& name, const std::string& key,
                                            const StringMap& labels) {
  commit_labels[name] = labels;
  auto it = snapshots.find(key);
  if (it == snapshots.end()) {
    return notFound("snapshot " + key);
  }
  if (snapshots.count(name) != 0) {
    return alreadyExists("snapshot " + name);
  }
  Snapshot s = it->second;
  s.committed = true;
  snapshots.erase(it);
  snapshots[name] = s;
  return Status::ok();
}

Result<containerd::SnapshotInfo> FakeContainerdClient::statSnapshot(const CallContext&,
                                                                    const std::string&,
                                                                    const std::string& key) {
  auto it = snapshots.find(key);
  if (it == snapshots.end()) {
    return notFound("snapshot " + key);
  }
  return containerd::SnapshotInfo{key, it->second.parent, it->second.committed ? 3 : 2,
                                  it->second.labels};
}

Status FakeContainerdClient::removeSnapshot(const CallContext&, const std::string&,
                                            const std::string& key) {
  for (const auto& [k, s] : snapshots) {
    if (s.parent == key) {  // as containerd: a snapshot with children cannot go
      return failedPrecondition("cannot remove snapshot " + key + ": has child " + k);
    }
  }
  ++removes;
  return snapshots.erase(key) != 0 ? Status::ok() : notFound("snapshot " + key);
}

Result<containerd::Descriptor> FakeContainerdClient::applyDiff(
    const CallContext&, const containerd::Descriptor& l, const std::vector<containerd::Mount>&) {
  if (l.digest == fail_apply_digest) {
    return internalError("apply " + l.digest + ": injected failure");
  }
  auto it = content.find(l.digest);
  if (it == content.end()) {
    return notFound("content " + l.digest);
  }
  return containerd::Descriptor{"application/vnd.oci.image.layer.v1.tar",
                                it->second.labels["containerd.io/uncompressed"],
                                0,
                                {}};
}

Status FakeContainerdClient::createLease(const CallContext&, const std::string& id,
                                         const StringMap&) {
  ++leases_created;
  return leases.insert(id).second ? Status::ok() : alreadyExists("lease " + id);
}

Status FakeContainerdClient::deleteLease(const CallContext&, const std::string& id) {
  return leases.erase(id) != 0 ? Status::ok() : notFound("lease " + id);
}

}  // namespace nixsnap::testing
