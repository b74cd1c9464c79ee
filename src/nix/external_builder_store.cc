#include "nix/external_builder_store.h"

#include <unistd.h>

#include <set>
#include <utility>

#include "common/log.h"
#include "common/process_failure.h"
#include "nix/gc_roots.h"
#include "nix/nix_daemon_root_registrar.h"
#include "nix/requisites_query.h"

namespace nixsnap::nix {

namespace {

/// `nix-daemon` next to `nix_store` when that is a path (one Nix installation), else PATH.
std::string nixDaemonNextTo(const std::string& nix_store) {
  fs::path p(nix_store);
  return p.has_parent_path() ? (p.parent_path() / "nix-daemon").string() : "nix-daemon";
}

}  // namespace

ExternalBuilderStore::ExternalBuilderStore(ProcessRunnerPtr runner, std::string executable,
                                           fs::path nix_state_dir, std::string nix_store,
                                           RootRegistrarPtr registrar)
    : runner_(std::move(runner)),
      executable_(std::move(executable)),
      nix_state_dir_(std::move(nix_state_dir)),
      nix_store_(std::move(nix_store)),
      registrar_(registrar ? std::move(registrar)
                           : std::make_shared<NixDaemonRootRegistrar>(
                                 runner_, nixDaemonNextTo(nix_store_))) {}

Status ExternalBuilderStore::realise(const std::vector<fs::path>& store_paths,
                                     const fs::path& gc_root_dir) {
  return realiseKnownValid(store_paths, gc_root_dir, CancelToken(), {});
}

Status ExternalBuilderStore::realise(const std::vector<fs::path>& store_paths,
                                     const fs::path& gc_root_dir, const CancelToken& cancel) {
  return realiseKnownValid(store_paths, gc_root_dir, cancel, {});
}

Status ExternalBuilderStore::realiseKnownValid(const std::vector<fs::path>& store_paths,
                                               const fs::path& gc_root_dir,
                                               const CancelToken& cancel,
                                               const std::vector<fs::path>& known_valid) {
  if (store_paths.empty()) {
    return Status::ok();
  }
  boost::system::error_code ec;
  fs::create_directories(gc_root_dir, ec);
  if (ec) {
    return Status(errorCodeFromErrno(ec.value()),
                  "creating gc root directory \"" + gc_root_dir.string() + "\": " + ec.message());
  }
  RootRollback undo(gc_root_dir);
  std::set<fs::path> rooted;
  for (fs::path& p : rootKnownValid(known_valid, gc_root_dir, undo)) {
    rooted.insert(std::move(p));
  }
  for (const fs::path& p : store_paths) {
    if (rooted.count(p) > 0) {
      continue;
    }
    fs::path root = gc_root_dir / p.filename();
    undo.add(root);  // the builder may have created it even when it fails
    NIXSNAP_RETURN_IF_ERROR(build(p, root, cancel));
  }
  undo.dismiss();
  return Status::ok();
}

std::vector<fs::path> ExternalBuilderStore::rootKnownValid(const std::vector<fs::path>& known_valid,
                                                           const fs::path& gc_root_dir,
                                                           RootRollback& undo) {
  std::vector<fs::path> roots;
  auto giveBack = [&](std::string_view why, const Status& st) {
    NIXSNAP_LOG(Debug, "rooting valid paths without the builder failed; the builder roots them",
                {{"gc_root_dir", gc_root_dir.string()},
                 {"step", std::string(why)},
                 {"error", st.message()}});
    for (const fs::path& root : roots) {
      (void)removeRootLink(root);  // the builder makes its own outlink
    }
    return std::vector<fs::path>{};
  };
  for (const fs::path& p : known_valid) {
    fs::path root = gc_root_dir / p.filename();
    Status st = makeRootLink(root, p);
    if (!st.isOk()) {
      return giveBack("linking", st);
    }
    roots.push_back(std::move(root));
  }
  if (roots.empty()) {
    return {};
  }
  Status st = registrar_->registerRoots(roots);
  if (!st.isOk()) {
    return giveBack("registering", st);
  }
  for (const fs::path& root : roots) {
    undo.add(root);
  }
  std::vector<fs::path> out;
  for (const fs::path& p : known_valid) {
    boost::system::error_code ec;
    if (fs::exists(fs::symlink_status(p, ec))) {  // rooted now: it cannot go any more
      out.push_back(p);
    }
  }
  return out;
}

Status ExternalBuilderStore::build(const fs::path& p, const fs::path& root,
                                   const CancelToken& cancel) {
  ProcessOptions options;
  options.cancel = cancel;  // stops the builder; the caller's rollback removes the outlink
  Result<ProcessResult> r = runner_->run({executable_, root.string(), p.string()}, options);
  if (!r.isOk()) {
    return r.status().wrap("realising \"" + p.string() + "\" with external builder \"" +
                           executable_ + "\"");
  }
  if (r->exit_code != 0) {
    return internalError("realising \"" + p.string() +
                         "\": " + describeProcessFailure("external builder " + executable_, *r));
  }
  return Status::ok();
}

Status ExternalBuilderStore::removeRoots(const fs::path& gc_root_dir) {
  return reaper_.remove(gc_root_dir);
}

Result<std::vector<fs::path>> ExternalBuilderStore::requisites(const fs::path& store_path) {
  return requisitesOf(*runner_, nix_store_, nix_state_dir_, store_path);
}

}  // namespace nixsnap::nix
