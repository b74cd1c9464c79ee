#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "mount/mount.h"

namespace nixsnap::containerd {

/// Labels or annotations: key to value.
using StringMap = std::map<std::string, std::string>;

/// Per-call scope: containerd namespace (gRPC header `containerd-namespace`) and, when
/// not empty, the lease new resources are attached to (header `containerd-lease`).
struct CallContext {
  std::string ns = "default";
  std::string lease;
};

/// containerd.types.Descriptor.
struct Descriptor {
  std::string media_type;
  std::string digest;  ///< "sha256:<64 hex>"
  int64_t size = 0;    ///< bytes
  StringMap annotations;
  bool operator==(const Descriptor&) const = default;
};

/// containerd.types.Mount.
using Mount = mount::Mount;

/// A blob's record in the content store.
struct ContentInfo {
  std::string digest;
  int64_t size = 0;
  StringMap labels;
};

/// An image record (images service).
struct Image {
  std::string name;
  StringMap labels;
  Descriptor target;
};

/// A snapshot record (snapshots service Stat).
struct SnapshotInfo {
  std::string name;
  std::string parent;
  int kind = 0;  ///< containerd Kind: 1 view, 2 active, 3 committed
  StringMap labels;
};

/// containerd's process as its introspection service reports it (Server).
struct ServerInfo {
  std::string uuid;
  uint64_t pid = 0;    ///< containerd's pid, in its pid namespace
  uint64_t pidns = 0;  ///< inode of that pid namespace
};

/// What nix2container and the CRI image service need of containerd, independent of gRPC.
/// Every method is thread-safe and maps containerd's errdefs classes onto ErrorCode
/// (NOT_FOUND -> NotFound, ALREADY_EXISTS -> AlreadyExists, ...); when containerd cannot
/// be reached the result is Unavailable with a message naming the socket address.
class ContainerdClient {
 public:
  virtual ~ContainerdClient() = default;

  /// containerd's version string, e.g. "1.7.24" (version service).
  /// @return Unavailable when the daemon is down.
  virtual Result<std::string> version(const CallContext& ctx) = 0;

  /// Content store Info of `digest` ("sha256:<hex>").
  /// @return NotFound when the blob is absent.
  virtual Result<ContentInfo> contentInfo(const CallContext& ctx, const std::string& digest) = 0;

  /// Streams the file `blob` (absolute path, read in chunks, never held in memory) into
  /// the content store under the write key `ref`, committing it with `expected_digest`
  /// and `size_bytes` so containerd verifies both; `labels` go onto the committed blob.
  /// @return Ok (also when the blob already exists); FailedPrecondition/InvalidArgument
  ///         when containerd rejects the digest or size; NotFound if `blob` is missing.
  virtual Status writeContent(const CallContext& ctx, const std::string& ref, const fs::path& blob,
                              const std::string& expected_digest, int64_t size_bytes,
                              const StringMap& labels) = 0;

  /// Reads a whole blob; refuses blobs larger than `max_bytes` with InvalidArgument.
  /// @return the bytes; NotFound when absent.
  virtual Result<std::string> readContent(const CallContext& ctx, const std::string& digest,
                                          int64_t max_bytes) = 0;

  /// Sets labels on a blob. `field_paths` as containerd: "labels.<key>" entries; a key
  /// absent from `labels` is removed. @return NotFound when absent.
  virtual Status updateContentLabels(const CallContext& ctx, const std::string& digest,
                                     const StringMap& labels,
                                     const std::vector<std::string>& field_paths) = 0;

  /// @return the image named `name`; NotFound.
  virtual Result<Image> getImage(const CallContext& ctx, const std::string& name) = 0;
  /// @return the created image; AlreadyExists when the name is taken.
  virtual Result<Image> createImage(const CallContext& ctx, const Image& image) = 0;
  /// Updates `field_paths` ("target", "labels", "labels.<key>"; empty = all).
  /// @return the updated image; NotFound.
  virtual Result<Image> updateImage(const CallContext& ctx, const Image& image,
                                    const std::vector<std::string>& field_paths) = 0;
  /// @return Ok; NotFound.
  virtual Status deleteImage(const CallContext& ctx, const std::string& name) = 0;

  /// Snapshots service Prepare on snapshotter `snapshotter`.
  /// @return the mounts; AlreadyExists (also containerd's "layer exists, skip" answer
  ///         to a `containerd.io/snapshot.ref` label); NotFound for a missing parent.
  virtual Result<std::vector<Mount>> prepareSnapshot(const CallContext& ctx,
                                                     const std::string& snapshotter,
                                                     const std::string& key,
                                                     const std::string& parent,
                                                     const StringMap& labels) = 0;
  /// Commits active `key` as `name`. @return AlreadyExists; NotFound; FailedPrecondition.
  virtual Status commitSnapshot(const CallContext& ctx, const std::string& snapshotter,
                                const std::string& name, const std::string& key,
                                const StringMap& labels) = 0;
  /// @return the snapshot; NotFound.
  virtual Result<SnapshotInfo> statSnapshot(const CallContext& ctx, const std::string& snapshotter,
                                            const std::string& key) = 0;
  /// @return Ok; NotFound; FailedPrecondition when it has children.
  virtual Status removeSnapshot(const CallContext& ctx, const std::string& snapshotter,
                                const std::string& key) = 0;

  /// Diff service Apply: unpacks layer `layer` (in the content store) onto `mounts`.
  /// @return the applied (uncompressed) descriptor: its digest is the layer's diff ID.
  virtual Result<Descriptor> applyDiff(const CallContext& ctx, const Descriptor& layer,
                                       const std::vector<Mount>& mounts) = 0;

  /// Creates lease `id` with `labels` (e.g. containerd.io/gc.expire).
  /// @return AlreadyExists for a used id.
  virtual Status createLease(const CallContext& ctx, const std::string& id,
                             const StringMap& labels) = 0;
  /// Deletes lease `id` (sync = false). @return NotFound.
  virtual Status deleteLease(const CallContext& ctx, const std::string& id) = 0;
  /// Adds a resource (`type` "content" or "snapshots/<snapshotter>") to lease `id`.
  virtual Status addLeaseResource(const CallContext& ctx, const std::string& id,
                                  const std::string& resource_id, const std::string& type) = 0;

  /// Introspection service Server: containerd's uuid, pid and pid namespace.
  /// @return Unavailable when the daemon is down.
  virtual Result<ServerInfo> serverInfo(const CallContext& ctx) = 0;
};
using ContainerdClientPtr = std::shared_ptr<ContainerdClient>;

}  // namespace nixsnap::containerd
