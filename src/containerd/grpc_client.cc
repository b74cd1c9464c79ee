#include "containerd/grpc_client.h"

#include <fcntl.h>
#include <google/protobuf/empty.pb.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cerrno>

#include "common/unique_fd.h"
#include "containerd/grpc_stubs.h"
#include "rpc/grpc_status.h"

namespace nixsnap::containerd {
namespace {

namespace content = ::containerd::services::content::v1;
namespace images = ::containerd::services::images::v1;
namespace snapshots = ::containerd::services::snapshots::v1;
namespace diff = ::containerd::services::diff::v1;
namespace leases = ::containerd::services::leases::v1;
namespace version = ::containerd::services::version::v1;
namespace introspection = ::containerd::services::introspection::v1;

constexpr size_t kWriteChunkBytes = 1 << 20;

Descriptor fromProto(const ::containerd::types::Descriptor& d) {
  return {d.media_type(), d.digest(), d.size(),
          StringMap(d.annotations().begin(), d.annotations().end())};
}

void toProto(const Descriptor& d, ::containerd::types::Descriptor* out) {
  out->set_media_type(d.media_type);
  out->set_digest(d.digest);
  out->set_size(d.size);
  out->mutable_annotations()->insert(d.annotations.begin(), d.annotations.end());
}

Image fromProto(const images::Image& i) {
  return {i.name(), StringMap(i.labels().begin(), i.labels().end()), fromProto(i.target())};
}

void toProto(const Image& i, images::Image* out) {
  out->set_name(i.name);
  out->mutable_labels()->insert(i.labels.begin(), i.labels.end());
  toProto(i.target, out->mutable_target());
}

std::vector<Mount> fromProto(
    const google::protobuf::RepeatedPtrField<::containerd::types::Mount>& ms) {
  std::vector<Mount> out;
  for (const auto& m : ms) {
    out.push_back({m.type(), m.source(), m.target(), {m.options().begin(), m.options().end()}});
  }
  return out;
}

}  // namespace

GrpcContainerdClient::GrpcContainerdClient(std::string address, std::unique_ptr<Stubs> stubs,
                                           std::chrono::milliseconds timeout)
    : address_(std::move(address)), stubs_(std::move(stubs)), timeout_(timeout) {}

GrpcContainerdClient::~GrpcContainerdClient() = default;

void GrpcContainerdClient::prepare(grpc::ClientContext& gctx, const CallContext& ctx) const {
  gctx.AddMetadata("containerd-namespace", ctx.ns);
  if (!ctx.lease.empty()) {
    gctx.AddMetadata("containerd-lease", ctx.lease);
  }
  gctx.set_deadline(std::chrono::system_clock::now() + timeout_);
}

Status GrpcContainerdClient::convert(const grpc::Status& st, const std::string& what) const {
  if (st.ok()) {
    return Status::ok();
  }
  Status s = rpc::fromGrpc(st);
  if (s.code() == ErrorCode::Unavailable) {
    return unavailable(what + ": containerd at " + address_ +
                       " is unavailable: " + st.error_message());
  }
  if (st.error_message().empty()) {
    // e.g. UNIMPLEMENTED from a gRPC server that is not containerd.
    return Status(s.code(), what + ": " + address_ + " answered " +
                                std::string(errorCodeName(s.code())) + " with no message (is " +
                                address_ + " a containerd socket?)");
  }
  return s.wrap(what);
}

Status GrpcContainerdClient::unary(
    const CallContext& ctx, const std::string& what,
    const std::function<grpc::Status(grpc::ClientContext*)>& rpc) const {
  grpc::ClientContext gctx;
  prepare(gctx, ctx);
  return convert(rpc(&gctx), what);
}

Result<std::string> GrpcContainerdClient::version(const CallContext& ctx) {
  google::protobuf::Empty req;
  version::VersionResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "version", [&](grpc::ClientContext* g) {
    return stubs_->version->Version(g, req, &resp);
  }));
  return resp.version();
}

Result<ContentInfo> GrpcContainerdClient::contentInfo(const CallContext& ctx,
                                                      const std::string& digest) {
  content::InfoRequest req;
  req.set_digest(digest);
  content::InfoResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "content info " + digest, [&](grpc::ClientContext* g) {
    return stubs_->content->Info(g, req, &resp);
  }));
  return ContentInfo{resp.info().digest(), resp.info().size(),
                     StringMap(resp.info().labels().begin(), resp.info().labels().end())};
}

Status GrpcContainerdClient::writeContent(const CallContext& ctx, const std::string& ref,
                                          const fs::path& blob, const std::string& expected,
                                          int64_t size, const StringMap& labels) {
  UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return errnoStatus(errno, "opening " + blob.string());
  }
  grpc::ClientContext gctx;
  prepare(gctx, ctx);
  auto stream = stubs_->content->Write(&gctx);
  std::string what = "writing content " + expected;
  // containerd's server sends the last response once more when it returns; drain every
  // pending message or Finish() waits forever.
  auto finish = [&]() {
    content::WriteContentResponse drain;
    while (stream->Read(&drain)) {
    }
    return convert(stream->Finish(), what);
  };
  content::WriteContentRequest req;
  content::WriteContentResponse resp;
  req.set_action(content::STAT);
  req.set_ref(ref);
  req.set_total(size);
  req.set_expected(expected);
  if (!stream->Write(req) || !stream->Read(&resp)) {
    stream->WritesDone();
    Status st = finish();
    return st.code() == ErrorCode::AlreadyExists ? Status::ok() : st;
  }
  int64_t offset = resp.offset();
  if (offset > size || ::lseek(fd.get(), offset, SEEK_SET) < 0) {
    offset = 0;
    ::lseek(fd.get(), 0, SEEK_SET);
  }
  std::string buf(kWriteChunkBytes, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      stream->WritesDone();
      (void)stream->Finish();
      return errnoStatus(errno, "reading " + blob.string());
    }
    bool last = n == 0 || offset + n >= size;
    req.Clear();
    req.set_action(last ? content::COMMIT : content::WRITE);
    req.set_ref(ref);
    req.set_offset(offset);
    req.set_data(buf.data(), static_cast<size_t>(n));
    if (last) {
      req.set_total(size);
      req.set_expected(expected);
      req.mutable_labels()->insert(labels.begin(), labels.end());
    }
    if (!stream->Write(req) || !stream->Read(&resp)) {
      stream->WritesDone();
      Status st = finish();
      if (st.isOk()) {
        return internalError(what + ": stream ended early");
      }
      return st.code() == ErrorCode::AlreadyExists ? Status::ok() : st;
    }
    offset += n;
    if (last) {
      break;
    }
  }
  stream->WritesDone();
  Status st = finish();
  if (st.code() == ErrorCode::AlreadyExists) {
    return Status::ok();
  }
  NIXSNAP_RETURN_IF_ERROR(st);
  if (!resp.digest().empty() && resp.digest() != expected) {
    return invalidArgument(what + ": containerd committed digest " + resp.digest());
  }
  return Status::ok();
}

Result<std::string> GrpcContainerdClient::readContent(const CallContext& ctx,
                                                      const std::string& digest,
                                                      int64_t max_bytes) {
  auto info = contentInfo(ctx, digest);
  if (!info.isOk()) {
    return info.status();
  }
  if (info->size > max_bytes) {
    return invalidArgument("reading content " + digest + ": " + std::to_string(info->size) +
                           " bytes, more than " + std::to_string(max_bytes));
  }
  grpc::ClientContext gctx;
  prepare(gctx, ctx);
  content::ReadContentRequest req;
  req.set_digest(digest);
  auto reader = stubs_->content->Read(&gctx, req);
  content::ReadContentResponse resp;
  std::string out;
  while (reader->Read(&resp)) {
    out += resp.data();
    if (static_cast<int64_t>(out.size()) > max_bytes) {
      gctx.TryCancel();
      (void)reader->Finish();
      return invalidArgument("reading content " + digest + ": larger than announced");
    }
  }
  NIXSNAP_RETURN_IF_ERROR(convert(reader->Finish(), "reading content " + digest));
  return out;
}

Status GrpcContainerdClient::updateContentLabels(const CallContext& ctx, const std::string& digest,
                                                 const StringMap& labels,
                                                 const std::vector<std::string>& field_paths) {
  content::UpdateRequest req;
  req.mutable_info()->set_digest(digest);
  req.mutable_info()->mutable_labels()->insert(labels.begin(), labels.end());
  for (const auto& f : field_paths) {
    req.mutable_update_mask()->add_paths(f);
  }
  content::UpdateResponse resp;
  return unary(ctx, "labelling content " + digest,
               [&](grpc::ClientContext* g) { return stubs_->content->Update(g, req, &resp); });
}

Result<Image> GrpcContainerdClient::getImage(const CallContext& ctx, const std::string& name) {
  images::GetImageRequest req;
  req.set_name(name);
  images::GetImageResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "getting image " + name, [&](grpc::ClientContext* g) {
    return stubs_->images->Get(g, req, &resp);
  }));
  return fromProto(resp.image());
}

Result<Image> GrpcContainerdClient::createImage(const CallContext& ctx, const Image& image) {
  images::CreateImageRequest req;
  toProto(image, req.mutable_image());
  images::CreateImageResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "creating image " + image.name, [&](grpc::ClientContext* g) {
    return stubs_->images->Create(g, req, &resp);
  }));
  return fromProto(resp.image());
}

Result<Image> GrpcContainerdClient::updateImage(const CallContext& ctx, const Image& image,
                                                const std::vector<std::string>& field_paths) {
  images::UpdateImageRequest req;
  toProto(image, req.mutable_image());
  for (const auto& f : field_paths) {
    req.mutable_update_mask()->add_paths(f);
  }
  images::UpdateImageResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "updating image " + image.name, [&](grpc::ClientContext* g) {
    return stubs_->images->Update(g, req, &resp);
  }));
  return fromProto(resp.image());
}

Status GrpcContainerdClient::deleteImage(const CallContext& ctx, const std::string& name) {
  images::DeleteImageRequest req;
  req.set_name(name);
  google::protobuf::Empty resp;
  return unary(ctx, "deleting image " + name,
               [&](grpc::ClientContext* g) { return stubs_->images->Delete(g, req, &resp); });
}

Result<std::vector<Mount>> GrpcContainerdClient::prepareSnapshot(const CallContext& ctx,
                                                                 const std::string& snapshotter,
                                                                 const std::string& key,
                                                                 const std::string& parent,
                                                                 const StringMap& labels) {
  snapshots::PrepareSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  req.set_parent(parent);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  snapshots::PrepareSnapshotResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "preparing snapshot " + key, [&](grpc::ClientContext* g) {
    return stubs_->snapshots->Prepare(g, req, &resp);
  }));
  return fromProto(resp.mounts());
}

Status GrpcContainerdClient::commitSnapshot(const CallContext& ctx, const std::string& snapshotter,
                                            const std::string& name, const std::string& key,
                                            const StringMap& labels) {
  snapshots::CommitSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_name(name);
  req.set_key(key);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  google::protobuf::Empty resp;
  return unary(ctx, "committing snapshot " + name,
               [&](grpc::ClientContext* g) { return stubs_->snapshots->Commit(g, req, &resp); });
}

Result<SnapshotInfo> GrpcContainerdClient::statSnapshot(const CallContext& ctx,
                                                        const std::string& snapshotter,
                                                        const std::string& key) {
  snapshots::StatSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  snapshots::StatSnapshotResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "stat snapshot " + key, [&](grpc::ClientContext* g) {
    return stubs_->snapshots->Stat(g, req, &resp);
  }));
  const auto& i = resp.info();
  return SnapshotInfo{i.name(), i.parent(), static_cast<int>(i.kind()),
                      StringMap(i.labels().begin(), i.labels().end())};
}

Status GrpcContainerdClient::removeSnapshot(const CallContext& ctx, const std::string& snapshotter,
                                            const std::string& key) {
  snapshots::RemoveSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  google::protobuf::Empty resp;
  return unary(ctx, "removing snapshot " + key,
               [&](grpc::ClientContext* g) { return stubs_->snapshots->Remove(g, req, &resp); });
}

Result<Descriptor> GrpcContainerdClient::applyDiff(const CallContext& ctx, const Descriptor& layer,
                                                   const std::vector<Mount>& mounts) {
  diff::ApplyRequest req;
  toProto(layer, req.mutable_diff());
  for (const auto& m : mounts) {
    auto* pm = req.add_mounts();
    pm->set_type(m.type);
    pm->set_source(m.source);
    pm->set_target(m.target);
    for (const auto& o : m.options) {
      pm->add_options(o);
    }
  }
  diff::ApplyResponse resp;
  NIXSNAP_RETURN_IF_ERROR(unary(ctx, "applying layer " + layer.digest, [&](grpc::ClientContext* g) {
    return stubs_->diff->Apply(g, req, &resp);
  }));
  return fromProto(resp.applied());
}

Status GrpcContainerdClient::createLease(const CallContext& ctx, const std::string& id,
                                         const StringMap& labels) {
  leases::CreateRequest req;
  req.set_id(id);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  leases::CreateResponse resp;
  return unary(ctx, "creating lease " + id,
               [&](grpc::ClientContext* g) { return stubs_->leases->Create(g, req, &resp); });
}

Status GrpcContainerdClient::deleteLease(const CallContext& ctx, const std::string& id) {
  leases::DeleteRequest req;
  req.set_id(id);
  google::protobuf::Empty resp;
  return unary(ctx, "deleting lease " + id,
               [&](grpc::ClientContext* g) { return stubs_->leases->Delete(g, req, &resp); });
}

Status GrpcContainerdClient::addLeaseResource(const CallContext& ctx, const std::string& id,
                                              const std::string& resource_id,
                                              const std::string& type) {
  leases::AddResourceRequest req;
  req.set_id(id);
  req.mutable_resource()->set_id(resource_id);
  req.mutable_resource()->set_type(type);
  google::protobuf::Empty resp;
  const std::string what = "adding " + type + " " + resource_id + " to lease " + id;
  return unary(ctx, what,
               [&](grpc::ClientContext* g) { return stubs_->leases->AddResource(g, req, &resp); });
}

Result<ServerInfo> GrpcContainerdClient::serverInfo(const CallContext& ctx) {
  google::protobuf::Empty req;
  introspection::ServerResponse resp;
  NIXSNAP_RETURN_IF_ERROR(
      unary(ctx, "asking containerd's introspection service",
            [&](grpc::ClientContext* g) { return stubs_->introspection->Server(g, req, &resp); }));
  return ServerInfo{resp.uuid(), resp.pid(), resp.pidns()};
}

Status checkContainerdAddress(const std::string& address) {
  std::string path = address.rfind("unix://", 0) == 0 ? address.substr(7) : address;
  if (path.empty() || path.front() != '/') {
    return invalidArgument("containerd address \"" + address +
                           "\" must be an absolute socket path or unix:///absolute/path");
  }
  return Status::ok();
}

Status checkContainerdNamespace(const std::string& ns) {
  if (ns.empty()) {
    return invalidArgument("namespace must not be empty");
  }
  return Status::ok();
}

ContainerdClientPtr makeGrpcContainerdClient(const std::string& address,
                                             std::chrono::milliseconds timeout) {
  std::string path = address.rfind("unix://", 0) == 0 ? address.substr(7) : address;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  args.SetMaxSendMessageSize(16 << 20);
  // containerd's server expects the :authority it sees from its own Go client.
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "localhost");
  auto channel =
      grpc::CreateCustomChannel("unix://" + path, grpc::InsecureChannelCredentials(), args);
  auto stubs = std::make_unique<Stubs>(
      Stubs{content::Content::NewStub(channel), images::Images::NewStub(channel),
            snapshots::Snapshots::NewStub(channel), diff::Diff::NewStub(channel),
            leases::Leases::NewStub(channel), version::Version::NewStub(channel),
            introspection::Introspection::NewStub(channel)});
  return std::make_shared<GrpcContainerdClient>(path, std::move(stubs), timeout);
}

}  // namespace nixsnap::containerd
