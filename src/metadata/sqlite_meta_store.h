#pragma once

#include "common/fs.h"
#include "metadata/meta_store.h"

namespace nixsnap::metadata {

/// Opens (creating and migrating) the SQLite metadata database at `db_path`
/// (root/metadata.db): WAL journal, synchronous=FULL, foreign keys on, busy timeout.
/// One writer connection serialises write transactions; read transactions use pooled
/// reader connections and do not wait for a writer (WAL snapshot isolation).
/// @return Internal when the file cannot be opened or the schema cannot be created.
Result<MetaStorePtr> openSqliteMetaStore(const fs::path& db_path);

}  // namespace nixsnap::metadata
