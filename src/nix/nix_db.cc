#include "nix/nix_db.h"

#include <sqlite3.h>

#include <fstream>
#include <memory>
#include <string>

namespace nixsnap::nix {

namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// Every path reachable through Refs from the given one, itself included.
constexpr char kClosureSql[] =
    "WITH RECURSIVE closure(id) AS ("
    " SELECT id FROM ValidPaths WHERE path = ?1"
    " UNION SELECT r.reference FROM Refs r JOIN closure c ON r.referrer = c.id)"
    " SELECT v.path FROM ValidPaths v JOIN closure c ON v.id = c.id";

std::string readSchema(const fs::path& file) {
  std::ifstream in(file.string());
  std::string s;
  std::getline(in, s);
  return s;
}

}  // namespace

Result<std::vector<fs::path>> nixDbRequisites(const fs::path& nix_state_dir,
                                              const fs::path& store_path) {
  const fs::path db_file = nix_state_dir / "db" / "db.sqlite";
  std::string schema = readSchema(nix_state_dir / "db" / "schema");
  if (schema != kNixDbSchema) {
    return Status(ErrorCode::Unavailable, "nix database schema \"" + schema.substr(0, 16) +
                                              "\" in \"" + nix_state_dir.string() +
                                              "/db\" is not " + kNixDbSchema);
  }
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(db_file.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, CloseDb> db(raw);
  if (rc != SQLITE_OK) {
    return Status(ErrorCode::Unavailable,
                  "opening nix database \"" + db_file.string() +
                      "\": " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 10000);
  sqlite3_stmt* stmt_raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), kClosureSql, -1, &stmt_raw, nullptr) != SQLITE_OK) {
    return Status(ErrorCode::Unavailable, "querying nix database \"" + db_file.string() +
                                              "\": " + sqlite3_errmsg(db.get()));
  }
  std::unique_ptr<sqlite3_stmt, FinalizeStmt> stmt(stmt_raw);
  const std::string& path = store_path.string();
  sqlite3_bind_text(stmt.get(), 1, path.c_str(), static_cast<int>(path.size()), SQLITE_STATIC);
  std::vector<fs::path> out;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    out.emplace_back(std::string(text != nullptr ? text : ""));
  }
  if (rc != SQLITE_DONE) {
    return internalError("querying the closure of \"" + path + "\" in \"" + db_file.string() +
                         "\": " + sqlite3_errmsg(db.get()));
  }
  if (out.empty()) {
    return failedPrecondition("querying the closure of \"" + path + "\": path is not valid");
  }
  return out;
}

}  // namespace nixsnap::nix
