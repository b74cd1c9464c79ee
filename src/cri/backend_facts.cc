#include "cri/backend_facts.h"

#include <grpcpp/client_context.h>

#include <chrono>

#include "rpc/grpc_status.h"

namespace nixsnap::cri {

Result<BackendFacts> queryBackend(CriBackend& backend, const Clock& clock) {
  auto deadline = [&] { return clock.now() + std::chrono::seconds(5); };
  BackendFacts facts;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    runtime::v1::VersionRequest req;
    req.set_version("v1");
    runtime::v1::VersionResponse resp;
    Status st = rpc::fromGrpc(backend.runtime().Version(&ctx, req, &resp));
    if (!st.isOk()) {
      return st.wrap("querying containerd CRI version at " + backend.address());
    }
    facts.runtime_version = resp.runtime_version();
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    runtime::v1::StatusRequest req;
    req.set_verbose(true);
    runtime::v1::StatusResponse resp;
    Status st = rpc::fromGrpc(backend.runtime().Status(&ctx, req, &resp));
    if (!st.isOk()) {
      return st.wrap("querying containerd CRI status at " + backend.address());
    }
    facts.info.insert(resp.info().begin(), resp.info().end());
  }
  return facts;
}

}  // namespace nixsnap::cri
