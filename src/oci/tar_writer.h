#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::oci {

/// One member of a deterministic tar archive.
struct TarEntry {
  enum class Type { Directory, File, Symlink };
  std::string path;  ///< relative, '/'-separated, no leading "/" or "./"
  Type type = Type::File;
  uint32_t mode = 0644;     ///< permission bits only
  std::string link_target;  ///< Symlink only
  std::string content;      ///< File: the bytes, unless `source` is set
  fs::path source;          ///< File: stream the bytes from this file instead
};

enum class Compression { None, Gzip };

/// Digests of a written archive.
struct WrittenTar {
  std::string digest;   ///< "sha256:<hex>" of the bytes on disk
  int64_t size = 0;     ///< bytes on disk
  std::string diff_id;  ///< "sha256:<hex>" of the uncompressed tar
};

/// Writes `entries` as a reproducible tar (pax restricted format, entries sorted by
/// path, mtime 0, uid/gid 0, empty uname/gname, explicit modes so the umask does not
/// matter), gzip-compressed without name or timestamp when asked. The file `out` is
/// written in place with mode 0644 and removed again if writing fails; an existing `out`
/// must be a regular file (not followed if it is a symlink), and one that cannot be
/// opened is left alone.
/// @return the digests; InvalidArgument for a bad or duplicate path or an `out` that is
///         not a regular file; the errno class of a failed open or write (ELOOP for a
///         symlink); NotFound for a missing `source`.
Result<WrittenTar> writeDeterministicTar(std::vector<TarEntry> entries, const fs::path& out,
                                         Compression compression);

}  // namespace nixsnap::oci
