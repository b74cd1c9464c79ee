#pragma once

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::metadata {

/// bbolt's meta-page marker (go.etcd.io/bbolt db.go `magic`), a uint32 in the writer's
/// byte order right after page 0's 16-byte page header.
inline constexpr uint32_t kBoltMagic = 0xED0CDAED;
inline constexpr size_t kBoltMagicOffset = 16;

/// True when `path` is a regular file that starts like a bbolt database: the original Go
/// nix-snapshotter (through containerd's overlay snapshotter) keeps root/metadata.db in
/// that format, and SQLite would only say "file is not a database" about it.
/// A missing, unreadable or short file is not one.
bool isBoltDatabase(const fs::path& path);

/// @return FailedPrecondition when `db_path` is a bbolt database, saying what it is and
///         what to do (move the root away or use another root; images must be pulled
///         again); Ok otherwise, leaving every other problem to the SQLite open.
Status refuseBoltDatabase(const fs::path& db_path);

}  // namespace nixsnap::metadata
