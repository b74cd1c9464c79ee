#include "metadata/sqlite_meta_store.h"

#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.h"
#include "metadata/bolt_check.h"
#include "metadata/group_sync.h"
#include "metadata/sqlite_db.h"

namespace nixsnap::metadata {

namespace {

using sqlite::Db;
using sqlite::Stmt;

constexpr int kSchemaVersion = 1;
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES snapshots(id),
  kind INTEGER NOT NULL,
  created_ns INTEGER NOT NULL,
  updated_ns INTEGER NOT NULL,
  usage_size INTEGER,
  usage_inodes INTEGER
);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent_id);
CREATE TABLE IF NOT EXISTS labels (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, name)
) WITHOUT ROWID;
)sql";

constexpr char kSelectRecord[] =
    "SELECT s.id, s.key, s.kind, s.created_ns, s.updated_ns, s.usage_size, s.usage_inodes, "
    "(SELECT p.key FROM snapshots p WHERE p.id = s.parent_id), s.parent_id FROM snapshots s ";

int64_t toNs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TimePoint fromNs(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

/// Pool of reader connections; each reader transaction borrows one.
class ReaderPool {
 public:
  explicit ReaderPool(std::string path) : path_(std::move(path)) {}
  Result<Db> acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        Db db = std::move(free_.back());
        free_.pop_back();
        return db;
      }
    }
    return Db::open(path_);
  }
  void release(Db db) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(db));
  }

 private:
  std::string path_;
  std::mutex mu_;
  std::vector<Db> free_;
};

class SqliteTransaction final : public Transaction {
 public:
  /// Writer: borrows `writer` under `lock`, commits durably through `group`. Reader: owns
  /// `reader`, returned to `pool`.
  SqliteTransaction(Db* writer, std::unique_lock<std::mutex> lock, GroupSync* group,
                    ReaderPool* pool, Db reader)
      : lock_(std::move(lock)), group_(group), pool_(pool), reader_(std::move(reader)) {
    conn_ = writer != nullptr ? writer : &reader_;
    db_ = conn_->get();
    changes_at_begin_ = sqlite3_total_changes64(db_);
  }

  ~SqliteTransaction() override {
    if (!done_) {
      Status st = conn_->execCached("ROLLBACK");
      if (!st.isOk()) {
        NIXSNAP_LOG(Warn, "failed to roll back metadata transaction", {{"error", st.message()}});
      }
    }
    if (pool_ != nullptr) {
      pool_->release(std::move(reader_));
    }
  }

  Result<Record> get(const std::string& key) override {
    Stmt st(*conn_, std::string(kSelectRecord) + "WHERE s.key = ?");
    st.bind(1, key);
    return readOne(st, "snapshot " + quote(key));
  }

  Result<Snapshot> getActive(const std::string& key) override {
    Result<Record> r = get(key);
    if (!r.isOk()) {
      return r.status();
    }
    if (r->info.kind != Kind::Active && r->info.kind != Kind::View) {
      return failedPrecondition("requested snapshot " + quote(key) + " not active or view");
    }
    return snapshotOf(*r);
  }

  Result<std::vector<Record>> ancestors(const std::string& key) override {
    Result<Record> r = get(key);
    if (!r.isOk()) {
      return r.status();
    }
    std::vector<Record> out;
    int64_t pid = parent_id_;
    while (pid != 0) {
      Stmt st(*conn_, std::string(kSelectRecord) + "WHERE s.id = ?");
      st.bind(1, pid);
      Result<Record> p = readOne(st, "parent of snapshot " + quote(key));
      if (!p.isOk()) {
        return p.status();
      }
      pid = parent_id_;
      out.push_back(std::move(*p));
    }
    return out;
  }

  Result<Snapshot> create(Kind kind, const std::string& key, const std::string& parent,
                          const Labels& labels, TimePoint now) override {
    return insert(std::nullopt, kind, key, parent, labels, now);
  }

  Result<Snapshot> createWithId(int64_t id, Kind kind, const std::string& key,
                                const std::string& parent, const Labels& labels,
                                TimePoint now) override {
    if (id < 1) {
      return invalidArgument("creating snapshot " + quote(key) + ": id " + std::to_string(id) +
                             " is not positive");
    }
    return insert(id, kind, key, parent, labels, now);
  }

  Result<int64_t> lastId() override {
    Stmt st(*conn_,
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'snapshots'), 0), "
            "coalesce((SELECT max(id) FROM snapshots), 0))");
    bool row = st.step();
    NIXSNAP_RETURN_IF_ERROR(st.status());
    return row ? st.int64(0) : int64_t{0};
  }

  Result<Snapshot> insert(std::optional<int64_t> id, Kind kind, const std::string& key,
                          const std::string& parent, const Labels& labels, TimePoint now) {
    if (kind != Kind::Active && kind != Kind::View) {
      return invalidArgument("creating snapshot " + quote(key) +
                             ": only active or view snapshots can be created");
    }
    int64_t parent_id = 0;
    if (!parent.empty()) {
      Result<Record> p = get(parent);
      if (!p.isOk()) {
        std::string what =
            p.status().code() == ErrorCode::NotFound ? "missing parent " : "reading parent ";
        return Status(p.status().code(), what + quote(parent) + " of snapshot " + quote(key) +
                                             ": " + p.status().message());
      }
      if (p->info.kind != Kind::Committed) {
        return invalidArgument("parent " + quote(parent) + " is not committed snapshot");
      }
      parent_id = p->id;
    }
    Result<bool> taken = exists(key);
    if (!taken.isOk()) {
      return taken.status();
    }
    if (*taken) {
      return alreadyExists("snapshot " + quote(key) + " already exists");
    }
    if (id) {
      Stmt used(*conn_, "SELECT 1 FROM snapshots WHERE id = ?");
      used.bind(1, *id);
      bool row = used.step();
      NIXSNAP_RETURN_IF_ERROR(used.status());
      if (row) {
        return alreadyExists("creating snapshot " + quote(key) + ": id " + std::to_string(*id) +
                             " is already used");
      }
    }
    // An explicit id above the AUTOINCREMENT sequence moves the sequence up to it.
    Stmt ins(*conn_,
             "INSERT INTO snapshots (key, parent_id, kind, created_ns, updated_ns, id) "
             "VALUES (?, ?, ?, ?, ?, ?)");
    ins.bind(1, key);
    if (parent_id != 0) {
      ins.bind(2, parent_id);
    } else {
      ins.bindNull(2);
    }
    ins.bind(3, static_cast<int64_t>(kind)).bind(4, toNs(now)).bind(5, toNs(now));
    if (id) {
      ins.bind(6, *id);
    } else {
      ins.bindNull(6);
    }
    NIXSNAP_RETURN_IF_ERROR(ins.run());
    int64_t new_id = sqlite3_last_insert_rowid(db_);
    NIXSNAP_RETURN_IF_ERROR(writeLabels(new_id, labels));
    Snapshot s{new_id, kind, {}, labels};
    if (parent_id != 0) {
      s.parent_ids.push_back(parent_id);
      NIXSNAP_RETURN_IF_ERROR(appendAncestorIds(parent_id, s.parent_ids));
    }
    return s;
  }

  Status reserveIds(int64_t through) override {
    // AUTOINCREMENT hands out max(seq, max rowid) + 1; sqlite_sequence is an ordinary table.
    Stmt ins(*conn_,
             "INSERT INTO sqlite_sequence (name, seq) SELECT 'snapshots', ?1 "
             "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'snapshots')");
    ins.bind(1, through);
    NIXSNAP_RETURN_IF_ERROR(ins.run());
    Stmt up(*conn_, "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'snapshots' AND seq < ?1");
    up.bind(1, through);
    return up.run();
  }

  Result<Record> update(const Info& info, const std::vector<std::string>& paths,
                        TimePoint now) override {
    Result<Record> r = get(info.name);
    if (!r.isOk()) {
      return r.status();
    }
    Labels labels = r->info.labels;
    if (paths.empty()) {
      labels = info.labels;
    }
    for (const std::string& path : paths) {
      if (path.rfind("labels.", 0) == 0) {
        std::string k = path.substr(7);
        auto it = info.labels.find(k);
        if (it == info.labels.end() || it->second.empty()) {
          labels.erase(k);
        } else {
          labels[k] = it->second;
        }
      } else if (path == "labels") {
        labels = info.labels;
      } else {
        return invalidArgument("cannot update " + quote(path) + " field on snapshot " +
                               quote(info.name));
      }
    }
    Stmt up(*conn_, "UPDATE snapshots SET updated_ns = ? WHERE id = ?");
    up.bind(1, toNs(now)).bind(2, r->id);
    NIXSNAP_RETURN_IF_ERROR(up.run());
    NIXSNAP_RETURN_IF_ERROR(writeLabels(r->id, labels));
    r->info.labels = std::move(labels);
    r->info.updated = now;
    return r;
  }

  Result<int64_t> commitActive(const std::string& key, const std::string& name,
                               const Labels& labels, std::optional<Usage> usage,
                               TimePoint now) override {
    Result<bool> taken = exists(name);
    if (!taken.isOk()) {
      return taken.status();
    }
    if (*taken) {
      // Also when name == key: the name is taken by the active snapshot itself.
      return alreadyExists("cannot commit to " + quote(name) + ": a snapshot named " + quote(name) +
                           " already exists");
    }
    Result<Record> r = get(key);
    if (!r.isOk()) {
      return notFound("failed to get active snapshot " + quote(key));
    }
    if (r->info.kind != Kind::Active) {
      return failedPrecondition("snapshot " + quote(key) + " is not active");
    }
    Stmt up(*conn_,
            "UPDATE snapshots SET key = ?, kind = ?, created_ns = ?, updated_ns = ?, "
            "usage_size = ?, usage_inodes = ? WHERE id = ?");
    up.bind(1, name).bind(2, static_cast<int64_t>(Kind::Committed));
    up.bind(3, toNs(now)).bind(4, toNs(now)).bind(7, r->id);
    if (usage) {
      up.bind(5, usage->size_bytes).bind(6, usage->inodes);
    } else {
      up.bindNull(5).bindNull(6);
    }
    NIXSNAP_RETURN_IF_ERROR(up.run());
    NIXSNAP_RETURN_IF_ERROR(writeLabels(r->id, labels));
    return r->id;
  }

  Status setUsage(const std::string& name, const Usage& usage) override {
    Stmt up(*conn_, "UPDATE snapshots SET usage_size = ?, usage_inodes = ? WHERE key = ?");
    up.bind(1, usage.size_bytes).bind(2, usage.inodes).bind(3, name);
    NIXSNAP_RETURN_IF_ERROR(up.run());
    if (sqlite3_changes(db_) == 0) {
      return notFound("snapshot " + quote(name) + " does not exist");
    }
    return Status::ok();
  }

  Result<Snapshot> remove(const std::string& key) override {
    Result<Record> r = get(key);
    if (!r.isOk()) {
      return r.status();
    }
    Stmt child(*conn_, "SELECT 1 FROM snapshots WHERE parent_id = ? LIMIT 1");
    child.bind(1, r->id);
    if (child.step()) {
      return failedPrecondition("cannot remove snapshot " + quote(key) + " with child");
    }
    NIXSNAP_RETURN_IF_ERROR(child.status());
    Stmt del(*conn_, "DELETE FROM snapshots WHERE id = ?");
    del.bind(1, r->id);
    NIXSNAP_RETURN_IF_ERROR(del.run());
    return Snapshot{r->id, r->info.kind, {}, r->info.labels};
  }

  Status walk(const RecordFn& fn) override {
    std::unordered_map<int64_t, Labels> all_labels;
    Stmt ls(*conn_, "SELECT snapshot_id, name, value FROM labels");
    while (ls.step()) {
      all_labels[ls.int64(0)].emplace(ls.text(1), ls.text(2));
    }
    NIXSNAP_RETURN_IF_ERROR(ls.status());
    Stmt st(*conn_, std::string(kSelectRecord) + "ORDER BY s.key");
    while (st.step()) {
      Record rec = readRow(st);
      auto it = all_labels.find(rec.id);
      if (it != all_labels.end()) {
        rec.info.labels = std::move(it->second);
      }
      NIXSNAP_RETURN_IF_ERROR(fn(rec));
    }
    return st.status();
  }

  Result<std::set<int64_t>> ids() override {
    std::set<int64_t> out;
    Stmt st(*conn_, "SELECT id FROM snapshots");
    while (st.step()) {
      out.insert(st.int64(0));
    }
    NIXSNAP_RETURN_IF_ERROR(st.status());
    return out;
  }

  /// A write transaction's COMMIT only appends to the WAL (synchronous=NORMAL); the
  /// writer lock is released before waiting for the group sync, so the next writer runs
  /// while this one's frames are being flushed. A write transaction that changed nothing
  /// still waits until everything committed before it is durable (what it read may have
  /// been a commit whose sync is still running).
  Status commit() override {
    done_ = true;
    bool wrote = sqlite3_total_changes64(db_) != changes_at_begin_;
    Status st = conn_->execCached("COMMIT");
    if (!st.isOk()) {
      (void)conn_->execCached("ROLLBACK");
      return internalError("committing metadata transaction: " + st.message());
    }
    committed_ = true;
    if (group_ == nullptr) {
      return Status::ok();
    }
    uint64_t ticket = wrote ? group_->noteCommitted() : group_->lastTicket();
    lock_.unlock();
    return group_->waitDurable(ticket);
  }

  bool committed() const override { return committed_; }

 private:
  Record readRow(Stmt& st) {
    Record rec;
    rec.id = st.int64(0);
    rec.info.name = st.text(1);
    rec.info.kind = static_cast<Kind>(st.int64(2));
    rec.info.created = fromNs(st.int64(3));
    rec.info.updated = fromNs(st.int64(4));
    if (!st.isNull(5)) {
      rec.usage = Usage{st.int64(5), st.int64(6)};
    }
    rec.info.parent = st.text(7);
    parent_id_ = st.isNull(8) ? 0 : st.int64(8);
    return rec;
  }

  Result<Record> readOne(Stmt& st, const std::string& what) {
    if (!st.step()) {
      NIXSNAP_RETURN_IF_ERROR(st.status());
      return notFound(what + " does not exist");
    }
    Record rec = readRow(st);
    int64_t pid = parent_id_;
    Stmt ls(*conn_, "SELECT name, value FROM labels WHERE snapshot_id = ?");
    ls.bind(1, rec.id);
    while (ls.step()) {
      rec.info.labels.emplace(ls.text(0), ls.text(1));
    }
    NIXSNAP_RETURN_IF_ERROR(ls.status());
    parent_id_ = pid;
    return rec;
  }

  /// The snapshot with its ancestor ids; a failed ancestor query is an error (a short
  /// chain would give Mounts a wrong lowerdir).
  Result<Snapshot> snapshotOf(const Record& r) {
    Snapshot s{r.id, r.info.kind, {}, r.info.labels};
    int64_t pid = parent_id_;
    if (pid != 0) {
      s.parent_ids.push_back(pid);
      NIXSNAP_RETURN_IF_ERROR(appendAncestorIds(pid, s.parent_ids)
                                  .wrap("reading ancestors of snapshot " + quote(r.info.name)));
    }
    return s;
  }

  Status appendAncestorIds(int64_t id, std::vector<int64_t>& out) {
    Stmt st(*conn_,
            "WITH RECURSIVE chain(id, parent_id, depth) AS ("
            "  SELECT id, parent_id, 0 FROM snapshots WHERE id = ?"
            "  UNION ALL SELECT s.id, s.parent_id, c.depth + 1 FROM snapshots s"
            "  JOIN chain c ON s.id = c.parent_id)"
            " SELECT id FROM chain WHERE depth > 0 ORDER BY depth");
    st.bind(1, id);
    while (st.step()) {
      out.push_back(st.int64(0));
    }
    return st.status();
  }

  /// @return whether a record has `key`; the statement's error when the query fails.
  Result<bool> exists(const std::string& key) {
    Stmt st(*conn_, "SELECT 1 FROM snapshots WHERE key = ?");
    st.bind(1, key);
    bool found = st.step();
    NIXSNAP_RETURN_IF_ERROR(st.status());
    return found;
  }

  Status writeLabels(int64_t id, const Labels& labels) {
    Stmt del(*conn_, "DELETE FROM labels WHERE snapshot_id = ?");
    del.bind(1, id);
    NIXSNAP_RETURN_IF_ERROR(del.run());
    for (const auto& [k, v] : labels) {
      Stmt ins(*conn_, "INSERT INTO labels (snapshot_id, name, value) VALUES (?, ?, ?)");
      ins.bind(1, id).bind(2, k).bind(3, v);
      NIXSNAP_RETURN_IF_ERROR(ins.run());
    }
    return Status::ok();
  }

  Db* conn_;     ///< the writer, or &reader_
  sqlite3* db_;  ///< conn_->get()
  std::unique_lock<std::mutex> lock_;
  GroupSync* group_;  ///< null for readers
  ReaderPool* pool_;
  Db reader_;
  bool done_ = false;
  bool committed_ = false;        ///< COMMIT succeeded (its sync may still fail)
  int64_t changes_at_begin_ = 0;  ///< sqlite3_total_changes64 when the transaction began
  int64_t parent_id_ = 0;         ///< parent id of the row last read by readRow()
};

class SqliteMetaStore final : public MetaStore {
 public:
  SqliteMetaStore(Db writer, std::string path, std::unique_ptr<GroupSync> group)
      : writer_(std::move(writer)), group_(std::move(group)), readers_(path) {}

  Result<TransactionPtr> begin(bool writable) override {
    if (writable) {
      std::unique_lock<std::mutex> lock(writer_mu_);
      NIXSNAP_RETURN_IF_ERROR(writer_.execCached("BEGIN IMMEDIATE"));
      return TransactionPtr(std::make_unique<SqliteTransaction>(&writer_, std::move(lock),
                                                                group_.get(), nullptr, Db()));
    }
    Result<Db> reader = readers_.acquire();
    if (!reader.isOk()) {
      return reader.status();
    }
    Db db = std::move(*reader);
    Status st = db.execCached("BEGIN");
    if (!st.isOk()) {
      return st;
    }
    return TransactionPtr(std::make_unique<SqliteTransaction>(
        nullptr, std::unique_lock<std::mutex>(), nullptr, &readers_, std::move(db)));
  }

 private:
  std::mutex writer_mu_;
  Db writer_;
  std::unique_ptr<GroupSync> group_;
  ReaderPool readers_;
};

}  // namespace

Result<MetaStorePtr> openSqliteMetaStore(const fs::path& db_path) {
  auto wal = std::make_shared<WalFile>(db_path);
  return openSqliteMetaStore(db_path, [wal] { return wal->sync(); });
}

Result<MetaStorePtr> openSqliteMetaStore(const fs::path& db_path, WalSyncFn wal_sync) {
  NIXSNAP_RETURN_IF_ERROR(refuseBoltDatabase(db_path));  // the original's root, not ours
  Result<Db> db = Db::open(db_path.string());
  if (!db.isOk()) {
    return db.status();
  }
  NIXSNAP_RETURN_IF_ERROR(db->exec("PRAGMA journal_mode=WAL"));
  NIXSNAP_RETURN_IF_ERROR(db->exec(std::string("BEGIN IMMEDIATE;") + kSchema +
                                   "PRAGMA user_version=" + std::to_string(kSchemaVersion) +
                                   ";COMMIT;"));
  // From here on COMMIT only appends to the WAL; GroupSync makes each commit durable
  // before it is acknowledged. SQLite still syncs the WAL before every checkpoint, the
  // database after it, and a restarted WAL's header before its first frame.
  NIXSNAP_RETURN_IF_ERROR(db->exec("PRAGMA synchronous=NORMAL"));
  auto group = std::make_unique<GroupSync>(std::move(wal_sync));
  Status synced = group->waitDurable(group->noteCommitted());
  if (!synced.isOk()) {
    return synced.wrap("opening metadata database \"" + db_path.string() + "\"");
  }
  return MetaStorePtr(
      std::make_unique<SqliteMetaStore>(std::move(*db), db_path.string(), std::move(group)));
}

}  // namespace nixsnap::metadata
