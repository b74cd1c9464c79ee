#include "server/serve.h"

#include <string>

#include "common/log.h"
#include "server/grpc_server.h"

namespace nixsnap::server {

Status serve(const fs::path& address, const std::vector<grpc::Service*>& services,
             Notifier& notifier, const std::function<int()>& wait_for_stop,
             std::chrono::milliseconds grace) {
  auto server = GrpcServer::start(address, services);
  if (!server.isOk()) {
    return server.status();
  }
  notifier.notify("READY=1");
  NIXSNAP_LOG(Info, "nix-snapshotter ready", {{"address", address.string()}});
  const int reason = wait_for_stop();
  NIXSNAP_LOG(Info, "stopping",
              {{"signal", std::to_string(reason)}, {"grace_ms", std::to_string(grace.count())}});
  notifier.notify("STOPPING=1");
  (*server)->shutdown(grace);
  return Status::ok();
}

}  // namespace nixsnap::server
