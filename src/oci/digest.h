#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::oci {

/// Incremental SHA-256 (OpenSSL EVP) producing OCI digests "sha256:<64 lower-case hex>".
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// "sha256:<hex>"; the hasher cannot be updated afterwards.
  std::string digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Digest of a byte string.
std::string digestOf(std::string_view data);

/// A file's digest and size, read in chunks (bounded memory).
struct FileDigest {
  std::string digest;
  int64_t size = 0;
};
/// @return NotFound/PermissionDenied from open; Internal on read errors.
Result<FileDigest> digestFile(const fs::path& path);

/// Checks the strict form "sha256:<64 lower-case hex>".
/// @return InvalidArgument naming the digest otherwise.
Status validateDigest(std::string_view digest);

/// The hex part of a valid digest (after "sha256:").
std::string digestHex(std::string_view digest);

}  // namespace nixsnap::oci
