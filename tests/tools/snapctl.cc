// snapctl: a small client of containerd's snapshots gRPC API, for integration tests that
// talk to nix-snapshotter directly (ctr cannot set labels at prepare time).
//
//   snapctl --address SOCK prepare KEY [PARENT] [--label K=V]... [--labels-file F]
//   snapctl --address SOCK view KEY PARENT [--label K=V]...
//   snapctl --address SOCK label KEY K=V...
//   snapctl --address SOCK mounts KEY | commit NAME KEY | remove KEY | stat KEY
//   snapctl --address SOCK list [FILTER]... | usage KEY | cleanup
//
// Mounts print one line each: "<type> <source> <target or -> <opt,opt,...>".
// Errors print "error: <GRPC_CODE>: <message>" on stderr and exit 1.
#include <grpcpp/create_channel.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"

namespace {

namespace pb = ::containerd::services::snapshots::v1;

const char* codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    default: return "UNKNOWN";
  }
}

int report(const grpc::Status& st) {
  if (st.ok()) {
    return 0;
  }
  std::cerr << "error: " << codeName(st.error_code()) << ": " << st.error_message() << "\n";
  return 1;
}

void printMounts(const google::protobuf::RepeatedPtrField<containerd::types::Mount>& mounts) {
  for (const auto& m : mounts) {
    std::string opts;
    for (const auto& o : m.options()) {
      opts += (opts.empty() ? "" : ",") + o;
    }
    std::cout << m.type() << " " << m.source() << " " << (m.target().empty() ? "-" : m.target())
              << " " << (opts.empty() ? "-" : opts) << "\n";
  }
}

const char* kindName(pb::Kind k) {
  switch (k) {
    case pb::VIEW: return "View";
    case pb::ACTIVE: return "Active";
    case pb::COMMITTED: return "Committed";
    default: return "Unknown";
  }
}

void printInfo(const pb::Info& info) {
  std::cout << "name=" << info.name() << " parent=" << info.parent()
            << " kind=" << kindName(info.kind()) << "\n";
  std::map<std::string, std::string> sorted(info.labels().begin(), info.labels().end());
  for (const auto& [k, v] : sorted) {
    std::cout << "label " << k << "=" << v << "\n";
  }
}

bool addLabels(const std::vector<std::string>& kvs, const std::string& file,
               google::protobuf::Map<std::string, std::string>* out) {
  auto add = [&](const std::string& kv) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::cerr << "error: label without '=': " << kv << "\n";
      return false;
    }
    (*out)[kv.substr(0, eq)] = kv.substr(eq + 1);
    return true;
  };
  for (const auto& kv : kvs) {
    if (!add(kv)) {
      return false;
    }
  }
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "error: cannot read " << file << "\n";
      return false;
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && !add(line)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"snapctl: containerd snapshots API client for tests"};
  app.require_subcommand(1);
  std::string address;
  std::string snapshotter = "nix";
  app.add_option("--address", address, "unix socket")->required();
  app.add_option("--snapshotter", snapshotter, "snapshotter name sent in requests");

  std::string key, parent, name, labels_file;
  std::vector<std::string> labels, filters;
  auto* prepare = app.add_subcommand("prepare", "create an active snapshot");
  prepare->add_option("key", key)->required();
  prepare->add_option("parent", parent);
  prepare->add_option("--label", labels);
  prepare->add_option("--labels-file", labels_file, "one K=V per line");
  auto* view = app.add_subcommand("view", "create a view");
  view->add_option("key", key)->required();
  view->add_option("parent", parent);
  view->add_option("--label", labels);
  auto* mounts = app.add_subcommand("mounts", "print mounts");
  mounts->add_option("key", key)->required();
  auto* commit = app.add_subcommand("commit", "commit an active snapshot");
  commit->add_option("name", name)->required();
  commit->add_option("key", key)->required();
  commit->add_option("--label", labels);
  auto* label = app.add_subcommand("label", "set labels (Update with mask labels.<key>)");
  label->add_option("key", key)->required();
  label->add_option("labels", labels, "K=V; an empty V deletes K")->required();
  auto* remove = app.add_subcommand("remove", "remove a snapshot");
  remove->add_option("key", key)->required();
  auto* stat = app.add_subcommand("stat", "print info");
  stat->add_option("key", key)->required();
  auto* list = app.add_subcommand("list", "print names of all (or filtered) snapshots");
  list->add_option("filter", filters);
  auto* usage = app.add_subcommand("usage", "print size and inodes");
  usage->add_option("key", key)->required();
  auto* cleanup = app.add_subcommand("cleanup", "reclaim unreferenced resources");
  CLI11_PARSE(app, argc, argv);

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  args.SetMaxSendMessageSize(256 * 1024 * 1024);
  auto channel =
      grpc::CreateCustomChannel("unix:" + address, grpc::InsecureChannelCredentials(), args);
  auto stub = pb::Snapshots::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));

  if (*prepare || *view) {
    google::protobuf::Map<std::string, std::string> lbl;
    if (!addLabels(labels, labels_file, &lbl)) {
      return 2;
    }
    if (*prepare) {
      pb::PrepareSnapshotRequest req;
      req.set_snapshotter(snapshotter);
      req.set_key(key);
      req.set_parent(parent);
      *req.mutable_labels() = lbl;
      pb::PrepareSnapshotResponse resp;
      auto st = stub->Prepare(&ctx, req, &resp);
      printMounts(resp.mounts());
      return report(st);
    }
    pb::ViewSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    req.set_parent(parent);
    *req.mutable_labels() = lbl;
    pb::ViewSnapshotResponse resp;
    auto st = stub->View(&ctx, req, &resp);
    printMounts(resp.mounts());
    return report(st);
  }
  if (*mounts) {
    pb::MountsRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    pb::MountsResponse resp;
    auto st = stub->Mounts(&ctx, req, &resp);
    printMounts(resp.mounts());
    return report(st);
  }
  if (*commit) {
    pb::CommitSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_name(name);
    req.set_key(key);
    if (!addLabels(labels, "", req.mutable_labels())) {
      return 2;
    }
    google::protobuf::Empty resp;
    return report(stub->Commit(&ctx, req, &resp));
  }
  if (*label) {
    pb::UpdateSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.mutable_info()->set_name(key);
    google::protobuf::Map<std::string, std::string> lbl;
    if (!addLabels(labels, "", &lbl)) {
      return 2;
    }
    for (const auto& [k, v] : lbl) {  // as ctr does: a masked key without value is deleted
      req.mutable_update_mask()->add_paths("labels." + k);
      if (!v.empty()) {
        (*req.mutable_info()->mutable_labels())[k] = v;
      }
    }
    pb::UpdateSnapshotResponse resp;
    auto st = stub->Update(&ctx, req, &resp);
    if (st.ok()) {
      printInfo(resp.info());
    }
    return report(st);
  }
  if (*remove) {
    pb::RemoveSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    google::protobuf::Empty resp;
    return report(stub->Remove(&ctx, req, &resp));
  }
  if (*stat) {
    pb::StatSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    pb::StatSnapshotResponse resp;
    auto st = stub->Stat(&ctx, req, &resp);
    if (st.ok()) {
      printInfo(resp.info());
    }
    return report(st);
  }
  if (*list) {
    pb::ListSnapshotsRequest req;
    req.set_snapshotter(snapshotter);
    for (const auto& f : filters) {
      req.add_filters(f);
    }
    auto reader = stub->List(&ctx, req);
    pb::ListSnapshotsResponse resp;
    std::vector<std::string> names;
    while (reader->Read(&resp)) {
      for (const auto& info : resp.info()) {
        names.push_back(info.name());
      }
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::cout << n << "\n";
    }
    return report(reader->Finish());
  }
  if (*usage) {
    pb::UsageRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    pb::UsageResponse resp;
    auto st = stub->Usage(&ctx, req, &resp);
    if (st.ok()) {
      std::cout << "size=" << resp.size() << " inodes=" << resp.inodes() << "\n";
    }
    return report(st);
  }
  if (*cleanup) {
    pb::CleanupRequest req;
    req.set_snapshotter(snapshotter);
    google::protobuf::Empty resp;
    return report(stub->Cleanup(&ctx, req, &resp));
  }
  return 2;
}
