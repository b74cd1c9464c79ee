#include "metadata/sqlite_db.h"

#include <chrono>

namespace nixsnap::metadata::sqlite {

namespace {
constexpr int kBusyTimeoutMs = 10000;
}  // namespace

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_ != nullptr) {
      sqlite3_close_v2(db_);
    }
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
  }
}

Result<Db> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
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
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return internalError("running \"" + s + "\": " + msg);
  }
  return Status::ok();
}

Status Db::error(std::string_view what) const {
  return internalError(std::string(what) + ": " + sqlite3_errmsg(db_));
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  last_code_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (last_code_ != SQLITE_OK) {
    status_ = internalError("preparing \"" + std::string(sql) + "\": " + sqlite3_errmsg(db));
    stmt_ = nullptr;
  }
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

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
