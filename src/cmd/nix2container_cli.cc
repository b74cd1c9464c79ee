#include "cmd/nix2container_cli.h"

#include <optional>

#include "cmd/cli_parse.h"
#include "common/fs.h"

namespace nixsnap::cmd {
namespace {

std::string envOr(const Getenv& getenv, const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

CliExit usageError(const std::string& message) {
  return CliExit{2, "", "nix2container: " + message + "\n"};
}

/// The values CLI11 cannot check: the level's spelling, the store dir's form, and that
/// OUT or ARCHIVE is not "" (which would name the current directory).
std::optional<CliExit> checkValues(Nix2ContainerArgs& a, const std::string& level) {
  if (!log::parseLevel(level, a.level)) {
    return usageError("invalid --log-level \"" + log::escapeControls(level) +
                      "\" (trace, debug, info, warn, error, fatal or panic)");
  }
  // Store paths are compared as text with the store dir as prefix: it must be canonical.
  if (a.store_dir.size() < 2 || a.store_dir.front() != '/' || a.store_dir.back() == '/' ||
      fs::path(a.store_dir).lexically_normal().string() != a.store_dir) {
    return usageError("invalid --store-dir \"" + log::escapeControls(a.store_dir) +
                      "\" (a canonical absolute path other than /, without a trailing slash, "
                      "\"//\", \".\" or \"..\")");
  }
  using Command = Nix2ContainerArgs::Command;
  if (a.command == Command::Build && a.build.out.empty()) {
    return usageError("OUT is empty: give the path of the archive to write");
  }
  if (a.command != Command::Build && a.archive.empty()) {
    return usageError("ARCHIVE is empty: give the path of an image archive");
  }
  return std::nullopt;
}

}  // namespace

std::variant<Nix2ContainerArgs, CliExit> parseNix2ContainerArgs(
    const std::vector<std::string>& args, const Getenv& getenv) {
  Nix2ContainerArgs a;
  CLI::App app{"nix2container: build Nix OCI images and load them into containerd",
               "nix2container"};
  a.address = envOr(getenv, "CONTAINERD_ADDRESS", "/run/containerd/containerd.sock");
  a.ns = envOr(getenv, "CONTAINERD_NAMESPACE", "default");
  std::string level = "info";
  app.add_option("-a,--address", a.address, "containerd socket (env CONTAINERD_ADDRESS)");
  app.add_option("-n,--namespace", a.ns, "containerd namespace (env CONTAINERD_NAMESPACE)");
  app.add_option("-l,--log-level", level, "trace|debug|info|warn|error|fatal|panic");
  app.set_version_flag("--version", std::string("nix2container version ") + version());
  app.require_subcommand(1);

  auto* b = app.add_subcommand("build", "write an OCI image archive for a Nix closure");
  b->add_option("--config", a.build.config, "image config JSON");
  b->add_option("--closure", a.build.closure,
                "closureInfo output (its dir or its store-paths), or a file of store paths");
  b->add_flag("--legacy-nix-layer", a.build.legacy_nix_layer,
              "annotate nix-layer + nix-store-path.<i> even for a closureInfo (old snapshotters)");
  b->add_option("--copy-to-root", a.build.copy_to_root, "JSON list of store paths linked at /");
  b->add_option("--from-image", a.build.from_image, "base image archive (OCI or docker)");
  b->add_option("--ref", a.build.ref, "image name (default nix:0<OUT>:latest)");
  b->add_option("OUT", a.build.out, "archive to write")->required();

  auto* l = app.add_subcommand("load", "import an image archive into containerd and unpack it");
  l->add_option("ARCHIVE", a.archive, "OCI or docker archive")->required();
  l->add_option("--store-dir", a.store_dir,
                "Nix store directory of the layers' store paths (default /nix/store)");

  auto* p = app.add_subcommand("push", "push an image archive to a registry");
  p->add_option("--ref", a.push_ref,
                "registry reference; short names are Docker Hub's (redis: "
                "docker.io/library/redis)")
      ->required();
  p->add_flag("--plain-http", a.plain_http,
              "use http instead of https (automatic for localhost and loopback addresses)");
  p->add_option("--authfile", a.authfile,
                "registry credentials (docker config.json format; default $REGISTRY_AUTH_FILE, "
                "$DOCKER_CONFIG/config.json, ~/.docker/config.json)");
  p->add_option("ARCHIVE", a.archive, "OCI or docker archive")->required();

  if (auto exit = parseWith(app, args)) {
    return *exit;
  }
  a.command = *b   ? Nix2ContainerArgs::Command::Build
              : *l ? Nix2ContainerArgs::Command::Load
                   : Nix2ContainerArgs::Command::Push;
  if (auto exit = checkValues(a, level)) {
    return *exit;
  }
  return a;
}

}  // namespace nixsnap::cmd
