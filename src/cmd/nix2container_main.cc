// nix2container: builds Nix OCI images and loads them into containerd (DESIGN.md section 3).
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "cmd/nix2container_cli.h"
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

int fail(const Status& st) {
  // An interrupt's cleanup may be what failed this run: its handler alone reports then.
  yieldToInterrupt();
  std::cerr << "nix2container: " << log::escapeControls(st.toString()) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = cmd::parseNix2ContainerArgs(std::vector<std::string>(argv + 1, argv + argc),
                                            [](const char* n) { return std::getenv(n); });
  if (auto* exit = std::get_if<cmd::CliExit>(&parsed)) {
    std::cout << exit->out;
    std::cerr << exit->err;
    return exit->code;
  }
  auto& args = std::get<cmd::Nix2ContainerArgs>(parsed);
  using Command = cmd::Nix2ContainerArgs::Command;
  log::setLevel(args.level);
  const std::string& address = args.address;
  const std::string& ns = args.ns;
  const std::string& archive = args.archive;
  image::BuildOptions& build = args.build;

  // All scratch space of this run lives below one directory that is removed on exit and
  // also on SIGINT/SIGTERM/SIGHUP (an interrupted load could leave gigabytes in /tmp).
  auto scratch = TempDir::create(tempDirFromEnvironment(), "nix2container-");
  if (!scratch.isOk()) {
    return fail(scratch.status());
  }
  removeOnInterrupt(scratch->path());

  if (args.command == Command::Build) {
    build.tmp_dir = scratch->path();
    auto r = image::buildImage(build);
    if (!r.isOk()) {
      return fail(r.status());
    }
    std::cout << r->name << " " << r->manifest_digest << "\n";
    return 0;
  }
  if (args.command == Command::Load) {
    Status st = nixsnap::containerd::checkContainerdNamespace(ns);
    if (st.isOk()) {
      st = nixsnap::containerd::checkContainerdAddress(address);
    }
    if (!st.isOk()) {
      return fail(st);
    }
  }
  if (args.command == Command::Load) {
    image::ContainerdLoader loader(nixsnap::containerd::makeGrpcContainerdClient(address),
                                   scratch->path());
    image::LoadOptions opts;
    opts.ns = ns;
    opts.store_dir = args.store_dir;
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
  if (args.command == Command::Push) {
    auto credentials = registry::loadAuthFile(
        registry::chooseAuthFile(args.authfile, [](const char* n) { return std::getenv(n); }),
        makePosixProcessRunner());
    if (!credentials.isOk()) {
      return fail(credentials.status());
    }
    auto client =
        registry::makeRegistryClient(registry::makeCurlTransport(), *credentials, args.plain_http);
    auto progress = image::makeConsoleProgress(std::cerr, ::isatty(STDERR_FILENO) == 1);
    auto r = image::pushImage(*client, archive, args.push_ref, scratch->path(), progress.get());
    if (!r.isOk()) {
      return fail(r.status());
    }
    std::cout << args.push_ref << " " << *r << "\n";
    return 0;
  }
  return 2;
}
