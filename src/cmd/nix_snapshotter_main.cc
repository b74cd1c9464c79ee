// nix-snapshotter: containerd proxy snapshotter that understands Nix.
// Parses flags, merges them over the config file and hands over to cmd::runDaemon.
#include <malloc.h>

#include <iostream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cmd/daemon.h"
#include "cmd/nix_snapshotter_cli.h"
#include "common/log.h"
#include "config/config.h"
#include "server/signals.h"

namespace {

using nixsnap::config::Config;

int fail(const nixsnap::Status& st) {
  std::cerr << "nix-snapshotter: " << nixsnap::log::escapeControls(st.message()) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Deep-chain Mounts replies (MBs each) made glibc trim and re-fault the heap on every
  // call (docs/performance.md): keep freed memory and serve big blocks from the heap.
  // 32 MiB is glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2).
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);

  // Before any thread exists, so only the daemon's sigwait sees SIGINT/SIGTERM.
  nixsnap::server::blockTerminationSignals();

  auto parsed = nixsnap::cmd::parseSnapshotterArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (auto* exit = std::get_if<nixsnap::cmd::CliExit>(&parsed)) {
    std::cout << exit->out;
    std::cerr << exit->err;
    return exit->code;
  }
  auto& args = std::get<nixsnap::cmd::SnapshotterArgs>(parsed);
  const std::optional<std::string>& config_path = args.config_path;
  const nixsnap::config::Overrides& overrides = args.overrides;
  const bool explicit_config = config_path.has_value();
  auto loaded = nixsnap::config::loadConfig(
      explicit_config ? *config_path : std::string(nixsnap::config::kDefaultConfigPath),
      explicit_config);
  if (!loaded.isOk()) {
    return fail(loaded.status());
  }
  Config config = std::move(loaded).value();
  nixsnap::config::applyOverrides(config, overrides);
  if (auto st = nixsnap::config::validate(config, overrides); !st.isOk()) {
    return fail(st);
  }
  nixsnap::log::Level level = nixsnap::log::Level::Info;
  nixsnap::log::parseLevel(config.log_level, level);
  nixsnap::log::setLevel(level);

  if (auto st = nixsnap::cmd::runDaemon(config); !st.isOk()) {
    NIXSNAP_LOG(Error, "nix-snapshotter failed", {{"error", st.message()}});
    return fail(st);
  }
  return 0;
}
