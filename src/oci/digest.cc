#include "oci/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "common/hex.h"
#include "common/unique_fd.h"

namespace nixsnap::oci {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::update(const void* data, size_t size) { EVP_DigestUpdate(impl_->ctx, data, size); }

std::string Sha256::digest() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md.data(), &len);
  return "sha256:" + hexEncode(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

std::string digestOf(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

Result<FileDigest> digestFile(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return errnoStatus(errno, "opening " + path.string());
  }
  Sha256 h;
  FileDigest out;
  std::array<char, 1 << 16> buf{};
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Status(ErrorCode::Internal, "reading " + path.string() + ": " + strerror(errno));
    }
    if (n == 0) {
      break;
    }
    h.update(buf.data(), static_cast<size_t>(n));
    out.size += n;
  }
  out.digest = h.digest();
  return out;
}

Status validateDigest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  bool ok = digest.size() == kPrefix.size() + 64 && digest.substr(0, kPrefix.size()) == kPrefix;
  ok = ok && isLowerHex(digest.substr(kPrefix.size()));
  if (!ok) {
    return invalidArgument("invalid digest \"" + std::string(digest.substr(0, 100)) +
                           "\": want sha256:<64 lower-case hex>");
  }
  return Status::ok();
}

std::string digestHex(std::string_view digest) {
  auto pos = digest.find(':');
  return std::string(pos == std::string_view::npos ? digest : digest.substr(pos + 1));
}

}  // namespace nixsnap::oci
