#pragma once

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/mount_plan.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

namespace detail {
namespace snapshotsv1 = ::containerd::services::snapshots::v1;
/// Stat and Mounts on gRPC's callback API (answered inline on gRPC's own threads, Mounts
/// as raw bytes); the other eight RPCs on the sync API (its own thread pool), because
/// they may run nix-store, fsync or walk directory trees.
using SnapshotsServiceBase = snapshotsv1::Snapshots::WithRawCallbackMethod_Mounts<
    snapshotsv1::Snapshots::WithCallbackMethod_Stat<snapshotsv1::Snapshots::Service>>;
}  // namespace detail

/// The gRPC face of a Snapshotter: containerd.services.snapshots.v1.Snapshots, as a
/// proxy snapshotter serves it to containerd. Converts proto <-> domain (timestamps,
/// kinds, field masks, mounts with target) and Status -> grpc::Status (rpc::toGrpc);
/// nothing else. The `snapshotter` field of requests is ignored (a proxy serves one).
/// List streams infos in batches of kListBatchSize. Thread-safe as the Snapshotter is.
///
/// Latency: Stat and Mounts are the calls containerd makes per container start and per
/// mount, and a proxy already pays an extra hop for them, so they skip the sync server's
/// thread hand-off (callback API, finished inline: both are short reads). Mounts builds
/// its reply as bytes (mounts_wire.h): when the Snapshotter is also a MountPlanner, the
/// binds of a committed parent chain are sent from a per-chain cached encoding without
/// copying (16,000 binds on a 16-layer chain); otherwise from Snapshotter::mounts().
class SnapshotsService final : public detail::SnapshotsServiceBase {
 public:
  /// @param snapshotter not owned; must outlive the service. Its MountPlanner capability
  ///                    (dynamic_cast) is used for Mounts when present.
  explicit SnapshotsService(Snapshotter& snapshotter);

  static constexpr int kListBatchSize = 100;
  /// A batch is also sent once its infos reach this many encoded bytes: nix layers carry
  /// thousands of labels, and gRPC clients refuse messages over 4 MiB (C++ default) or
  /// 16 MiB (containerd's garbage collector).
  static constexpr size_t kListBatchBytes = 1 << 20;

  grpc::Status Prepare(
      grpc::ServerContext* context,
      const ::containerd::services::snapshots::v1::PrepareSnapshotRequest* request,
      ::containerd::services::snapshots::v1::PrepareSnapshotResponse* response) override;
  grpc::Status View(grpc::ServerContext* context,
                    const ::containerd::services::snapshots::v1::ViewSnapshotRequest* request,
                    ::containerd::services::snapshots::v1::ViewSnapshotResponse* response) override;
  /// Raw callback: `request` is a serialized MountsRequest, `response` a serialized
  /// MountsResponse (see encodeMountsReply). INVALID_ARGUMENT for undecodable bytes.
  grpc::ServerUnaryReactor* Mounts(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::Status Commit(grpc::ServerContext* context,
                      const ::containerd::services::snapshots::v1::CommitSnapshotRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Remove(grpc::ServerContext* context,
                      const ::containerd::services::snapshots::v1::RemoveSnapshotRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* Stat(
      grpc::CallbackServerContext* context,
      const ::containerd::services::snapshots::v1::StatSnapshotRequest* request,
      ::containerd::services::snapshots::v1::StatSnapshotResponse* response) override;
  grpc::Status Update(
      grpc::ServerContext* context,
      const ::containerd::services::snapshots::v1::UpdateSnapshotRequest* request,
      ::containerd::services::snapshots::v1::UpdateSnapshotResponse* response) override;
  grpc::Status List(
      grpc::ServerContext* context,
      const ::containerd::services::snapshots::v1::ListSnapshotsRequest* request,
      grpc::ServerWriter<::containerd::services::snapshots::v1::ListSnapshotsResponse>* writer)
      override;
  grpc::Status Usage(grpc::ServerContext* context,
                     const ::containerd::services::snapshots::v1::UsageRequest* request,
                     ::containerd::services::snapshots::v1::UsageResponse* response) override;
  grpc::Status Cleanup(grpc::ServerContext* context,
                       const ::containerd::services::snapshots::v1::CleanupRequest* request,
                       google::protobuf::Empty* response) override;

 private:
  grpc::Status mountsReply(const grpc::ByteBuffer& request, grpc::ByteBuffer* response);

  Snapshotter& snapshotter_;
  MountPlanner* planner_;  ///< the snapshotter's capability, or null
};

}  // namespace nixsnap::snapshotter
