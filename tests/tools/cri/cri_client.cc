// cri-client: a small kubelet stand-in for integration tests. It speaks CRI runtime.v1
// to an image endpoint (nix-snapshotter's socket) and a runtime endpoint (containerd's
// socket) and does what kubelet does to run one container in a host-network pod.
//
//   cri-client --image-endpoint S --runtime-endpoint S pull REF
//   cri-client ... status REF | list | rm REF | fsinfo | version | info
//   cri-client ... run REF --name N [--port-arg P] [--command C]... [-- ARGS...]
//   cri-client ... run-redis REF --port P
//   cri-client ... container-status ID | stop-pod ID | rm-pod ID
// Exit codes: 0 ok, 1 usage, 2 RPC error (the gRPC code name and message go to stderr as
// "rpc error: code = NOT_FOUND desc = ..."), 3 image absent (status).
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cri/runtime/v1/api.grpc.pb.h"

namespace v1 = runtime::v1;

namespace {

const char* codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

std::string target(const std::string& endpoint) {
  if (!endpoint.empty() && endpoint.front() == '/') {
    return "unix://" + endpoint;
  }
  return endpoint;
}

struct Client {
  std::unique_ptr<v1::ImageService::Stub> images;
  std::unique_ptr<v1::RuntimeService::Stub> runtime;
  int timeout_s = 120;

  std::unique_ptr<grpc::ClientContext> ctx() const {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
    return c;
  }
};

// Prints a failed status the way crictl does and returns exit code 2.
int fail(const char* rpc, const grpc::Status& st) {
  std::cerr << rpc << ": rpc error: code = " << codeName(st.error_code())
            << " desc = " << st.error_message() << "\n";
  return 2;
}

int pull(Client& c, const std::string& ref) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  v1::PullImageResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.images->PullImage(ctx.get(), req, &resp);
  if (!st.ok()) {
    return fail("PullImage", st);
  }
  std::cout << resp.image_ref() << "\n";
  return 0;
}

void printImage(const v1::Image& image) {
  std::cout << image.id();
  for (const auto& tag : image.repo_tags()) {
    std::cout << " " << tag;
  }
  std::cout << "\n";
}

int status(Client& c, const std::string& ref) {
  v1::ImageStatusRequest req;
  req.mutable_image()->set_image(ref);
  v1::ImageStatusResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.images->ImageStatus(ctx.get(), req, &resp);
  if (!st.ok()) {
    return fail("ImageStatus", st);
  }
  if (!resp.has_image()) {
    std::cout << "absent\n";
    return 3;
  }
  printImage(resp.image());
  return 0;
}

int list(Client& c) {
  v1::ListImagesRequest req;
  v1::ListImagesResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.images->ListImages(ctx.get(), req, &resp);
  if (!st.ok()) {
    return fail("ListImages", st);
  }
  for (const auto& image : resp.images()) {
    printImage(image);
  }
  return 0;
}

int remove(Client& c, const std::string& ref) {
  v1::RemoveImageRequest req;
  req.mutable_image()->set_image(ref);
  v1::RemoveImageResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.images->RemoveImage(ctx.get(), req, &resp);
  return st.ok() ? 0 : fail("RemoveImage", st);
}

int fsinfo(Client& c) {
  v1::ImageFsInfoRequest req;
  v1::ImageFsInfoResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.images->ImageFsInfo(ctx.get(), req, &resp);
  if (!st.ok()) {
    return fail("ImageFsInfo", st);
  }
  for (const auto& fs : resp.image_filesystems()) {
    std::cout << fs.fs_id().mountpoint() << " " << fs.used_bytes().value() << "\n";
  }
  return 0;
}

int version(Client& c) {
  v1::VersionRequest req;
  req.set_version("v1");
  v1::VersionResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.runtime->Version(ctx.get(), req, &resp);
  if (!st.ok()) {
    return fail("Version", st);
  }
  std::cout << resp.runtime_name() << " " << resp.runtime_version() << "\n";
  return 0;
}

// Host-network pod, no hostname (a host-network pod may not set one), logs in log_dir.
v1::PodSandboxConfig podConfig(const std::string& name, const std::string& log_dir) {
  v1::PodSandboxConfig config;
  auto* meta = config.mutable_metadata();
  meta->set_name(name);
  meta->set_namespace_("default");
  meta->set_uid(name + "-uid");
  meta->set_attempt(0);
  config.set_log_directory(log_dir);
  auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(v1::NODE);
  ns->set_pid(v1::CONTAINER);
  ns->set_ipc(v1::POD);
  return config;
}

int run(Client& c, const std::string& ref, const std::string& name, const std::string& log_dir,
        const std::vector<std::string>& command, const std::vector<std::string>& args) {
  v1::PodSandboxConfig pod = podConfig(name, log_dir);
  std::string pod_id;
  {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = pod;
    v1::RunPodSandboxResponse resp;
    auto ctx = c.ctx();
    grpc::Status st = c.runtime->RunPodSandbox(ctx.get(), req, &resp);
    if (!st.ok()) {
      return fail("RunPodSandbox", st);
    }
    pod_id = resp.pod_sandbox_id();
    std::cout << "pod " << pod_id << "\n" << std::flush;
  }
  std::string container_id;
  {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_id);
    *req.mutable_sandbox_config() = pod;
    auto* config = req.mutable_config();
    config->mutable_metadata()->set_name(name);
    config->mutable_image()->set_image(ref);
    for (const auto& a : command) {
      config->add_command(a);
    }
    for (const auto& a : args) {
      config->add_args(a);
    }
    config->set_log_path(name + ".log");
    auto* ns = config->mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(v1::NODE);
    ns->set_pid(v1::CONTAINER);
    ns->set_ipc(v1::POD);
    v1::CreateContainerResponse resp;
    auto ctx = c.ctx();
    grpc::Status st = c.runtime->CreateContainer(ctx.get(), req, &resp);
    if (!st.ok()) {
      return fail("CreateContainer", st);
    }
    container_id = resp.container_id();
    std::cout << "container " << container_id << "\n" << std::flush;
  }
  v1::StartContainerRequest req;
  req.set_container_id(container_id);
  v1::StartContainerResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.runtime->StartContainer(ctx.get(), req, &resp);
  return st.ok() ? 0 : fail("StartContainer", st);
}

int runtimeInfo(Client& c) {
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.runtime->Status(ctx.get(), req, &resp);
  if (!st.ok()) {
    return fail("Status", st);
  }
  for (const auto& [key, value] : resp.info()) {
    std::cout << key << "=" << value << "\n";
  }
  return 0;
}

int containerStatus(Client& c, const std::string& id) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  v1::ContainerStatusResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.runtime->ContainerStatus(ctx.get(), req, &resp);
  if (!st.ok()) {
    return fail("ContainerStatus", st);
  }
  std::cout << v1::ContainerState_Name(resp.status().state()) << " " << resp.status().exit_code()
            << " " << resp.status().image_ref() << "\n";
  return 0;
}

int stopPod(Client& c, const std::string& id) {
  v1::StopPodSandboxRequest req;
  req.set_pod_sandbox_id(id);
  v1::StopPodSandboxResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.runtime->StopPodSandbox(ctx.get(), req, &resp);
  return st.ok() ? 0 : fail("StopPodSandbox", st);
}

int removePod(Client& c, const std::string& id) {
  v1::RemovePodSandboxRequest req;
  req.set_pod_sandbox_id(id);
  v1::RemovePodSandboxResponse resp;
  auto ctx = c.ctx();
  grpc::Status st = c.runtime->RemovePodSandbox(ctx.get(), req, &resp);
  return st.ok() ? 0 : fail("RemovePodSandbox", st);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cri-client: a kubelet stand-in speaking CRI runtime.v1"};
  app.require_subcommand(1);
  std::string image_endpoint;
  std::string runtime_endpoint;
  int timeout_s = 120;
  app.add_option("--image-endpoint", image_endpoint, "image service socket")->required();
  app.add_option("--runtime-endpoint", runtime_endpoint, "runtime service socket (default: image)");
  app.add_option("--timeout", timeout_s, "per-call deadline in seconds");

  std::string ref;
  std::string id;
  auto* pull_cmd = app.add_subcommand("pull", "PullImage");
  pull_cmd->add_option("REF", ref)->required();
  auto* status_cmd = app.add_subcommand("status", "ImageStatus (exit 3 when absent)");
  status_cmd->add_option("REF", ref)->required();
  auto* list_cmd = app.add_subcommand("list", "ListImages");
  auto* rm_cmd = app.add_subcommand("rm", "RemoveImage");
  rm_cmd->add_option("REF", ref)->required();
  auto* fsinfo_cmd = app.add_subcommand("fsinfo", "ImageFsInfo");
  auto* version_cmd = app.add_subcommand("version", "runtime Version");
  auto* info_cmd = app.add_subcommand("info", "runtime Status(verbose) info, key=value lines");

  std::string name = "redis";
  std::string log_dir = "/tmp";
  int port = 0;
  std::vector<std::string> command;
  std::vector<std::string> args;
  auto* run_cmd = app.add_subcommand("run", "RunPodSandbox + CreateContainer + StartContainer");
  run_cmd->set_help_flag("--help", "print this help");  // "-h" may be a container argument
  run_cmd->add_option("REF", ref)->required();
  run_cmd->add_option("--name", name, "pod and container name");
  run_cmd->add_option("--log-dir", log_dir, "pod log directory");
  run_cmd
      ->add_option("--command", command,
                   "container command, one word per flag (default: image entrypoint)")
      ->allow_extra_args(false);
  run_cmd->add_option("ARGS", args, "container args (after --)");
  auto* redis_cmd = app.add_subcommand("run-redis", "run REF with --protected-mode no --port P");
  redis_cmd->add_option("REF", ref)->required();
  redis_cmd->add_option("--port", port, "redis port")->required();
  redis_cmd->add_option("--name", name, "pod and container name");
  redis_cmd->add_option("--log-dir", log_dir, "pod log directory");
  redis_cmd->add_option("--command", command, "container command, one word per flag")
      ->allow_extra_args(false);
  auto* cstatus_cmd = app.add_subcommand("container-status", "ContainerStatus");
  cstatus_cmd->add_option("ID", id)->required();
  auto* stop_pod_cmd = app.add_subcommand("stop-pod", "StopPodSandbox");
  stop_pod_cmd->add_option("ID", id)->required();
  auto* rm_pod_cmd = app.add_subcommand("rm-pod", "RemovePodSandbox");
  rm_pod_cmd->add_option("ID", id)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (runtime_endpoint.empty()) {
    runtime_endpoint = image_endpoint;
  }
  Client c;
  c.timeout_s = timeout_s;
  c.images = v1::ImageService::NewStub(
      grpc::CreateChannel(target(image_endpoint), grpc::InsecureChannelCredentials()));
  c.runtime = v1::RuntimeService::NewStub(
      grpc::CreateChannel(target(runtime_endpoint), grpc::InsecureChannelCredentials()));

  if (*pull_cmd) return pull(c, ref);
  if (*status_cmd) return status(c, ref);
  if (*list_cmd) return list(c);
  if (*rm_cmd) return remove(c, ref);
  if (*fsinfo_cmd) return fsinfo(c);
  if (*version_cmd) return version(c);
  if (*info_cmd) return runtimeInfo(c);
  if (*run_cmd) return run(c, ref, name, log_dir, command, args);
  if (*redis_cmd) {
    return run(c, ref, name, log_dir, command,
               {"--protected-mode", "no", "--port", std::to_string(port)});
  }
  if (*cstatus_cmd) return containerStatus(c, id);
  if (*stop_pod_cmd) return stopPod(c, id);
  if (*rm_pod_cmd) return removePod(c, id);
  return 1;
}
