#pragma once

// The generated stubs GrpcContainerdClient talks through. Private to the adapter: only
// grpc_client.cc and the adapter's own tests include it; everything else sees the
// proto-free containerd/client.h and containerd/grpc_client.h.

#include <memory>

#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"

namespace nixsnap::containerd {

/// Tests pass GoogleMock stubs (*_mock.grpc.pb.h), production passes stubs on one channel.
struct Stubs {
  std::unique_ptr<::containerd::services::content::v1::Content::StubInterface> content;
  std::unique_ptr<::containerd::services::images::v1::Images::StubInterface> images;
  std::unique_ptr<::containerd::services::snapshots::v1::Snapshots::StubInterface> snapshots;
  std::unique_ptr<::containerd::services::diff::v1::Diff::StubInterface> diff;
  std::unique_ptr<::containerd::services::leases::v1::Leases::StubInterface> leases;
  std::unique_ptr<::containerd::services::version::v1::Version::StubInterface> version;
  std::unique_ptr<::containerd::services::introspection::v1::Introspection::StubInterface>
      introspection;
};

}  // namespace nixsnap::containerd
