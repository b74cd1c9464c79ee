#include "snapshotter/snapshots_service.h"

#include <google/protobuf/util/time_util.h>

#include "common/log.h"
#include "rpc/grpc_status.h"
#include "snapshotter/mounts_wire.h"

namespace nixsnap::snapshotter {

namespace pb = ::containerd::services::snapshots::v1;
using google::protobuf::util::TimeUtil;

namespace {

Labels toLabels(const google::protobuf::Map<std::string, std::string>& m) {
  return Labels(m.begin(), m.end());
}

void toProto(const Mount& m, containerd::types::Mount* out) {
  out->set_type(m.type);
  out->set_source(m.source);
  out->set_target(m.target);
  for (const std::string& o : m.options) {
    out->add_options(o);
  }
}

void toProto(const std::vector<Mount>& mounts,
             google::protobuf::RepeatedPtrField<containerd::types::Mount>* out) {
  out->Reserve(static_cast<int>(mounts.size()));
  for (const Mount& m : mounts) {
    toProto(m, out->Add());
  }
}

pb::Kind toProto(Kind k) {
  switch (k) {
    case Kind::View: return pb::VIEW;
    case Kind::Active: return pb::ACTIVE;
    case Kind::Committed: return pb::COMMITTED;
    default: return pb::UNKNOWN;
  }
}

Kind fromProto(pb::Kind k) {
  switch (k) {
    case pb::VIEW: return Kind::View;
    case pb::ACTIVE: return Kind::Active;
    case pb::COMMITTED: return Kind::Committed;
    default: return Kind::Unknown;
  }
}

google::protobuf::Timestamp toProto(std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return TimeUtil::NanosecondsToTimestamp(ns);
}

std::chrono::system_clock::time_point fromProto(const google::protobuf::Timestamp& t) {
  auto ns = std::chrono::nanoseconds(TimeUtil::TimestampToNanoseconds(t));
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(ns));
}

void toProto(const Info& info, pb::Info* out) {
  out->set_name(info.name);
  out->set_parent(info.parent);
  out->set_kind(toProto(info.kind));
  *out->mutable_created_at() = toProto(info.created);
  *out->mutable_updated_at() = toProto(info.updated);
  out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
}

Info fromProto(const pb::Info& in) {
  Info info;
  info.name = in.name();
  info.parent = in.parent();
  info.kind = fromProto(in.kind());
  info.created = fromProto(in.created_at());
  info.updated = fromProto(in.updated_at());
  info.labels = toLabels(in.labels());
  return info;
}

/// The caller gave up: it cancelled, went away, or its deadline passed. Polled by a
/// Prepare/View waiting for a realisation (null context in direct calls: never).
CancelToken cancelTokenOf(grpc::ServerContext* ctx) {
  if (ctx == nullptr) {
    return CancelToken();
  }
  return CancelToken(
      [ctx] { return ctx->IsCancelled() || std::chrono::system_clock::now() > ctx->deadline(); });
}

grpc::Status fail(std::string_view rpc, const std::string& key, const Status& st) {
  NIXSNAP_LOG(Debug, "snapshot rpc failed",
              {{"rpc", std::string(rpc)}, {"key", key}, {"error", st.toString()}});
  return rpc::toGrpc(st);
}

}  // namespace

SnapshotsService::SnapshotsService(Snapshotter& snapshotter)
    : snapshotter_(snapshotter), planner_(dynamic_cast<MountPlanner*>(&snapshotter)) {}

grpc::Status SnapshotsService::Prepare(grpc::ServerContext* ctx,
                                       const pb::PrepareSnapshotRequest* req,
                                       pb::PrepareSnapshotResponse* resp) {
  Result<std::vector<Mount>> m =
      snapshotter_.prepare(req->key(), req->parent(), toLabels(req->labels()), cancelTokenOf(ctx));
  if (!m.isOk()) {
    return fail("Prepare", req->key(), m.status());
  }
  toProto(*m, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::View(grpc::ServerContext* ctx, const pb::ViewSnapshotRequest* req,
                                    pb::ViewSnapshotResponse* resp) {
  Result<std::vector<Mount>> m =
      snapshotter_.view(req->key(), req->parent(), toLabels(req->labels()), cancelTokenOf(ctx));
  if (!m.isOk()) {
    return fail("View", req->key(), m.status());
  }
  toProto(*m, resp->mutable_mounts());
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* SnapshotsService::Mounts(grpc::CallbackServerContext* ctx,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(mountsReply(*request, response));
  return reactor;
}

grpc::Status SnapshotsService::mountsReply(const grpc::ByteBuffer& request,
                                           grpc::ByteBuffer* response) {
  pb::MountsRequest req;
  grpc::ByteBuffer copy(request);  // Deserialize consumes its buffer; this shares the slices
  if (!grpc::SerializationTraits<pb::MountsRequest>::Deserialize(&copy, &req).ok()) {
    return fail("Mounts", "", invalidArgument("decoding MountsRequest: malformed message"));
  }
  MountPlan plan;
  if (planner_ != nullptr) {
    Result<MountPlan> p = planner_->mountPlan(req.key());
    if (!p.isOk()) {
      return fail("Mounts", req.key(), p.status());
    }
    plan = std::move(*p);
  } else {
    Result<std::vector<Mount>> m = snapshotter_.mounts(req.key());
    if (!m.isOk()) {
      return fail("Mounts", req.key(), m.status());
    }
    plan.head = std::move(*m);
  }
  *response = encodeMountsReply(plan);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Commit(grpc::ServerContext*, const pb::CommitSnapshotRequest* req,
                                      google::protobuf::Empty*) {
  Status st = snapshotter_.commit(req->name(), req->key(), toLabels(req->labels()));
  return st.isOk() ? grpc::Status::OK : fail("Commit", req->key(), st);
}

grpc::Status SnapshotsService::Remove(grpc::ServerContext*, const pb::RemoveSnapshotRequest* req,
                                      google::protobuf::Empty*) {
  Status st = snapshotter_.remove(req->key());
  return st.isOk() ? grpc::Status::OK : fail("Remove", req->key(), st);
}

grpc::ServerUnaryReactor* SnapshotsService::Stat(grpc::CallbackServerContext* ctx,
                                                 const pb::StatSnapshotRequest* req,
                                                 pb::StatSnapshotResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Result<Info> info = snapshotter_.stat(req->key());
  if (!info.isOk()) {
    reactor->Finish(fail("Stat", req->key(), info.status()));
    return reactor;
  }
  toProto(*info, resp->mutable_info());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::Status SnapshotsService::Update(grpc::ServerContext*, const pb::UpdateSnapshotRequest* req,
                                      pb::UpdateSnapshotResponse* resp) {
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  Result<Info> info = snapshotter_.update(fromProto(req->info()), paths);
  if (!info.isOk()) {
    return fail("Update", req->info().name(), info.status());
  }
  toProto(*info, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::List(grpc::ServerContext* ctx, const pb::ListSnapshotsRequest* req,
                                    grpc::ServerWriter<pb::ListSnapshotsResponse>* writer) {
  std::vector<std::string> filters(req->filters().begin(), req->filters().end());
  pb::ListSnapshotsResponse batch;
  size_t batch_bytes = 0;
  auto flush = [&]() -> Status {
    if (batch.info_size() == 0) {
      return Status::ok();
    }
    if (!writer->Write(batch)) {
      return Status(ErrorCode::Canceled, "listing snapshots: client went away");
    }
    batch.Clear();
    batch_bytes = 0;
    return Status::ok();
  };
  Status st = snapshotter_.walk(filters, [&](const Info& info) -> Status {
    if (ctx != nullptr && ctx->IsCancelled()) {
      return Status(ErrorCode::Canceled, "listing snapshots: cancelled");
    }
    pb::Info* out = batch.add_info();
    toProto(info, out);
    batch_bytes += out->ByteSizeLong();
    return batch.info_size() >= kListBatchSize || batch_bytes >= kListBatchBytes ? flush()
                                                                                 : Status::ok();
  });
  if (st.isOk()) {
    st = flush();
  }
  return st.isOk() ? grpc::Status::OK : fail("List", "", st);
}

grpc::Status SnapshotsService::Usage(grpc::ServerContext*, const pb::UsageRequest* req,
                                     pb::UsageResponse* resp) {
  Result<snapshotter::Usage> u = snapshotter_.usage(req->key());
  if (!u.isOk()) {
    return fail("Usage", req->key(), u.status());
  }
  resp->set_size(u->size_bytes);
  resp->set_inodes(u->inodes);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::Cleanup(grpc::ServerContext*, const pb::CleanupRequest*,
                                       google::protobuf::Empty*) {
  Status st = snapshotter_.cleanup();
  return st.isOk() ? grpc::Status::OK : fail("Cleanup", "", st);
}

}  // namespace nixsnap::snapshotter
