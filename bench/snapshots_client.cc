#include "bench/snapshots_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/rpc_method.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <thread>

#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "rpc/grpc_status.h"

namespace nixsnap::bench {

namespace snapshotsv1 = containerd::services::snapshots::v1;
namespace leasesv1 = containerd::services::leases::v1;

namespace {

constexpr auto kCallTimeout = std::chrono::seconds(120);

std::shared_ptr<grpc::Channel> dial(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A private connection per client: without this, channels to the same address share one
  // subchannel (and one HTTP/2 connection) inside the process.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix://" + socket, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

struct SnapshotsClient::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<snapshotsv1::Snapshots::Stub> snapshots;
  std::unique_ptr<leasesv1::Leases::Stub> leases;
};

Result<Target> parseTarget(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    return invalidArgument("parsing target \"" + spec + "\": want LABEL=SOCKET,SNAPSHOTTER[,NS]");
  }
  Target t;
  t.label = spec.substr(0, eq);
  std::vector<std::string> parts;
  std::string rest = spec.substr(eq + 1);
  size_t start = 0;
  while (true) {
    auto comma = rest.find(',', start);
    parts.push_back(
        rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return invalidArgument("parsing target \"" + spec + "\": want LABEL=SOCKET,SNAPSHOTTER[,NS]");
  }
  t.socket = parts[0];
  t.snapshotter = parts[1];
  if (parts.size() == 3) {
    t.ns = parts[2];
  }
  return t;
}

SnapshotsClient::SnapshotsClient(Target target)
    : target_(std::move(target)), stubs_(std::make_unique<Stubs>()) {
  stubs_->channel = dial(target_.socket);
  stubs_->snapshots = snapshotsv1::Snapshots::NewStub(stubs_->channel);
  stubs_->leases = leasesv1::Leases::NewStub(stubs_->channel);
}

SnapshotsClient::~SnapshotsClient() = default;

namespace {

void prepareContext(grpc::ClientContext& ctx, const Target& target, const std::string& lease) {
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  if (!target.ns.empty()) {
    ctx.AddMetadata("containerd-namespace", target.ns);
  }
  if (!lease.empty()) {
    ctx.AddMetadata("containerd-lease", lease);
  }
}

template <typename Msg>
void setLabels(Msg& msg, const Labels& labels) {
  for (const auto& [k, v] : labels) {
    (*msg.mutable_labels())[k] = v;
  }
}

}  // namespace

Status SnapshotsClient::prepare(const std::string& key, const std::string& parent,
                                const Labels& labels, size_t* mounts) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::PrepareSnapshotRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_key(key);
  req.set_parent(parent);
  setLabels(req, labels);
  snapshotsv1::PrepareSnapshotResponse resp;
  auto st = stubs_->snapshots->Prepare(&ctx, req, &resp);
  if (mounts != nullptr) {
    *mounts = static_cast<size_t>(resp.mounts_size());
  }
  return rpc::fromGrpc(st);
}

Status SnapshotsClient::view(const std::string& key, const std::string& parent, size_t* mounts) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::ViewSnapshotRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_key(key);
  req.set_parent(parent);
  snapshotsv1::ViewSnapshotResponse resp;
  auto st = stubs_->snapshots->View(&ctx, req, &resp);
  if (mounts != nullptr) {
    *mounts = static_cast<size_t>(resp.mounts_size());
  }
  return rpc::fromGrpc(st);
}

Status SnapshotsClient::commit(const std::string& name, const std::string& key,
                               const Labels& labels) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::CommitSnapshotRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_name(name);
  req.set_key(key);
  setLabels(req, labels);
  google::protobuf::Empty resp;
  return rpc::fromGrpc(stubs_->snapshots->Commit(&ctx, req, &resp));
}

Status SnapshotsClient::mounts(const std::string& key, size_t* mounts) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::MountsRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_key(key);
  snapshotsv1::MountsResponse resp;
  auto st = stubs_->snapshots->Mounts(&ctx, req, &resp);
  if (mounts != nullptr) {
    *mounts = static_cast<size_t>(resp.mounts_size());
  }
  return rpc::fromGrpc(st);
}

Status SnapshotsClient::mountPaths(const std::string& key, std::vector<std::string>* paths) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::MountsRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_key(key);
  snapshotsv1::MountsResponse resp;
  auto st = rpc::fromGrpc(stubs_->snapshots->Mounts(&ctx, req, &resp));
  for (const auto& m : resp.mounts()) {
    if (m.type() == "bind") {
      paths->push_back(m.source());
      continue;
    }
    for (const std::string& o : m.options()) {
      for (const char* opt : {"upperdir=", "workdir=", "lowerdir="}) {
        if (o.rfind(opt, 0) != 0) {
          continue;
        }
        std::string list = o.substr(std::string(opt).size());
        for (size_t start = 0;;) {
          size_t colon = list.find(':', start);
          paths->push_back(list.substr(start, colon == std::string::npos ? colon : colon - start));
          if (colon == std::string::npos) {
            break;
          }
          start = colon + 1;
        }
      }
    }
  }
  return st;
}

Status SnapshotsClient::cleanup() {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::CleanupRequest req;
  req.set_snapshotter(target_.snapshotter);
  google::protobuf::Empty resp;
  return rpc::fromGrpc(stubs_->snapshots->Cleanup(&ctx, req, &resp));
}

namespace {

/// Reads a base-128 varint at `p`; false when it runs past `end`.
bool readVarint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

/// Counts occurrences of length-delimited field 1 at the top level of a message.
Result<size_t> countField1(const std::string& wire) {
  const auto* p = reinterpret_cast<const uint8_t*>(wire.data());
  const auto* end = p + wire.size();
  size_t n = 0;
  while (p < end) {
    uint64_t tag = 0, len = 0;
    if (!readVarint(p, end, tag) || (tag & 7) != 2 || !readVarint(p, end, len) ||
        len > static_cast<uint64_t>(end - p)) {
      return internalError("decoding MountsResponse: unexpected wire data");
    }
    n += (tag >> 3) == 1 ? 1 : 0;
    p += len;
  }
  return n;
}

}  // namespace

Status SnapshotsClient::mountsRaw(const std::string& key, size_t* mounts, size_t* bytes) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::MountsRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_key(key);
  static const char kMethod[] = "/containerd.services.snapshots.v1.Snapshots/Mounts";
  grpc::internal::RpcMethod method(kMethod, grpc::internal::RpcMethod::NORMAL_RPC, stubs_->channel);
  grpc::ByteBuffer reply;
  auto st = grpc::internal::BlockingUnaryCall<snapshotsv1::MountsRequest, grpc::ByteBuffer>(
      stubs_->channel.get(), method, &ctx, req, &reply);
  if (!st.ok()) {
    return rpc::fromGrpc(st);
  }
  std::vector<grpc::Slice> slices;
  (void)reply.Dump(&slices);
  std::string wire;
  wire.reserve(reply.Length());
  for (const auto& s : slices) {
    wire.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  Result<size_t> n = countField1(wire);
  if (!n.isOk()) {
    return n.status();
  }
  if (mounts != nullptr) {
    *mounts = *n;
  }
  if (bytes != nullptr) {
    *bytes = wire.size();
  }
  return Status::ok();
}

Status SnapshotsClient::stat(const std::string& key) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::StatSnapshotRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_key(key);
  snapshotsv1::StatSnapshotResponse resp;
  return rpc::fromGrpc(stubs_->snapshots->Stat(&ctx, req, &resp));
}

Status SnapshotsClient::remove(const std::string& key) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, lease_);
  snapshotsv1::RemoveSnapshotRequest req;
  req.set_snapshotter(target_.snapshotter);
  req.set_key(key);
  google::protobuf::Empty resp;
  return rpc::fromGrpc(stubs_->snapshots->Remove(&ctx, req, &resp));
}

Result<std::string> SnapshotsClient::createLease() {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, "");
  leasesv1::CreateRequest req;
  leasesv1::CreateResponse resp;
  auto st = rpc::fromGrpc(stubs_->leases->Create(&ctx, req, &resp));
  if (!st.isOk()) {
    return st.wrap("creating lease on " + target_.socket);
  }
  return resp.lease().id();
}

Status SnapshotsClient::deleteLease(const std::string& id, bool sync) {
  grpc::ClientContext ctx;
  prepareContext(ctx, target_, "");
  leasesv1::DeleteRequest req;
  req.set_id(id);
  req.set_sync(sync);
  google::protobuf::Empty resp;
  return rpc::fromGrpc(stubs_->leases->Delete(&ctx, req, &resp));
}

Status waitReady(const Target& target, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  SnapshotsClient client(target);
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = client.stat("nixsnap-bench-readiness-probe");
    if (last.code() != ErrorCode::Unavailable) {
      return Status::ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last.wrap("waiting for " + target.socket);
}

}  // namespace nixsnap::bench
