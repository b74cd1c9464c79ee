#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace nixsnap::metadata::sqlite {

/// Owns one sqlite3 connection and its cache of prepared statements (keyed by SQL
/// text, prepared once with SQLITE_PREPARE_PERSISTENT, finalized on close). Like the
/// connection itself, the cache is not thread-safe: one thread uses a Db at a time.
class Db {
 public:
  Db() = default;
  explicit Db(sqlite3* db);
  Db(Db&& o) noexcept = default;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  /// Opens `path` (read-write, create) with foreign keys and a busy timeout.
  static Result<Db> open(const std::string& path);

  sqlite3* get() const { return conn_ != nullptr ? conn_->db : nullptr; }
  /// Runs one or more statements without results (not cached). @return Internal with
  /// sqlite's message.
  Status exec(std::string_view sql);
  /// Runs one statement without results through the statement cache (BEGIN, COMMIT,
  /// ROLLBACK). @return Internal naming `sql` with sqlite's message.
  Status execCached(std::string_view sql);
  Status error(std::string_view what) const;

 private:
  friend class Stmt;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  /// Heap-allocated so that moving a Db keeps statement handles valid.
  struct Conn {
    sqlite3* db = nullptr;
    std::unordered_map<std::string, Cached> cache;
  };
  void close();

  std::unique_ptr<Conn> conn_;
};

/// A statement borrowed from its connection's cache (or prepared privately when the
/// cached one is already in use by an enclosing Stmt), reset and unbound on
/// destruction; bind() indices start at 1.
class Stmt {
 public:
  Stmt(Db& db, std::string_view sql);
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
  Db::Cached* cached_ = nullptr;  ///< the cache slot borrowed, or null for a private stmt
  Status status_;
  int last_code_ = SQLITE_OK;
};

}  // namespace nixsnap::metadata::sqlite
