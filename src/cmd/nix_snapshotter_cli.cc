#include "cmd/nix_snapshotter_cli.h"

#include "cmd/cli_parse.h"

namespace nixsnap::cmd {

std::variant<SnapshotterArgs, CliExit> parseSnapshotterArgs(const std::vector<std::string>& args) {
  SnapshotterArgs a;
  CLI::App app{"nix-snapshotter: a containerd snapshotter that understands Nix", "nix-snapshotter"};
  app.add_option("-c,--config", a.config_path,
                 "TOML config file (default " + std::string(config::kDefaultConfigPath) + ")");
  app.add_option("-a,--address", a.overrides.address, "unix socket to serve on");
  app.add_option("--root", a.overrides.root, "state directory");
  app.add_option("-l,--log-level", a.overrides.log_level,
                 "trace, debug, info, warn, error, fatal or panic");
  // -v as well: the original's CLI library gives both spellings.
  app.set_version_flag("-v,--version", std::string("nix-snapshotter version ") + version());
  if (auto exit = parseWith(app, args)) {
    return *exit;
  }
  return a;
}

}  // namespace nixsnap::cmd
