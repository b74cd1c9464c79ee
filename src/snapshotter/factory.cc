#include "snapshotter/factory.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "common/clock.h"
#include "common/process_runner.h"
#include "metadata/sqlite_meta_store.h"
#include "nix/external_builder_store.h"
#include "nix/nix_store_cli.h"
#include "nix/realise_scheduler.h"
#include "snapshotter/overlay_snapshotter.h"

namespace nixsnap::snapshotter {

namespace {
/// SIGTERM to SIGKILL for builders nobody waits for any more, at shutdown.
constexpr std::chrono::milliseconds kStopAbandonedAfter{2000};
}  // namespace

Result<SnapshotterPtr> makeSnapshotter(const Options& options) {
  for (const fs::path* p : {&options.root, &options.store_dir, &options.nix_state_dir}) {
    if (!p->is_absolute()) {
      return invalidArgument("configuring snapshotter: path \"" + p->string() +
                             "\" is not absolute");
    }
  }
  boost::system::error_code ec;
  fs::create_directories(options.root, ec);
  if (ec) {
    return Status(errorCodeFromErrno(ec.value()),
                  "creating root \"" + options.root.string() + "\": " + ec.message());
  }
  ::chmod(options.root.c_str(), 0700);
  Result<metadata::MetaStorePtr> meta = metadata::openSqliteMetaStore(options.root / "metadata.db");
  if (!meta.isOk()) {
    return meta.status();
  }
  ProcessRunnerPtr runner = makePosixProcessRunner();
  nix::NixStorePtr store;
  if (options.external_builder.empty()) {
    store = std::make_unique<nix::NixStoreCli>(runner, options.nix_state_dir);
  } else {
    store = std::make_unique<nix::ExternalBuilderStore>(runner, options.external_builder,
                                                        options.nix_state_dir);
  }
  // Realisations run outside the metadata writer lock, several at once, once per path;
  // one whose callers all gave up is stopped (its process killed), and at shutdown any
  // abandoned one still running is stopped with every other child.
  store = std::make_unique<nix::RealiseScheduler>(
      std::move(store), options.max_parallel_realisations,
      [] { terminateRunningProcesses(kStopAbandonedAfter); });
  OverlayConfig config;
  // "./x/..//root" works but would show up as such in every mount source.
  config.root = options.root.lexically_normal();
  if (config.root.filename() == ".") {
    config.root = config.root.parent_path();
  }
  config.store_dir = options.store_dir;
  config.fuse_overlayfs = options.fuse_overlayfs;
  config.userxattr = options.overlay_userxattr;
  config.index_off = fs::exists("/sys/module/overlay/parameters/index", ec);
  Result<std::unique_ptr<OverlaySnapshotter>> sn = OverlaySnapshotter::create(
      std::move(config), std::move(*meta), std::move(store), makeSystemClock());
  if (!sn.isOk()) {
    return sn.status();
  }
  return SnapshotterPtr(std::move(*sn));
}

}  // namespace nixsnap::snapshotter
