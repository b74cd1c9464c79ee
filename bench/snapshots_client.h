#pragma once

#include <grpcpp/channel.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace nixsnap::bench {

/// Where a benchmark sends its calls: a snapshots API endpoint plus the request fields and
/// gRPC metadata that select one snapshotter in it.
struct Target {
  std::string label;   ///< name in reports, e.g. "cd/nix"
  std::string socket;  ///< absolute unix socket path
  std::string
      snapshotter;  ///< request field `snapshotter` ("nix", "overlayfs"; ignored by proxies)
  std::string ns;   ///< `containerd-namespace` metadata; empty: not sent (direct socket)
};

/// Parses "LABEL=SOCKET,SNAPSHOTTER[,NAMESPACE]".
/// @return the target; InvalidArgument naming the spec when a part is missing.
Result<Target> parseTarget(const std::string& spec);

using Labels = std::map<std::string, std::string>;

/// A blocking client of containerd.services.snapshots.v1.Snapshots (and, when talking to
/// containerd, of its leases service) bound to one Target. One instance per thread; each
/// owns its channel so clients do not share one HTTP/2 connection.
class SnapshotsClient {
 public:
  /// Connects lazily to `target.socket`.
  explicit SnapshotsClient(Target target);
  ~SnapshotsClient();
  SnapshotsClient(const SnapshotsClient&) = delete;
  SnapshotsClient& operator=(const SnapshotsClient&) = delete;

  /// Sends `containerd-lease: id` with every later call (empty: none).
  void setLease(std::string id) { lease_ = std::move(id); }
  const Target& target() const { return target_; }

  /// Prepare; fills `mounts` (may be null) with the number of mounts returned.
  /// @return the RPC's status mapped with rpc::fromGrpc.
  Status prepare(const std::string& key, const std::string& parent, const Labels& labels,
                 size_t* mounts = nullptr);
  Status view(const std::string& key, const std::string& parent, size_t* mounts = nullptr);
  Status commit(const std::string& name, const std::string& key, const Labels& labels);
  Status mounts(const std::string& key, size_t* mounts = nullptr);
  /// Mounts without decoding the reply into messages: receives the wire bytes and counts
  /// the top-level `mounts` fields (field 1), so that a benchmark measures the server and
  /// not this client's protobuf parsing (containerd, the real client, decodes in Go).
  /// @param bytes may be null; set to the reply's size in bytes.
  Status mountsRaw(const std::string& key, size_t* mounts, size_t* bytes = nullptr);
  /// Mounts; fills `paths` with every host path they name (bind sources, overlay
  /// upperdir/workdir/lowerdir entries), for consistency checks.
  Status mountPaths(const std::string& key, std::vector<std::string>* paths);
  Status stat(const std::string& key);
  /// Cleanup: the snapshotter deletes what no record owns.
  Status cleanup();
  Status remove(const std::string& key);

  /// Creates a lease in the target's namespace (containerd only).
  /// @return the lease id; the RPC's error otherwise.
  Result<std::string> createLease();
  /// Deletes a lease; `sync` waits for containerd's garbage collection.
  Status deleteLease(const std::string& id, bool sync);

 private:
  struct Stubs;
  Target target_;
  std::string lease_;
  std::unique_ptr<Stubs> stubs_;
};

/// Waits (up to `timeout_ms`) until the socket answers a Stat with any reply.
Status waitReady(const Target& target, int timeout_ms);

}  // namespace nixsnap::bench
