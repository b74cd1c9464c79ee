#pragma once

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// The gRPC face of a Snapshotter: containerd.services.snapshots.v1.Snapshots, as a
/// proxy snapshotter serves it to containerd. Converts proto <-> domain (timestamps,
/// kinds, field masks, mounts with target) and Status -> grpc::Status (rpc::toGrpc);
/// nothing else. The `snapshotter` field of requests is ignored (a proxy serves one).
/// List streams infos in batches of kListBatchSize. Thread-safe as the Snapshotter is.
class SnapshotsService final : public containerd::services::snapshots::v1::Snapshots::Service {
 public:
  /// @param snapshotter not owned; must outlive the service.
  explicit SnapshotsService(Snapshotter& snapshotter);

  static constexpr int kListBatchSize = 100;

  grpc::Status Prepare(grpc::ServerContext* context,
                       const containerd::services::snapshots::v1::PrepareSnapshotRequest* request,
                       containerd::services::snapshots::v1::PrepareSnapshotResponse* response)
      override;
  grpc::Status View(grpc::ServerContext* context,
                    const containerd::services::snapshots::v1::ViewSnapshotRequest* request,
                    containerd::services::snapshots::v1::ViewSnapshotResponse* response) override;
  grpc::Status Mounts(grpc::ServerContext* context,
                      const containerd::services::snapshots::v1::MountsRequest* request,
                      containerd::services::snapshots::v1::MountsResponse* response) override;
  grpc::Status Commit(grpc::ServerContext* context,
                      const containerd::services::snapshots::v1::CommitSnapshotRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Remove(grpc::ServerContext* context,
                      const containerd::services::snapshots::v1::RemoveSnapshotRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Stat(grpc::ServerContext* context,
                    const containerd::services::snapshots::v1::StatSnapshotRequest* request,
                    containerd::services::snapshots::v1::StatSnapshotResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context,
                      const containerd::services::snapshots::v1::UpdateSnapshotRequest* request,
                      containerd::services::snapshots::v1::UpdateSnapshotResponse* response)
      override;
  grpc::Status List(
      grpc::ServerContext* context,
      const containerd::services::snapshots::v1::ListSnapshotsRequest* request,
      grpc::ServerWriter<containerd::services::snapshots::v1::ListSnapshotsResponse>* writer)
      override;
  grpc::Status Usage(grpc::ServerContext* context,
                     const containerd::services::snapshots::v1::UsageRequest* request,
                     containerd::services::snapshots::v1::UsageResponse* response) override;
  grpc::Status Cleanup(grpc::ServerContext* context,
                       const containerd::services::snapshots::v1::CleanupRequest* request,
                       google::protobuf::Empty* response) override;

 private:
  Snapshotter& snapshotter_;
};

}  // namespace nixsnap::snapshotter
