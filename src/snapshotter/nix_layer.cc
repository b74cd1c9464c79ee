#include "snapshotter/nix_layer.h"

#include <string>
#include <unordered_set>
#include <utility>

#include "common/log.h"
#include "common/scope_guard.h"
#include "nix/gc_roots.h"
#include "nix/store_path.h"
#include "snapshotter/nix_closure.h"

namespace nixsnap::snapshotter {

namespace {

constexpr std::string_view kPrefix = kLabelNixStorePathPrefix;

bool isStorePathLabel(const std::string& key) {
  return key.size() > kPrefix.size() && key.compare(0, kPrefix.size(), kPrefix) == 0;
}

Mount bindOf(const fs::path& p) { return Mount{"bind", p.string(), p.string(), {"ro", "rbind"}}; }

}  // namespace

NixLayer::NixLayer(fs::path store_dir, fs::path gcroots_dir, nix::NixStore* store)
    : store_dir_(std::move(store_dir)), gcroots_dir_(std::move(gcroots_dir)), store_(store) {}

bool NixLayer::isNixLayer(const Labels& labels) {
  return labels.count(kLabelNixLayer) > 0 || labels.count(kLabelNixClosure) > 0;
}

std::optional<fs::path> NixLayer::closurePath(const Labels& labels) {
  auto it = labels.find(kLabelNixClosure);
  if (it == labels.end()) {
    return std::nullopt;
  }
  return fs::path(it->second);
}

bool NixLayer::hasStorePaths(const Labels& labels) {
  return closurePath(labels).has_value() || !storePaths(labels).empty();
}

std::vector<fs::path> NixLayer::storePaths(const Labels& labels) {
  std::vector<fs::path> out;
  for (auto it = labels.lower_bound(std::string(kPrefix)); it != labels.end(); ++it) {
    if (it->first.compare(0, kPrefix.size(), kPrefix) != 0) {
      break;
    }
    if (isStorePathLabel(it->first)) {
      out.emplace_back(it->second);
    }
  }
  return out;
}

Status NixLayer::validate(const Labels& labels) const {
  if (auto it = labels.find(kLabelNixClosure); it != labels.end()) {
    Result<fs::path> p = nix::parseStorePath(store_dir_, it->second);
    if (!p.isOk()) {
      return invalidArgument("validating label \"" + it->first + "\": " + p.status().message());
    }
  }
  for (auto it = labels.lower_bound(std::string(kPrefix)); it != labels.end(); ++it) {
    if (it->first.compare(0, kPrefix.size(), kPrefix) != 0) {
      break;
    }
    Result<fs::path> p = nix::parseStorePath(store_dir_, it->second);
    if (!p.isOk()) {
      return invalidArgument("validating label \"" + it->first + "\": " + p.status().message());
    }
  }
  return Status::ok();
}

fs::path NixLayer::rootDir(int64_t id) const { return gcroots_dir_ / std::to_string(id); }

Status NixLayer::root(int64_t id, const Labels& labels, const CancelToken& cancel) {
  std::vector<fs::path> paths = storePaths(labels);
  std::optional<fs::path> closure = closurePath(labels);
  if (closure) {
    paths.push_back(*closure);  // one root keeps the whole closure alive
  }
  if (paths.empty()) {
    return Status::ok();
  }
  NIXSNAP_RETURN_IF_ERROR(store_->realise(paths, rootDir(id), cancel));
  ScopeGuard undo([&] {
    Status st = unroot(id);
    if (!st.isOk()) {  // the check failure is the outcome; cleanup() retries leftovers
      NIXSNAP_LOG(Warn, "failed to remove gc roots of rejected nix layer",
                  {{"error", st.message()}});
    }
  });
  for (auto it = labels.lower_bound(std::string(kPrefix)); it != labels.end(); ++it) {
    if (it->first.compare(0, kPrefix.size(), kPrefix) != 0) {
      break;
    }
    if (!isStorePathLabel(it->first)) {
      continue;
    }
    Status st = verify(fs::path(it->second));
    if (!st.isOk()) {
      return invalidArgument("realised store path of label \"" + it->first +
                             "\" failed the disk check: " + st.message());
    }
  }
  if (closure) {
    Status st = verify(*closure);
    if (!st.isOk()) {
      return invalidArgument("realised store path of label \"" + std::string(kLabelNixClosure) +
                             "\" failed the disk check: " + st.message());
    }
    Result<PathListPtr> list = loadClosure(*closure);
    if (!list.isOk()) {
      return list.status().wrap("reading closure of label \"" + std::string(kLabelNixClosure) +
                                "\"");
    }
  }
  undo.dismiss();
  return Status::ok();
}

Result<NixLayer::PathListPtr> NixLayer::loadClosure(const fs::path& closure) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = closures_.find(closure.string());
    if (it != closures_.end()) {
      return it->second;
    }
  }
  Result<std::vector<fs::path>> req = store_->requisites(closure);
  if (!req.isOk()) {
    return req.status();
  }
  std::unordered_set<std::string> members;
  members.reserve(req->size());
  for (const fs::path& p : *req) {
    members.insert(p.string());
  }
  Result<std::vector<fs::path>> list = readClosureStorePaths(store_dir_, closure, members);
  if (!list.isOk()) {
    return list.status();
  }
  for (const fs::path& p : *list) {
    Status st = verify(p);
    if (!st.isOk()) {
      return st.wrap("closure \"" + closure.string() + "\"");
    }
  }
  auto ptr = std::make_shared<const PathList>(std::move(*list));
  std::lock_guard<std::mutex> lock(mu_);
  closures_.emplace(closure.string(), ptr);
  return PathListPtr(ptr);
}

Result<NixLayer::PathList> NixLayer::pathsOf(const Labels& labels) {
  PathList out;
  if (std::optional<fs::path> closure = closurePath(labels)) {
    Result<PathListPtr> list = loadClosure(*closure);
    if (!list.isOk()) {
      return list.status();
    }
    out = **list;
  }
  for (fs::path& p : storePaths(labels)) {
    NIXSNAP_RETURN_IF_ERROR(verify(p));
    out.push_back(std::move(p));
  }
  return out;
}

void NixLayer::forget(const Labels& labels) {
  if (std::optional<fs::path> closure = closurePath(labels)) {
    std::lock_guard<std::mutex> lock(mu_);
    closures_.erase(closure->string());
  }
}

Status NixLayer::verify(const fs::path& p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.count(p.string()) > 0) {
      return Status::ok();
    }
  }
  NIXSNAP_RETURN_IF_ERROR(nix::checkStorePathOnDisk(store_dir_, p));
  std::lock_guard<std::mutex> lock(mu_);
  verified_.insert(p.string());
  return Status::ok();
}

Status NixLayer::unroot(int64_t id) { return store_->removeRoots(rootDir(id)); }

std::optional<int64_t> NixLayer::idOfDirName(const std::string& name) {
  if (name.empty() || name.size() > 18 ||
      name.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(name);
}

NixLayer::RootDirs NixLayer::listRootDirs() const {
  RootDirs out;
  boost::system::error_code ec;
  for (fs::directory_iterator it(gcroots_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (std::optional<int64_t> id = idOfDirName(name)) {
      out.ids.push_back(*id);
    } else if (name.rfind(nix::kDetachedPrefix, 0) == 0) {
      out.detached.push_back(it->path());
    }
  }
  return out;
}

Result<BindChainPtr> NixLayer::chainOf(int64_t parent_id, const ChainLoader& load_chain) {
  uint64_t gen = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = chains_.find(parent_id);
    if (it != chains_.end()) {
      return it->second;
    }
    gen = generation_;
  }
  Result<std::vector<Labels>> labels = load_chain();
  if (!labels.isOk()) {
    return labels.status();
  }
  PathList list;
  std::unordered_set<std::string> seen;
  for (const Labels& l : *labels) {
    Result<PathList> paths = pathsOf(l);
    if (!paths.isOk()) {
      return paths.status();
    }
    for (fs::path& p : *paths) {
      if (seen.insert(p.string()).second) {
        list.push_back(std::move(p));
      }
    }
  }
  auto chain = std::make_shared<const BindChain>(std::move(list));
  std::lock_guard<std::mutex> lock(mu_);
  if (gen == generation_) {  // an invalidate() since the load may have made it stale
    chains_[parent_id] = chain;
  }
  return BindChainPtr(chain);
}

Status NixLayer::planBinds(const Labels& own, int64_t parent_id, const ChainLoader& load_chain,
                           MountPlan& plan) {
  Result<PathList> own_r = pathsOf(own);
  if (!own_r.isOk()) {
    return own_r.status();
  }
  const PathList& own_paths = *own_r;
  BindChainPtr chain;
  if (parent_id != 0) {
    Result<BindChainPtr> c = chainOf(parent_id, load_chain);
    if (!c.isOk()) {
      return c.status();
    }
    chain = std::move(*c);
  }
  std::vector<Mount>& out = plan.head;
  out.reserve(out.size() + own_paths.size());
  std::unordered_set<std::string> seen;
  for (const fs::path& p : own_paths) {
    if (seen.insert(p.string()).second) {
      out.push_back(bindOf(p));
    }
  }
  if (!chain || chain->paths().empty()) {
    return Status::ok();
  }
  bool overlap = false;
  if (!seen.empty()) {
    for (const fs::path& p : chain->paths()) {
      if (seen.count(p.string()) > 0) {
        overlap = true;
        break;
      }
    }
  }
  if (!overlap) {
    plan.chain = std::move(chain);
    return Status::ok();
  }
  out.reserve(out.size() + chain->paths().size());
  for (const fs::path& p : chain->paths()) {
    if (seen.count(p.string()) == 0) {
      out.push_back(bindOf(p));
    }
  }
  return Status::ok();
}

Status NixLayer::appendBinds(const Labels& own, int64_t parent_id, const ChainLoader& load_chain,
                             std::vector<Mount>& out) {
  MountPlan plan;
  NIXSNAP_RETURN_IF_ERROR(planBinds(own, parent_id, load_chain, plan));
  size_t n = plan.head.size() + (plan.chain ? plan.chain->paths().size() : 0);
  out.reserve(out.size() + n);
  for (Mount& m : plan.head) {
    out.push_back(std::move(m));
  }
  if (plan.chain) {
    for (const fs::path& p : plan.chain->paths()) {
      out.push_back(bindOf(p));
    }
  }
  return Status::ok();
}

void NixLayer::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  chains_.clear();
}

}  // namespace nixsnap::snapshotter
