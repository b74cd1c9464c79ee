#include "cmd/backend_check.h"

#include <algorithm>
#include <utility>

#include "cmd/backend_warnings.h"
#include "common/log.h"
#include "cri/backend_facts.h"

namespace nixsnap::cmd {

BackendCheck::BackendCheck(BackendCheckDeps deps, std::string snapshotter)
    : deps_(std::move(deps)), snapshotter_(std::move(snapshotter)) {}

BackendCheck::~BackendCheck() {
  stop();
  std::lock_guard lock(mu_);
  if (thread_.joinable()) {
    thread_.join();
  }
}

void BackendCheck::start() {
  std::lock_guard lock(mu_);
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { run(); });
  }
}

void BackendCheck::stop() { stop_.set(); }

void BackendCheck::run() {
  const std::string& address = deps_.backend->address();
  std::chrono::milliseconds wait = kFirstWait;
  bool reported_down = false;
  while (!stop_.isSet()) {
    auto facts = cri::queryBackend(*deps_.backend, *deps_.clock);
    if (facts.isOk()) {
      NIXSNAP_LOG(Info, "containerd CRI reachable",
                  {{"address", address}, {"version", facts->runtime_version}});
      for (const auto& warning : backendWarnings(*facts, snapshotter_)) {
        NIXSNAP_LOG(Warn, warning, {{"address", address}});
      }
      if (reportsSnapshotAnnotations(*facts)) {
        NIXSNAP_LOG(Info, "checked containerd's CRI image config", {{"source", "CRI Status"}});
      } else {
        checkEffectiveConfig();
      }
      return;
    }
    if (!reported_down) {
      NIXSNAP_LOG(Warn, "containerd CRI not reachable yet; image service calls fail until it is",
                  {{"error", facts.status().message()}});
      reported_down = true;
    }
    if (deps_.sleeper->sleepUnlessWoken(wait, stop_)) {
      return;
    }
    wait = std::min(wait * 2, kMaxWait);
  }
}

void BackendCheck::checkEffectiveConfig() {
  // containerd 2.x: CRI Status carries the runtime config only; the image config
  // (disable_snapshot_annotations, snapshotter) is read from the running containerd's
  // effective configuration instead.
  const std::string& address = deps_.backend->address();
  Status st = Status::ok();
  if (deps_.config_source == nullptr) {
    st = Status(ErrorCode::Unimplemented, "no config source");
  } else if (auto text = deps_.config_source->effectiveConfig(); !text.isOk()) {
    st = text.status();
  } else if (auto config = criImageConfigFromToml(*text); !config.isOk()) {
    st = config.status();
  } else if (!config->disable_snapshot_annotations.has_value()) {
    st = Status(ErrorCode::NotFound, "containerd's config dump has no CRI image section");
  } else {
    for (const auto& warning : configWarnings(*config, snapshotter_)) {
      NIXSNAP_LOG(Warn, warning, {{"address", address}, {"source", "containerd config dump"}});
    }
    NIXSNAP_LOG(
        Info, "checked containerd's CRI image config",
        {{"disable_snapshot_annotations", *config->disable_snapshot_annotations ? "true" : "false"},
         {"snapshotter", config->snapshotter},
         {"source", "containerd config dump"}});
    return;
  }
  NIXSNAP_LOG(Info,
              "cannot check containerd's disable_snapshot_annotations: its CRI Status does not "
              "report it (containerd 2.x) and its config could not be read; registry pulls of "
              "Nix images through containerd need it false "
              "([plugins.\"io.containerd.cri.v1.images\"])",
              {{"address", address}, {"error", st.message()}});
}

}  // namespace nixsnap::cmd
