#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "containerd/client.h"

namespace grpc {
class ClientContext;
class Status;
}  // namespace grpc

namespace nixsnap::containerd {

/// The generated stubs (containerd/grpc_stubs.h, private to this adapter: no generated
/// header reaches the folders that use the client).
struct Stubs;

/// ContainerdClient over containerd's gRPC API. Every call carries the
/// `containerd-namespace` header (and `containerd-lease` when the context names one),
/// has a deadline, and fails fast: when containerd is down the call returns Unavailable
/// naming `address` at once (gRPC channels reconnect by themselves on the next call).
class GrpcContainerdClient : public ContainerdClient {
 public:
  GrpcContainerdClient(std::string address, std::unique_ptr<Stubs> stubs,
                       std::chrono::milliseconds timeout = std::chrono::minutes(5));
  ~GrpcContainerdClient() override;

  Result<std::string> version(const CallContext& ctx) override;
  Result<ContentInfo> contentInfo(const CallContext& ctx, const std::string& digest) override;
  Status writeContent(const CallContext& ctx, const std::string& ref, const fs::path& blob,
                      const std::string& expected_digest, int64_t size_bytes,
                      const StringMap& labels) override;
  Result<std::string> readContent(const CallContext& ctx, const std::string& digest,
                                  int64_t max_bytes) override;
  Status updateContentLabels(const CallContext& ctx, const std::string& digest,
                             const StringMap& labels,
                             const std::vector<std::string>& field_paths) override;
  Result<Image> getImage(const CallContext& ctx, const std::string& name) override;
  Result<Image> createImage(const CallContext& ctx, const Image& image) override;
  Result<Image> updateImage(const CallContext& ctx, const Image& image,
                            const std::vector<std::string>& field_paths) override;
  Status deleteImage(const CallContext& ctx, const std::string& name) override;
  Result<std::vector<Mount>> prepareSnapshot(const CallContext& ctx, const std::string& snapshotter,
                                             const std::string& key, const std::string& parent,
                                             const StringMap& labels) override;
  Status commitSnapshot(const CallContext& ctx, const std::string& snapshotter,
                        const std::string& name, const std::string& key,
                        const StringMap& labels) override;
  Result<SnapshotInfo> statSnapshot(const CallContext& ctx, const std::string& snapshotter,
                                    const std::string& key) override;
  Status removeSnapshot(const CallContext& ctx, const std::string& snapshotter,
                        const std::string& key) override;
  Result<Descriptor> applyDiff(const CallContext& ctx, const Descriptor& layer,
                               const std::vector<Mount>& mounts) override;
  Status createLease(const CallContext& ctx, const std::string& id,
                     const StringMap& labels) override;
  Status deleteLease(const CallContext& ctx, const std::string& id) override;
  Status addLeaseResource(const CallContext& ctx, const std::string& id,
                          const std::string& resource_id, const std::string& type) override;
  Result<ServerInfo> serverInfo(const CallContext& ctx) override;

 private:
  void prepare(grpc::ClientContext& gctx, const CallContext& ctx) const;
  Status convert(const grpc::Status& st, const std::string& what) const;
  /// One unary call: a context with namespace, lease and deadline, then `rpc` on it,
  /// its status converted with `what` as context.
  Status unary(const CallContext& ctx, const std::string& what,
               const std::function<grpc::Status(grpc::ClientContext*)>& rpc) const;

  std::string address_;
  std::unique_ptr<Stubs> stubs_;
  std::chrono::milliseconds timeout_;
};

/// Checks a containerd address before connecting: an absolute socket path, optionally
/// prefixed with "unix://". @return InvalidArgument naming the address otherwise.
Status checkContainerdAddress(const std::string& address);

/// Checks a containerd namespace name. @return InvalidArgument
/// "namespace must not be empty" for "".
Status checkContainerdNamespace(const std::string& ns);

/// Connects (lazily) to containerd's unix socket `address` (absolute path, with or
/// without "unix://").
/// @param timeout deadline of each call.
ContainerdClientPtr makeGrpcContainerdClient(
    const std::string& address, std::chrono::milliseconds timeout = std::chrono::minutes(5));

}  // namespace nixsnap::containerd
