#include "server/serve.h"

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/process_runner.h"
#include "server/grpc_server.h"

namespace nixsnap::server {

Status serve(const fs::path& address, const std::vector<grpc::Service*>& services,
             Notifier& notifier, Random& random, const std::function<int()>& wait_for_stop,
             std::chrono::milliseconds grace) {
  auto server = GrpcServer::start(address, services, random);
  if (!server.isOk()) {
    return server.status();
  }
  notifier.notify("READY=1");
  NIXSNAP_LOG(Info, "nix-snapshotter ready", {{"address", address.string()}});
  const int reason = wait_for_stop();
  NIXSNAP_LOG(Info, "stopping",
              {{"signal", std::to_string(reason)}, {"grace_ms", std::to_string(grace.count())}});
  notifier.notify("STOPPING=1");
  // Calls still running when the grace period ends are cancelled, but a call waiting for
  // nix-store or an external builder would keep the daemon up for as long as that takes
  // (past systemd's stop timeout): stop those processes then, so the calls fail and end.
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, grace, [&] { return stopped; })) {
      NIXSNAP_LOG(Warn, "grace period over: stopping child processes of in-flight calls",
                  {{"grace_ms", std::to_string(grace.count())}});
      terminateRunningProcesses(kChildKillAfter);
    }
  });
  (*server)->shutdown(grace);
  {
    std::lock_guard<std::mutex> lock(mu);
    stopped = true;
  }
  cv.notify_all();
  watchdog.join();
  return Status::ok();
}

}  // namespace nixsnap::server
