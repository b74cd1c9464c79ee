#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace nixsnap::metadata::sqlite {

/// Owns one sqlite3 connection.
class Db {
 public:
  Db() = default;
  explicit Db(sqlite3* db) : db_(db) {}
  Db(Db&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  /// Opens `path` (read-write, create) with foreign keys and a busy timeout.
  static Result<Db> open(const std::string& path);

  sqlite3* get() const { return db_; }
  /// Runs one or more statements without results. @return Internal with sqlite's message.
  Status exec(std::string_view sql);
  Status error(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
};

/// A prepared statement, reset on destruction; bind() indices start at 1.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  bool valid() const { return stmt_ != nullptr; }
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bindNull(int i);
  /// Steps once. @return true for a row, false when done; sets error() on failure.
  bool step();
  /// Steps to completion (for statements without rows). @return Internal on failure.
  Status run();
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const;
  /// Ok, or the first failure of prepare/step with sqlite's extended code in the text.
  Status status() const { return status_; }
  int lastCode() const { return last_code_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
  int last_code_ = SQLITE_OK;
};

}  // namespace nixsnap::metadata::sqlite
