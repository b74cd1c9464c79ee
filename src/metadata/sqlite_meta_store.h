#pragma once

#include "common/fs.h"
#include "metadata/group_sync.h"
#include "metadata/meta_store.h"

namespace nixsnap::metadata {

/// Opens (creating and migrating) the SQLite metadata database at `db_path`
/// (root/metadata.db): WAL journal, foreign keys on, busy timeout. One writer connection
/// serialises write transactions; read transactions use pooled reader connections and do
/// not wait for a writer (WAL snapshot isolation).
///
/// Durability (group commit): the writer runs with synchronous=NORMAL, so COMMIT only
/// appends to `<db_path>-wal`; Transaction::commit() then releases the writer lock and
/// returns only after an fdatasync of the WAL that started after its COMMIT finished
/// (GroupSync: concurrent committers share one sync). An acknowledged commit survives a
/// power loss; a crash leaves the state of some prefix of the commits (docs/performance-writes.md).
/// @return FailedPrecondition when `db_path` is the original Go nix-snapshotter's bbolt
///         file (refuseBoltDatabase); Internal when the file cannot be opened, the schema
///         cannot be created or the initial sync fails.
Result<MetaStorePtr> openSqliteMetaStore(const fs::path& db_path);

/// As above, with `wal_sync` instead of WalFile(db_path).sync() as the way to make the
/// WAL durable (a simulated disk in crash tests).
Result<MetaStorePtr> openSqliteMetaStore(const fs::path& db_path, WalSyncFn wal_sync);

}  // namespace nixsnap::metadata
