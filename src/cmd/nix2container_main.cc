// nix2container: builds Nix OCI images and loads them into containerd (DESIGN.md section 3).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "common/interrupt_cleanup.h"
#include "common/log.h"
#include "common/process_runner.h"
#include "common/temp_dir.h"
#include "containerd/grpc_client.h"
#include "image/builder.h"
#include "image/console_progress.h"
#include "image/containerd_loader.h"
#include "image/pusher.h"
#include "registry/client.h"

namespace {

using namespace nixsnap;

std::string envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

int fail(const Status& st) {
  std::cerr << "nix2container: " << log::escapeControls(st.toString()) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nix2container: build Nix OCI images and load them into containerd"};
  std::string address = envOr("CONTAINERD_ADDRESS", "/run/containerd/containerd.sock");
  std::string ns = envOr("CONTAINERD_NAMESPACE", "default");
  std::string level = "info";
  app.add_option("--address", address, "containerd socket (env CONTAINERD_ADDRESS)");
  app.add_option("--namespace,-n", ns, "containerd namespace (env CONTAINERD_NAMESPACE)");
  app.add_option("--log-level", level, "trace|debug|info|warn|error");
  app.require_subcommand(1);

  image::BuildOptions build;
  auto* b = app.add_subcommand("build", "write an OCI image archive for a Nix closure");
  b->add_option("--config", build.config, "image config JSON");
  b->add_option("--closure", build.closure,
                "closureInfo output (its dir or its store-paths), or a file of store paths");
  b->add_flag("--legacy-nix-layer", build.legacy_nix_layer,
              "annotate nix-layer + nix-store-path.<i> even for a closureInfo (old snapshotters)");
  b->add_option("--copy-to-root", build.copy_to_root, "JSON list of store paths linked at /");
  b->add_option("--from-image", build.from_image, "base image archive (OCI or docker)");
  b->add_option("--ref", build.ref, "image name (default nix:0<OUT>:latest)");
  b->add_option("OUT", build.out, "archive to write")->required();

  std::string archive;
  auto* l = app.add_subcommand("load", "import an image archive into containerd and unpack it");
  l->add_option("ARCHIVE", archive, "OCI or docker archive")->required();

  std::string push_ref;
  bool plain_http = false;
  auto* p = app.add_subcommand("push", "push an image archive to a registry");
  p->add_option("--ref", push_ref, "registry reference")->required();
  p->add_flag("--plain-http", plain_http, "use http instead of https");
  std::string authfile;
  p->add_option("--authfile", authfile,
                "registry credentials (docker config.json format; default $REGISTRY_AUTH_FILE, "
                "$DOCKER_CONFIG/config.json, ~/.docker/config.json)");
  p->add_option("ARCHIVE", archive, "OCI or docker archive")->required();

  CLI11_PARSE(app, argc, argv);
  log::Level lvl{};
  if (!log::parseLevel(level, lvl)) {
    std::cerr << "nix2container: invalid --log-level \"" << log::escapeControls(level) << "\"\n";
    return 2;
  }
  log::setLevel(lvl);

  // All scratch space of this run lives below one directory that is removed on exit and
  // also on SIGINT/SIGTERM/SIGHUP (an interrupted load could leave gigabytes in /tmp).
  const char* tmp_env = std::getenv("TMPDIR");
  auto scratch = TempDir::create(tmp_env && *tmp_env ? tmp_env : "/tmp", "nix2container-");
  if (!scratch.isOk()) {
    return fail(scratch.status());
  }
  removeOnInterrupt(scratch->path());

  if (*b) {
    build.tmp_dir = scratch->path();
    auto r = image::buildImage(build);
    if (!r.isOk()) {
      return fail(r.status());
    }
    std::cout << r->name << " " << r->manifest_digest << "\n";
    return 0;
  }
  if (*l) {
    Status st = nixsnap::containerd::checkContainerdNamespace(ns);
    if (st.isOk()) {
      st = nixsnap::containerd::checkContainerdAddress(address);
    }
    if (!st.isOk()) {
      return fail(st);
    }
  }
  if (*l) {
    image::ContainerdLoader loader(nixsnap::containerd::makeGrpcContainerdClient(address),
                                   scratch->path());
    image::LoadOptions opts;
    opts.ns = ns;
    opts.progress = image::makeConsoleProgress(std::cerr, ::isatty(STDERR_FILENO) == 1);
    auto r = loader.load(archive, opts);
    if (!r.isOk()) {
      return fail(r.status());
    }
    for (const auto& img : *r) {
      std::cout << img.name << " " << img.manifest_digest << "\n";
    }
    return 0;
  }
  if (*p) {
    auto credentials = registry::loadAuthFile(
        registry::chooseAuthFile(authfile, [](const char* n) { return std::getenv(n); }),
        makePosixProcessRunner());
    if (!credentials.isOk()) {
      return fail(credentials.status());
    }
    auto client =
        registry::makeRegistryClient(registry::makeCurlTransport(), *credentials, plain_http);
    auto progress = image::makeConsoleProgress(std::cerr, ::isatty(STDERR_FILENO) == 1);
    auto r = image::pushImage(*client, archive, push_ref, scratch->path(), progress.get());
    if (!r.isOk()) {
      return fail(r.status());
    }
    std::cout << push_ref << " " << *r << "\n";
    return 0;
  }
  return 2;
}
