#include "snapshotter/overlay_snapshotter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>
#include <utility>

#include "common/log.h"
#include "common/scope_guard.h"
#include "common/temp_dir.h"
#include "mount/mount_table.h"
#include "nix/gc_roots.h"
#include "snapshotter/disk_usage.h"
#include "snapshotter/filter.h"
#include "snapshotter/nix_labels.h"

namespace nixsnap::snapshotter {

namespace {

std::string quote(const std::string& s) { return "\"" + s + "\""; }

Status makeDir(const fs::path& p, mode_t mode) {
  if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) {
    return errnoStatus(errno, "creating directory \"" + p.string() + "\"");
  }
  return Status::ok();
}

/// Logs and forgets a failure that must not override the primary outcome.
void logFailure(const Status& st, std::string_view what) {
  if (!st.isOk()) {
    NIXSNAP_LOG(Warn, std::string(what), {{"error", st.message()}});
  }
}

/// containerd's labels.Validate: key plus value at most kMaxLabelSize bytes.
Status validateLabelSizes(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k.size() + v.size() > kMaxLabelSize) {
      return invalidArgument("label key and value length (" + std::to_string(k.size() + v.size()) +
                             " bytes) greater than maximum size (" + std::to_string(kMaxLabelSize) +
                             " bytes), key: " + quote(k.substr(0, 256)));
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<OverlaySnapshotter>> OverlaySnapshotter::create(OverlayConfig config,
                                                                       metadata::MetaStorePtr meta,
                                                                       nix::NixStorePtr store,
                                                                       ClockPtr clock) {
  NIXSNAP_RETURN_IF_ERROR(makeDir(config.root, 0700));
  NIXSNAP_RETURN_IF_ERROR(makeDir(config.root / "snapshots", 0700));
  NIXSNAP_RETURN_IF_ERROR(makeDir(config.root / "gcroots", 0700));
  std::unique_ptr<OverlaySnapshotter> sn(new OverlaySnapshotter(
      std::move(config), std::move(meta), std::move(store), std::move(clock)));
  int64_t last = sn->highestIdOnDisk();
  {
    Result<metadata::TransactionPtr> txn = sn->meta_->begin(false);
    if (!txn.isOk()) {
      return txn.status();
    }
    Result<int64_t> recorded = (*txn)->lastId();
    if (!recorded.isOk()) {
      return recorded.status().wrap("reading the highest snapshot id");
    }
    last = std::max(last, *recorded);
  }
  sn->last_id_ = last;
  return sn;
}

OverlaySnapshotter::OverlaySnapshotter(OverlayConfig config, metadata::MetaStorePtr meta,
                                       nix::NixStorePtr store, ClockPtr clock)
    : config_(std::move(config)),
      meta_(std::move(meta)),
      store_(std::move(store)),
      clock_(std::move(clock)),
      nix_(config_.store_dir, config_.root / "gcroots", store_.get()),
      pool_(config_.root / "pool", config_.dir_pool_depth) {}

int64_t OverlaySnapshotter::highestIdOnDisk() const {
  int64_t max = 0;
  for (const char* sub : {"snapshots", "gcroots"}) {
    boost::system::error_code ec;
    for (fs::directory_iterator it(config_.root / sub, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.rfind(nix::kDetachedPrefix, 0) == 0) {
        name.erase(0, std::string_view(nix::kDetachedPrefix).size());
      }
      max = std::max(max, NixLayer::idOfDirName(name).value_or(0));
    }
  }
  return max;
}

fs::path OverlaySnapshotter::upperPath(int64_t id) const {
  return config_.root / "snapshots" / std::to_string(id) / "fs";
}

fs::path OverlaySnapshotter::workPath(int64_t id) const {
  return config_.root / "snapshots" / std::to_string(id) / "work";
}

Result<Info> OverlaySnapshotter::stat(const std::string& key) {
  Result<metadata::TransactionPtr> txn = meta_->begin(false);
  if (!txn.isOk()) {
    return txn.status();
  }
  Result<metadata::Record> r = (*txn)->get(key);
  if (!r.isOk()) {
    return r.status();
  }
  return r->info;
}

Result<Info> OverlaySnapshotter::update(const Info& info,
                                        const std::vector<std::string>& field_paths) {
  NIXSNAP_RETURN_IF_ERROR(validateLabelSizes(info.labels));
  // No store-path validation: labels outside the mask are ignored, and the Nix labels
  // that result must equal the ones validated at Prepare (checked below).
  Result<metadata::TransactionPtr> txn = meta_->begin(true);
  if (!txn.isOk()) {
    return txn.status();
  }
  Result<metadata::Record> before = (*txn)->get(info.name);
  if (!before.isOk()) {
    return before.status();
  }
  Result<metadata::Record> r = (*txn)->update(info, field_paths, clock_->now());
  if (!r.isOk()) {
    return r.status();
  }
  // Rolled back by the transaction's destructor.
  NIXSNAP_RETURN_IF_ERROR(checkNixLabelsUnchanged(before->info.labels, r->info.labels));
  NIXSNAP_RETURN_IF_ERROR((*txn)->commit());
  nix_.invalidate();
  return r->info;
}

Result<Usage> OverlaySnapshotter::usage(const std::string& key) {
  Result<metadata::Record> r = notFound("");
  {
    Result<metadata::TransactionPtr> txn = meta_->begin(false);
    if (!txn.isOk()) {
      return txn.status();
    }
    r = (*txn)->get(key);
  }
  if (!r.isOk()) {
    return r.status();
  }
  if (r->info.kind == Kind::Active) {
    return diskUsage(upperPath(r->id));
  }
  if (r->usage || r->info.kind != Kind::Committed) {
    return r->usage.value_or(Usage{});
  }
  Result<Usage> u = diskUsage(upperPath(r->id));
  if (!u.isOk()) {
    return u.status().wrap("measuring committed snapshot " + quote(key));
  }
  Result<metadata::TransactionPtr> txn = meta_->begin(true);
  if (txn.isOk()) {
    Status st = (*txn)->setUsage(key, *u);
    if (st.isOk()) {
      st = (*txn)->commit();
    }
    logFailure(st, "failed to record usage of committed snapshot");
  }
  return u;
}

Result<std::vector<Mount>> OverlaySnapshotter::mounts(const std::string& key) {
  Result<MountPlan> plan = mountPlan(key);
  if (!plan.isOk()) {
    return plan.status();
  }
  return plan->flatten();
}

Result<std::vector<Mount>> OverlaySnapshotter::prepare(const std::string& key,
                                                       const std::string& parent,
                                                       const Labels& labels) {
  return createSnapshot(Kind::Active, key, parent, labels, CancelToken());
}

Result<std::vector<Mount>> OverlaySnapshotter::view(const std::string& key,
                                                    const std::string& parent,
                                                    const Labels& labels) {
  return createSnapshot(Kind::View, key, parent, labels, CancelToken());
}

Result<std::vector<Mount>> OverlaySnapshotter::prepare(const std::string& key,
                                                       const std::string& parent,
                                                       const Labels& labels,
                                                       const CancelToken& cancel) {
  return createSnapshot(Kind::Active, key, parent, labels, cancel);
}

Result<std::vector<Mount>> OverlaySnapshotter::view(const std::string& key,
                                                    const std::string& parent, const Labels& labels,
                                                    const CancelToken& cancel) {
  return createSnapshot(Kind::View, key, parent, labels, cancel);
}

int64_t OverlaySnapshotter::takeId() {
  std::lock_guard<std::mutex> lock(ids_mu_);
  int64_t id = ++last_id_;
  in_flight_.insert(id);
  return id;
}

void OverlaySnapshotter::releaseId(int64_t id) {
  std::lock_guard<std::mutex> lock(ids_mu_);
  in_flight_.erase(id);
}

Status OverlaySnapshotter::precheck(const std::string& key, const std::string& parent) {
  Result<metadata::TransactionPtr> txn = meta_->begin(false);
  if (!txn.isOk()) {
    return txn.status();
  }
  Result<metadata::Record> r = (*txn)->get(key);
  if (r.isOk()) {
    return alreadyExists("snapshot " + quote(key) + " already exists");
  }
  if (r.status().code() != ErrorCode::NotFound) {
    return r.status();
  }
  if (parent.empty()) {
    return Status::ok();
  }
  Result<metadata::Record> p = (*txn)->get(parent);
  if (!p.isOk()) {
    std::string what =
        p.status().code() == ErrorCode::NotFound ? "missing parent " : "reading parent ";
    return Status(p.status().code(), what + quote(parent) + " of snapshot " + quote(key) + ": " +
                                         p.status().message());
  }
  if (p->info.kind != Kind::Committed) {
    return invalidArgument("parent " + quote(parent) + " is not committed snapshot");
  }
  return Status::ok();
}

Status OverlaySnapshotter::checkTargetFree(const Labels& labels) {
  auto ref = labels.find(kLabelSnapshotRef);
  if (ref != labels.end() && !ref->second.empty()) {
    Result<Info> target = stat(ref->second);
    if (target.isOk()) {
      return alreadyExists("target snapshot " + quote(ref->second) + " already exists");
    }
  }
  return Status::ok();
}

Status OverlaySnapshotter::adoptParentOwner(const TempDir& tmp, const metadata::Snapshot& s,
                                            const std::string& key) const {
  if (s.parent_ids.empty()) {
    return Status::ok();
  }
  struct stat st {};
  fs::path parent_fs = upperPath(s.parent_ids.front());
  if (::stat(parent_fs.c_str(), &st) != 0) {
    return errnoStatus(errno, "inspecting parent layer \"" + parent_fs.string() + "\"");
  }
  if (::lchown((tmp.path() / "fs").c_str(), st.st_uid, st.st_gid) != 0) {
    return errnoStatus(errno, "changing owner of snapshot " + quote(key));
  }
  return Status::ok();
}

Status OverlaySnapshotter::moveIntoPlace(TempDir& tmp, const fs::path& dest) const {
  if (::rename(tmp.path().c_str(), dest.c_str()) != 0) {
    // An id can come back after a crash between rename and commit: that directory is an
    // orphan no record owns, so replace it.
    Status st = removeTree(dest);
    if (!st.isOk()) {
      return st.wrap("replacing orphaned snapshot directory");
    }
    if (::rename(tmp.path().c_str(), dest.c_str()) != 0) {
      return errnoStatus(errno, "renaming snapshot directory to \"" + dest.string() + "\"");
    }
  }
  tmp.keep();
  return Status::ok();
}

Result<std::vector<Mount>> OverlaySnapshotter::createSnapshot(Kind kind, const std::string& key,
                                                              const std::string& parent,
                                                              const Labels& labels,
                                                              const CancelToken& cancel) {
  if (key.empty()) {
    return invalidArgument("snapshot key must not be empty");
  }
  NIXSNAP_RETURN_IF_ERROR(validateLabelSizes(labels));
  NIXSNAP_RETURN_IF_ERROR(nix_.validate(labels));
  NIXSNAP_RETURN_IF_ERROR(checkTargetFree(labels));
  NIXSNAP_RETURN_IF_ERROR(precheck(key, parent));
  // Outside the writer lock: usually ready-made (DirPool), and it touches no record.
  Result<TempDir> tmp = pool_.take(kind == Kind::Active);
  if (!tmp.isOk()) {
    return tmp.status().wrap("preparing snapshot directory for " + quote(key));
  }
  // Realise and root outside the writer lock (it can take minutes) under an id of our
  // own; while in flight, cleanup() leaves gcroots/<id> alone. A crash leaves roots that
  // no record owns, which cleanup() removes. Released last: after any unroot below.
  // A failed or cancelled root() leaves nothing for us to remove: the NixStore removes
  // those roots (the RealiseScheduler, once, for a realisation it lets run on for others;
  // a cleanup() meanwhile leaves that folder to it).
  const int64_t id = takeId();
  ScopeGuard in_flight([&] { releaseId(id); });
  bool nix_layer = kind == Kind::Active && NixLayer::isNixLayer(labels);
  // Every labelled store path is realised and rooted here, nix layer or not: a path is
  // bind-mounted only while a root of this snapshot or an ancestor keeps it alive.
  bool rooted = NixLayer::hasStorePaths(labels);
  if (rooted) {
    Status st = nix_.root(id, labels, cancel);
    if (!st.isOk()) {
      return st.wrap(std::string(nix_layer ? "preparing nix layer " : "rooting store paths of ") +
                     quote(key));
    }
  }
  ScopeGuard unroot([&] {
    if (rooted) {
      logFailure(nix_.unroot(id), "failed to remove gc roots of failed prepare");
    }
  });
  if (cancel.cancelled()) {
    return Status(ErrorCode::Canceled, "preparing " + quote(key) + ": the caller gave up");
  }
  Result<metadata::TransactionPtr> txn_r = meta_->begin(true);
  if (!txn_r.isOk()) {
    return txn_r.status();
  }
  metadata::Transaction& txn = **txn_r;
  // A concurrent Prepare of the same key that got here first makes this AlreadyExists;
  // the guards above then remove this one's roots.
  Result<metadata::Snapshot> s = txn.createWithId(id, kind, key, parent, labels, clock_->now());
  if (!s.isOk()) {
    return s.status();
  }
  NIXSNAP_RETURN_IF_ERROR(adoptParentOwner(*tmp, *s, key));
  fs::path dest = config_.root / "snapshots" / std::to_string(id);
  NIXSNAP_RETURN_IF_ERROR(moveIntoPlace(*tmp, dest));
  ScopeGuard undo_dir(
      [&] { logFailure(removeTree(dest), "failed to remove new snapshot directory"); });
  Result<std::vector<Mount>> m = nix_layer ? baseMounts(*s) : fullMounts(txn, key, *s);
  if (!m.isOk()) {
    return m.status();
  }
  if (!nix_layer) {
    Status st = matchMountpoints(*s, *m);
    if (!st.isOk()) {
      return st.wrap("preparing mountpoints of " + quote(key));
    }
  }
  Status committed = txn.commit();
  if (committed.isOk() || txn.committed()) {
    // Visible even if its sync failed: the record owns the directory and roots now.
    undo_dir.dismiss();
    unroot.dismiss();
  }
  NIXSNAP_RETURN_IF_ERROR(committed);
  return m;
}

Status OverlaySnapshotter::commit(const std::string& name, const std::string& key,
                                  const Labels& labels) {
  if (name.empty()) {
    return invalidArgument("name of the committed snapshot must not be empty");
  }
  NIXSNAP_RETURN_IF_ERROR(validateLabelSizes(labels));
  NIXSNAP_RETURN_IF_ERROR(nix_.validate(labels));
  Result<metadata::TransactionPtr> txn = meta_->begin(true);
  if (!txn.isOk()) {
    return txn.status();
  }
  Labels final_labels = labels;
  Result<metadata::Record> active = (*txn)->get(key);
  if (!active.isOk() && active.status().code() != ErrorCode::NotFound) {
    return active.status().wrap("committing " + quote(key));  // not the labels' merge
  }
  if (active.isOk() && active->info.kind == Kind::Active) {
    Result<Labels> l = commitLabels(active->info.labels, labels);
    if (!l.isOk()) {
      return l.status().wrap("committing " + quote(key));
    }
    final_labels = std::move(*l);
  }  // else commitActive reports the missing key or the view
  Result<int64_t> id = (*txn)->commitActive(key, name, final_labels, std::nullopt, clock_->now());
  if (!id.isOk()) {
    return id.status();
  }
  return (*txn)->commit();
}

Status OverlaySnapshotter::remove(const std::string& key) {
  Result<metadata::TransactionPtr> txn = meta_->begin(true);
  if (!txn.isOk()) {
    return txn.status();
  }
  Result<metadata::Snapshot> s = (*txn)->remove(key);
  if (!s.isOk()) {
    return s.status().wrap("removing snapshot " + quote(key));
  }
  // Refused while mounted, before the record goes (rolled back by the destructor).
  Status mounted = checkNotMounted(config_.root / "snapshots" / std::to_string(s->id));
  if (!mounted.isOk()) {
    return mounted.wrap("removing snapshot " + quote(key));
  }
  NIXSNAP_RETURN_IF_ERROR((*txn)->commit());
  txn->reset();
  nix_.invalidate();
  nix_.forget(s->labels);
  // The record is gone: failures below only leave orphans for cleanup().
  logFailure(removeDirs(s->id), "failed to remove snapshot directory");
  logFailure(nix_.unroot(s->id), "failed to remove gc roots");
  return Status::ok();
}

Status OverlaySnapshotter::removeDirs(int64_t id) {
  return removeTree(config_.root / "snapshots" / std::to_string(id));
}

Status OverlaySnapshotter::checkNotMounted(const fs::path& dir) const {
  Result<std::vector<fs::path>> points = mount::mountPointsUnder(dir, config_.mountinfo);
  if (!points.isOk()) {
    return points.status().wrap("checking for mounts under \"" + dir.string() + "\"");
  }
  if (!points->empty()) {
    return failedPrecondition("\"" + points->front().string() + "\" is mounted inside \"" +
                              dir.string() + "\" (" + std::to_string(points->size()) +
                              " mount(s)); unmount before removing");
  }
  return Status::ok();
}

Status OverlaySnapshotter::removeTree(const fs::path& dir) const {
  NIXSNAP_RETURN_IF_ERROR(checkNotMounted(dir));
  boost::system::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) {
    return Status(errorCodeFromErrno(ec.value()),
                  "removing \"" + dir.string() + "\": " + ec.message());
  }
  return Status::ok();
}

Status OverlaySnapshotter::walk(const std::vector<std::string>& filters, const WalkFn& fn) {
  Result<Filter> filter = Filter::parse(filters);
  if (!filter.isOk()) {
    return filter.status();
  }
  Result<metadata::TransactionPtr> txn = meta_->begin(false);
  if (!txn.isOk()) {
    return txn.status();
  }
  return (*txn)->walk(
      [&](const metadata::Record& r) { return filter->match(r.info) ? fn(r.info) : Status::ok(); });
}

Status OverlaySnapshotter::cleanup() {
  std::vector<fs::path> dirs;
  std::vector<int64_t> roots;
  std::vector<fs::path> detached;
  {
    // A write transaction: no Prepare is between creating its record and renaming its
    // directory into snapshots/. One may be realising: its roots have no record yet.
    Result<metadata::TransactionPtr> txn = meta_->begin(true);
    if (!txn.isOk()) {
      return txn.status();
    }
    Result<std::set<int64_t>> ids = (*txn)->ids();
    if (!ids.isOk()) {
      return ids.status();
    }
    std::set<std::string> names;
    for (int64_t id : *ids) {
      names.insert(std::to_string(id));
    }
    fs::path snapshots = config_.root / "snapshots";
    boost::system::error_code ec;
    for (fs::directory_iterator it(snapshots, ec), end; !ec && it != end; it.increment(ec)) {
      if (names.count(it->path().filename().string()) == 0) {
        dirs.push_back(it->path());
      }
    }
    if (ec) {
      return Status(errorCodeFromErrno(ec.value()),
                    "listing \"" + snapshots.string() + "\": " + ec.message());
    }
    NixLayer::RootDirs root_dirs = nix_.listRootDirs();
    // Read after the listing: an in-flight Prepare marks its id before creating its root
    // folder and unmarks it only after committing its record or removing the folder.
    std::set<int64_t> in_flight;
    {
      std::lock_guard<std::mutex> lock(ids_mu_);
      in_flight = in_flight_;
    }
    for (int64_t id : root_dirs.ids) {
      if (ids->count(id) == 0 && in_flight.count(id) == 0) {
        roots.push_back(id);
      }
    }
    detached = std::move(root_dirs.detached);
  }
  // Every orphan is tried; the first failure is the result (a retry finishes the rest).
  // A directory with something mounted inside is left alone on purpose, not a failure.
  Status first;
  auto note = [&](const Status& st, std::string_view what) {
    logFailure(st, what);
    if (first.isOk() && !st.isOk() && st.code() != ErrorCode::FailedPrecondition) {
      first = st.wrap("cleanup");
    }
  };
  for (const fs::path& d : dirs) {
    note(removeTree(d), "failed to remove orphaned snapshot directory");
  }
  for (int64_t id : roots) {
    note(nix_.unroot(id), "failed to remove orphaned gc roots");
  }
  for (const fs::path& d : detached) {
    note(store_->removeRoots(d), "failed to remove detached gc roots");
  }
  return first;
}

}  // namespace nixsnap::snapshotter
