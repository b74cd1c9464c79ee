#include "metadata/sqlite_db.h"

#include <chrono>

namespace nixsnap::metadata::sqlite {

namespace {
constexpr int kBusyTimeoutMs = 10000;
}  // namespace

Db::Db(sqlite3* db) : conn_(std::make_unique<Conn>()) { conn_->db = db; }

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    close();
    conn_ = std::move(o.conn_);
  }
  return *this;
}

Db::~Db() { close(); }

void Db::close() {
  if (conn_ == nullptr) {
    return;
  }
  for (auto& [sql, c] : conn_->cache) {
    sqlite3_finalize(c.stmt);
  }
  conn_->cache.clear();
  if (conn_->db != nullptr) {
    sqlite3_close_v2(conn_->db);
  }
  conn_.reset();
}

Result<Db> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return internalError("opening metadata database \"" + path + "\": " + msg);
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  NIXSNAP_RETURN_IF_ERROR(db.exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"));
  return db;
}

Status Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(get(), s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return internalError("running \"" + s + "\": " + msg);
  }
  return Status::ok();
}

Status Db::execCached(std::string_view sql) {
  Stmt st(*this, sql);
  Status s = st.run();
  if (!s.isOk()) {
    return internalError("running \"" + std::string(sql) + "\": " + sqlite3_errmsg(get()));
  }
  return Status::ok();
}

Status Db::error(std::string_view what) const {
  return internalError(std::string(what) + ": " + sqlite3_errmsg(get()));
}

Stmt::Stmt(Db& db, std::string_view sql) : db_(db.get()) {
  auto& cache = db.conn_->cache;
  auto it = cache.find(std::string(sql));
  if (it != cache.end() && !it->second.in_use) {
    stmt_ = it->second.stmt;
    cached_ = &it->second;
    cached_->in_use = true;
    return;
  }
  // Cache miss, or the cached statement is being stepped by an enclosing Stmt on this
  // connection: prepare (persistent when it will be cached, private otherwise).
  bool cache_it = it == cache.end();
  last_code_ = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  cache_it ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_, nullptr);
  if (last_code_ != SQLITE_OK) {
    status_ = internalError("preparing \"" + std::string(sql) + "\": " + sqlite3_errmsg(db_));
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    return;
  }
  if (cache_it) {
    cached_ = &cache.emplace(std::string(sql), Db::Cached{stmt_, true}).first->second;
  }
}

Stmt::~Stmt() {
  if (cached_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  cached_->in_use = false;
}

Stmt& Stmt::bind(int i, int64_t v) {
  if (stmt_ != nullptr) {
    sqlite3_bind_int64(stmt_, i, v);
  }
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  if (stmt_ != nullptr) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Stmt& Stmt::bindNull(int i) {
  if (stmt_ != nullptr) {
    sqlite3_bind_null(stmt_, i);
  }
  return *this;
}

bool Stmt::step() {
  if (stmt_ == nullptr || !status_.isOk()) {
    return false;
  }
  last_code_ = sqlite3_step(stmt_);
  if (last_code_ == SQLITE_ROW) {
    return true;
  }
  if (last_code_ != SQLITE_DONE) {
    status_ = internalError(std::string("running statement: ") + sqlite3_errmsg(db_));
  }
  return false;
}

Status Stmt::run() {
  while (step()) {
  }
  return status_;
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

}  // namespace nixsnap::metadata::sqlite
