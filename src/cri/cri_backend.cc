#include "cri/cri_backend.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <utility>

namespace nixsnap::cri {
namespace {

class GrpcCriBackend : public CriBackend {
 public:
  GrpcCriBackend(std::shared_ptr<grpc::Channel> channel, std::string address)
      : address_(grpcTarget(address)),
        images_(runtime::v1::ImageService::NewStub(channel)),
        runtime_(runtime::v1::RuntimeService::NewStub(channel)) {}

  runtime::v1::ImageService::StubInterface& images() override { return *images_; }
  runtime::v1::RuntimeService::StubInterface& runtime() override { return *runtime_; }
  const std::string& address() const override { return address_; }

 private:
  std::string address_;
  std::unique_ptr<runtime::v1::ImageService::StubInterface> images_;
  std::unique_ptr<runtime::v1::RuntimeService::StubInterface> runtime_;
};

}  // namespace

std::string grpcTarget(const std::string& address) {
  if (!address.empty() && address.front() == '/') {
    return "unix://" + address;
  }
  return address;
}

std::shared_ptr<grpc::Channel> makeBackendChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // CRI messages (ListImages of a big node) exceed the 4 MiB default.
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(grpcTarget(address), grpc::InsecureChannelCredentials(), args);
}

CriBackendPtr makeGrpcCriBackend(std::shared_ptr<grpc::Channel> channel, std::string address) {
  return std::make_shared<GrpcCriBackend>(std::move(channel), std::move(address));
}

grpc::Status annotateUnavailable(const grpc::Status& status, const char* rpc,
                                 const std::string& address) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
    return status;  // containerd's own answer, unchanged
  }
  return {grpc::StatusCode::UNAVAILABLE, std::string("forwarding ") + rpc +
                                             " to containerd CRI at " + address + ": " +
                                             status.error_message()};
}

}  // namespace nixsnap::cri
