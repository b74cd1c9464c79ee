#include "server/grpc_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <unistd.h>

#include "common/log.h"
#include "server/unix_socket.h"

namespace nixsnap::server {

GrpcServer::GrpcServer(fs::path address, SocketFile socket, std::unique_ptr<grpc::Server> server)
    : address_(std::move(address)), socket_(socket), server_(std::move(server)) {}

GrpcServer::~GrpcServer() { shutdown(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<GrpcServer>> GrpcServer::start(const fs::path& address,
                                                      const std::vector<grpc::Service*>& services,
                                                      Random& random) {
  NIXSNAP_RETURN_IF_ERROR(prepareSocketPath(address));
  // gRPC reports a failed bind without its cause: check what it would hit first.
  if (::access(address.parent_path().c_str(), W_OK | X_OK) != 0) {
    return errnoStatus(errno, "binding socket " + address.string() + ": directory " +
                                  address.parent_path().string());
  }
  // Bound under another name and published once listening: see publishSocket.
  const fs::path staging = stagingSocketPath(address, random);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + staging.string(), grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  // Requests are small and local: no bandwidth-delay probing, whose pings cost the
  // client (containerd) an extra read and write per call.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return unavailable("starting gRPC server on " + address.string() + ": bind of " +
                       staging.string() + " failed");
  }
  auto published = publishSocket(staging, address);
  if (!published.isOk()) {
    server->Shutdown(std::chrono::system_clock::now());
    server->Wait();
    return published.status();
  }
  NIXSNAP_LOG(Info, "serving",
              {{"address", address.string()}, {"services", std::to_string(services.size())}});
  return std::unique_ptr<GrpcServer>(new GrpcServer(address, *published, std::move(server)));
}

void GrpcServer::shutdown(std::chrono::milliseconds grace) {
  if (stopped_ || server_ == nullptr) {
    return;
  }
  stopped_ = true;
  // While the listener is open its inode cannot be reused, so the identity check holds.
  removeSocket(address_, socket_);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  NIXSNAP_LOG(Info, "server stopped", {{"address", address_.string()}});
}

}  // namespace nixsnap::server
