#pragma once

#include <cstdint>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::oci {

/// Limits for reading an untrusted image archive.
struct ExtractLimits {
  int64_t max_metadata_bytes = 4 << 20;  ///< index.json, manifest.json, oci-layout, repositories
  /// Total bytes written for all members (a decompression-bomb cap): 32 GiB by default,
  /// more than any image nix2container builds and less than a full disk on most hosts.
  int64_t max_total_bytes = int64_t{32} << 30;
  /// Members of any kind (an image archive has a handful per layer; a tar of millions of
  /// empty files would otherwise exhaust the inodes of the temp dir's filesystem).
  size_t max_members = 65536;
};

/// Unpacks an image archive (tar, plain/gzip/zstd/xz, auto-detected) into `dest`, an
/// existing empty directory, treating the archive as hostile: members with an absolute
/// path or a ".." component, duplicate members, device nodes and oversized or linked
/// (symlink/hardlink) metadata files are rejected, and extraction stops with
/// InvalidArgument once more than `limits.max_total_bytes` have been written or more than
/// `limits.max_members` members read; other links are skipped (never created, so nothing
/// can point outside `dest`). Data is streamed to disk in chunks.
/// Directories are made below `dest` only: `dest` itself is never (re)created.
/// @return Ok; InvalidArgument naming the member or "truncated/corrupt archive";
///         NotFound when `archive` or `dest` is missing; the errno class of disk errors.
Status extractImageArchive(const fs::path& archive, const fs::path& dest,
                           const ExtractLimits& limits = {});

}  // namespace nixsnap::oci
