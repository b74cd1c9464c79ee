#include "nix/external_builder_store.h"

#include <unistd.h>

#include <utility>

#include "common/log.h"
#include "nix/gc_roots.h"
#include "nix/requisites_query.h"

namespace nixsnap::nix {

ExternalBuilderStore::ExternalBuilderStore(ProcessRunnerPtr runner, std::string executable,
                                           fs::path nix_state_dir, std::string nix_store)
    : runner_(std::move(runner)),
      executable_(std::move(executable)),
      nix_state_dir_(std::move(nix_state_dir)),
      nix_store_(std::move(nix_store)) {}

Status ExternalBuilderStore::realise(const std::vector<fs::path>& store_paths,
                                     const fs::path& gc_root_dir) {
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
  for (const fs::path& p : store_paths) {
    fs::path root = gc_root_dir / p.filename();
    undo.add(root);  // the builder may have created it even when it fails
    Result<ProcessResult> r = runner_->run({executable_, root.string(), p.string()});
    if (!r.isOk()) {
      return r.status().wrap("realising \"" + p.string() + "\" with external builder \"" +
                             executable_ + "\"");
    }
    if (r->exit_code != 0) {
      std::string err = r->stderr_data;
      while (!err.empty() && err.back() == '\n') {
        err.pop_back();
      }
      return internalError("realising \"" + p.string() + "\" with external builder \"" +
                           executable_ + "\": exited " + std::to_string(r->exit_code) + ": " + err);
    }
  }
  undo.dismiss();
  return Status::ok();
}

Status ExternalBuilderStore::removeRoots(const fs::path& gc_root_dir) {
  return reaper_.remove(gc_root_dir);
}

Result<std::vector<fs::path>> ExternalBuilderStore::requisites(const fs::path& store_path) {
  return requisitesOf(*runner_, nix_store_, nix_state_dir_, store_path);
}

}  // namespace nixsnap::nix
