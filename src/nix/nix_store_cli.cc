#include "nix/nix_store_cli.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "common/process_failure.h"
#include "nix/gc_roots.h"
#include "nix/nix_daemon_root_registrar.h"
#include "nix/requisites_query.h"

namespace nixsnap::nix {

namespace {

/// Nix's words for "no substituter has it and no derivation builds it": Nix 2.8 and
/// older, then newer releases (missing path without a deriver, or a missing substitute).
bool nixHasNoWayToProduce(const std::string& err) {
  for (const char* words : {"don't know how to build", "is required, but there is no substituter",
                            "does not exist and cannot be created"}) {
    if (err.find(words) != std::string::npos) {
      return true;
    }
  }
  return false;
}

Status createDir(const fs::path& dir) {
  boost::system::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Status(errorCodeFromErrno(ec.value()),
                  "creating gc root directory \"" + dir.string() + "\": " + ec.message());
  }
  return Status::ok();
}

/// `name` next to `program` when that is a path (one Nix installation), else from PATH.
std::string siblingProgram(const std::string& program, const std::string& name) {
  fs::path p(program);
  return p.has_parent_path() ? (p.parent_path() / name).string() : name;
}

}  // namespace

NixStoreCli::NixStoreCli(ProcessRunnerPtr runner, fs::path nix_state_dir, std::string program,
                         RootRegistrarPtr registrar)
    : runner_(std::move(runner)),
      nix_state_dir_(std::move(nix_state_dir)),
      program_(std::move(program)),
      registrar_(registrar ? std::move(registrar)
                           : std::make_shared<NixDaemonRootRegistrar>(
                                 runner_, siblingProgram(program_, "nix-daemon"))) {}

Status NixStoreCli::realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir) {
  return realise(store_paths, gc_root_dir, CancelToken());
}

Status NixStoreCli::realise(const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir,
                            const CancelToken& cancel) {
  if (store_paths.empty()) {
    return Status::ok();
  }
  NIXSNAP_RETURN_IF_ERROR(createDir(gc_root_dir));
  RootRollback undo(gc_root_dir);
  std::vector<fs::path> roots;
  roots.reserve(store_paths.size());
  for (const fs::path& p : store_paths) {
    fs::path root = gc_root_dir / p.filename();
    Status st = makeRootLink(root, p);
    if (!st.isOk()) {
      return st.wrap("rooting \"" + p.string() + "\"");
    }
    undo.add(root);
    roots.push_back(std::move(root));
  }
  // Registered before the realisation starts: a collector running meanwhile keeps each
  // path from the moment it becomes valid.
  NIXSNAP_RETURN_IF_ERROR(registrar_->registerRoots(roots));
  for (size_t begin = 0; begin < store_paths.size(); begin += kMaxPathsPerProcess) {
    size_t end = std::min(store_paths.size(), begin + kMaxPathsPerProcess);
    std::vector<std::string> argv{program_, "--realise"};
    for (size_t i = begin; i < end; ++i) {
      argv.push_back(store_paths[i].string());
    }
    ProcessOptions options;
    options.cancel = cancel;  // stops nix-store; `undo` then removes the roots
    Result<ProcessResult> r = runner_->run(argv, options);
    if (!r.isOk()) {
      return r.status().wrap("realising store paths with " + program_);
    }
    if (r->exit_code != 0) {
      ErrorCode code =
          nixHasNoWayToProduce(r->stderr_data) ? ErrorCode::NotFound : ErrorCode::Internal;
      return Status(code, "realising " + std::to_string(end - begin) + " store paths (first \"" +
                              store_paths[begin].string() +
                              "\"): " + describeProcessFailure(program_ + " --realise", *r));
    }
  }
  undo.dismiss();
  return Status::ok();
}

Status NixStoreCli::removeRoots(const fs::path& gc_root_dir) { return reaper_.remove(gc_root_dir); }

Result<std::vector<fs::path>> NixStoreCli::requisites(const fs::path& store_path) {
  return requisitesOf(*runner_, program_, nix_state_dir_, store_path);
}

}  // namespace nixsnap::nix
