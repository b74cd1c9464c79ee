#include "snapshotter/mounts_wire.h"

#include <grpcpp/support/slice.h>

#include <memory>

#include "containerd/services/snapshots/v1/snapshots.pb.h"

namespace nixsnap::snapshotter {

namespace pb = ::containerd::services::snapshots::v1;

namespace {

void releaseChain(void* user_data) { delete static_cast<BindChainPtr*>(user_data); }

}  // namespace

std::string encodeBindMounts(const std::vector<fs::path>& paths) {
  pb::MountsResponse resp;
  resp.mutable_mounts()->Reserve(static_cast<int>(paths.size()));
  for (const fs::path& p : paths) {
    containerd::types::Mount* m = resp.add_mounts();
    m->set_type("bind");
    m->set_source(p.string());
    m->set_target(p.string());
    m->add_options("ro");
    m->add_options("rbind");
  }
  return resp.SerializeAsString();
}

grpc::ByteBuffer encodeMountsReply(const MountPlan& plan) {
  pb::MountsResponse head;
  head.mutable_mounts()->Reserve(static_cast<int>(plan.head.size()));
  for (const Mount& m : plan.head) {
    containerd::types::Mount* out = head.add_mounts();
    out->set_type(m.type);
    out->set_source(m.source);
    out->set_target(m.target);
    for (const std::string& o : m.options) {
      out->add_options(o);
    }
  }
  grpc::Slice slices[2] = {grpc::Slice(head.SerializeAsString()), grpc::Slice()};
  size_t n = 1;
  if (plan.chain) {
    const std::string& bytes = plan.chain->encoded(encodeBindMounts);
    if (!bytes.empty()) {
      // gRPC never writes through the pointer; the slice owns one reference to the chain.
      slices[1] = grpc::Slice(const_cast<char*>(bytes.data()), bytes.size(), releaseChain,
                              new BindChainPtr(plan.chain));
      n = 2;
    }
  }
  return grpc::ByteBuffer(slices, n);
}

}  // namespace nixsnap::snapshotter
