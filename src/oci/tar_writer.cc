#include "oci/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>

#include "common/interrupt_cleanup.h"
#include "common/scope_guard.h"
#include "common/unique_fd.h"
#include "oci/digest.h"

namespace nixsnap::oci {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using WriterPtr = std::unique_ptr<archive, ArchiveDeleter>;

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Status checkPath(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.back() == '/' || p.rfind("./", 0) == 0) {
    return invalidArgument("writing tar entry \"" + p + "\": path must be relative and clean");
  }
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) {
      end = p.size();
    }
    std::string_view comp(p.data() + start, end - start);
    if (comp.empty() || comp == "." || comp == "..") {
      return invalidArgument("writing tar entry \"" + p + "\": bad path component");
    }
    start = end + 1;
  }
  return Status::ok();
}

Status archiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return internalError(what + ": " + (msg ? msg : "libarchive error"));
}

/// Hashes everything libarchive writes (used for the diff ID of the uncompressed tar).
struct HashSink {
  Sha256 sha;
};

la_ssize_t hashWrite(archive*, void* client, const void* buf, size_t n) {
  static_cast<HashSink*>(client)->sha.update(buf, n);
  return static_cast<la_ssize_t>(n);
}

Status writeEntries(archive* a, const std::vector<TarEntry>& entries) {
  for (const auto& e : entries) {
    std::unique_ptr<archive_entry, EntryDeleter> ae(archive_entry_new());
    archive_entry_set_pathname(ae.get(), e.path.c_str());
    archive_entry_set_mtime(ae.get(), 0, 0);
    archive_entry_set_uid(ae.get(), 0);
    archive_entry_set_gid(ae.get(), 0);
    int64_t size = 0;
    switch (e.type) {
      case TarEntry::Type::Directory: archive_entry_set_filetype(ae.get(), AE_IFDIR); break;
      case TarEntry::Type::Symlink:
        archive_entry_set_filetype(ae.get(), AE_IFLNK);
        archive_entry_set_symlink(ae.get(), e.link_target.c_str());
        break;
      case TarEntry::Type::File:
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        if (e.source.empty()) {
          size = static_cast<int64_t>(e.content.size());
        } else {
          struct stat st {};
          if (::stat(e.source.c_str(), &st) != 0) {
            return errnoStatus(errno, "reading " + e.source.string());
          }
          size = st.st_size;
        }
        break;
    }
    archive_entry_set_perm(ae.get(), e.mode & 07777);
    archive_entry_set_size(ae.get(), size);
    if (archive_write_header(a, ae.get()) != ARCHIVE_OK) {
      return archiveError(a, "writing tar header \"" + e.path + "\"");
    }
    if (e.type != TarEntry::Type::File || size == 0) {
      continue;
    }
    if (e.source.empty()) {
      if (archive_write_data(a, e.content.data(), e.content.size()) < 0) {
        return archiveError(a, "writing tar data \"" + e.path + "\"");
      }
      continue;
    }
    UniqueFd fd(::open(e.source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return errnoStatus(errno, "opening " + e.source.string());
    }
    std::array<char, 1 << 16> buf{};
    int64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return internalError("reading " + e.source.string() + ": short read");
      }
      n = std::min<int64_t>(n, left);
      if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0) {
        return archiveError(a, "writing tar data \"" + e.path + "\"");
      }
      left -= n;
    }
  }
  return Status::ok();
}

WriterPtr newTarWriter() {
  WriterPtr a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  return a;
}

}  // namespace

Result<WrittenTar> writeDeterministicTar(std::vector<TarEntry> entries, const fs::path& out,
                                         Compression compression) {
  std::sort(entries.begin(), entries.end(),
            [](const TarEntry& x, const TarEntry& y) { return x.path < y.path; });
  for (size_t i = 0; i < entries.size(); ++i) {
    NIXSNAP_RETURN_IF_ERROR(checkPath(entries[i].path));
    if (i > 0 && entries[i].path == entries[i - 1].path) {
      return invalidArgument("writing tar: duplicate entry \"" + entries[i].path + "\"");
    }
  }
  WrittenTar result;
  {
    // Pass 1: the uncompressed stream's digest (the diff ID).
    HashSink sink;
    WriterPtr a = newTarWriter();
    if (archive_write_open(a.get(), &sink, nullptr, hashWrite, nullptr) != ARCHIVE_OK) {
      return archiveError(a.get(), "opening tar hasher");
    }
    NIXSNAP_RETURN_IF_ERROR(writeEntries(a.get(), entries));
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
      return archiveError(a.get(), "closing tar hasher");
    }
    result.diff_id = sink.sha.digest();
  }
  // Written in place (a Nix build may write $out but not its parent directory). Only a
  // regular file is ever replaced, never through a symlink, and only a file this call
  // opened is removed again when writing fails (not one it could not open).
  struct stat existing {};
  if (::lstat(out.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    return invalidArgument("output " + out.string() +
                           " exists and is not a regular file (a device, directory or link)");
  }
  UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return errnoStatus(errno, "creating " + out.string());
  }
  unlinkOnInterrupt(out);
  ScopeGuard forget_partial([&] { keepOnInterrupt(out); });
  ScopeGuard remove_partial([&] { ::unlink(out.c_str()); });
  if (::fchmod(fd.get(), 0644) != 0) {
    return errnoStatus(errno, "chmod " + out.string());
  }
  {
    WriterPtr a = newTarWriter();
    if (compression == Compression::Gzip) {
      archive_write_add_filter_gzip(a.get());
      if (archive_write_set_options(a.get(), "gzip:!timestamp,gzip:compression-level=6") !=
          ARCHIVE_OK) {
        return archiveError(a.get(), "setting gzip options");
      }
    }
    if (archive_write_open_fd(a.get(), fd.get()) != ARCHIVE_OK) {
      return archiveError(a.get(), "opening " + out.string());
    }
    NIXSNAP_RETURN_IF_ERROR(writeEntries(a.get(), entries));
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
      return archiveError(a.get(), "closing " + out.string());
    }
  }
  if (::fsync(fd.get()) != 0) {
    return errnoStatus(errno, "syncing " + out.string());
  }
  fd.reset();
  auto d = digestFile(out);
  if (!d.isOk()) {
    return d.status();
  }
  remove_partial.dismiss();
  result.digest = d->digest;
  result.size = d->size;
  if (compression == Compression::None) {
    result.diff_id = result.digest;
  }
  return result;
}

}  // namespace nixsnap::oci
