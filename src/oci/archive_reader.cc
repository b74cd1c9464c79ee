#include "oci/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace nixsnap::oci {
namespace {

struct ReaderDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool isMetadataName(const std::string& p) {
  return p == "index.json" || p == "manifest.json" || p == "oci-layout" || p == "repositories";
}

/// Normalises a member name ("./a//b" -> "a/b"); empty result for the root itself.
Result<std::string> cleanMemberPath(const std::string& raw) {
  if (!raw.empty() && raw.front() == '/') {
    return invalidArgument("archive member \"" + raw + "\" has an absolute path");
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string::npos) {
      end = raw.size();
    }
    std::string comp = raw.substr(start, end - start);
    if (comp == "..") {
      return invalidArgument("archive member \"" + raw + "\" has a \"..\" component");
    }
    if (!comp.empty() && comp != ".") {
      parts.push_back(comp);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : "/") + p;
  }
  return out;
}

Status corrupt(archive* a, const fs::path& archive_path) {
  const char* msg = archive_error_string(a);
  return invalidArgument("reading archive " + archive_path.string() +
                         ": truncated or corrupt archive (" + (msg ? msg : "unknown error") + ")");
}

/// Creates the directories of `rel` (a clean member path) below `dest`, never `dest`
/// itself or anything above: when `dest` is gone (an interrupt's cleanup removed it),
/// NotFound, instead of bringing back the tree that was just removed.
/// `member` names the archive member in errors.
Status makeDirsBelow(const fs::path& dest, const std::string& rel, const std::string& member) {
  fs::path dir = dest;
  for (const auto& part : fs::path(rel)) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      continue;
    }
    if (errno != EEXIST) {
      return errnoStatus(errno, "creating " + dir.string());
    }
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return invalidArgument("archive member \"" + member + "\" needs directory \"" +
                             dir.lexically_relative(dest).string() + "\", which is a file");
    }
  }
  return Status::ok();
}

Status extractFile(archive* a, const fs::path& archive_path, const fs::path& dest,
                   const std::string& name, int64_t& total, int64_t max_total) {
  NIXSNAP_RETURN_IF_ERROR(makeDirsBelow(dest, fs::path(name).parent_path().string(), name));
  const fs::path target = dest / name;
  UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    if (errno == EEXIST) {
      return invalidArgument("archive member \"" + name + "\" appears twice");
    }
    return errnoStatus(errno, "creating " + target.string());
  }
  std::array<char, 1 << 16> buf{};
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) {
      return corrupt(a, archive_path);
    }
    if (n == 0) {
      break;
    }
    total += n;
    if (total > max_total) {
      return invalidArgument("reading archive " + archive_path.string() + ": member \"" + name +
                             "\" takes the extracted size past the limit of " +
                             std::to_string(max_total) + " bytes");
    }
    const char* p = buf.data();
    while (n > 0) {
      ssize_t w = ::write(fd.get(), p, static_cast<size_t>(n));
      if (w < 0) {
        if (errno == EINTR) {
          continue;
        }
        return errnoStatus(errno, "writing " + target.string());
      }
      p += w;
      n -= w;
    }
  }
  return Status::ok();
}

}  // namespace

Status extractImageArchive(const fs::path& archive_path, const fs::path& dest,
                           const ExtractLimits& limits) {
  std::unique_ptr<archive, ReaderDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (::access(archive_path.c_str(), R_OK) != 0) {
    return errnoStatus(errno, "opening archive " + archive_path.string());
  }
  {
    boost::system::error_code ec;
    if (fs::is_directory(archive_path, ec)) {
      return invalidArgument(archive_path.string() + " is a directory, not an image archive");
    }
  }
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return corrupt(a.get(), archive_path);
  }
  size_t members = 0;
  int64_t total = 0;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) {
      break;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return corrupt(a.get(), archive_path);
    }
    if (++members > limits.max_members) {
      return invalidArgument("archive " + archive_path.string() + " has more than " +
                             std::to_string(limits.max_members) + " members");
    }
    const char* raw_name = archive_entry_pathname(e);
    auto name = cleanMemberPath(raw_name ? raw_name : "");
    if (!name.isOk()) {
      return name.status();
    }
    bool metadata = isMetadataName(*name);
    bool is_link = archive_entry_hardlink(e) != nullptr || archive_entry_filetype(e) == AE_IFLNK;
    if (metadata && is_link) {
      return invalidArgument("archive member \"" + *name + "\" is a link; metadata files " +
                             "must be regular files");
    }
    if (metadata && archive_entry_size(e) > limits.max_metadata_bytes) {
      return invalidArgument("archive member \"" + *name + "\" is " +
                             std::to_string(archive_entry_size(e)) + " bytes, more than the " +
                             std::to_string(limits.max_metadata_bytes) + " allowed");
    }
    if (name->empty() || is_link) {
      continue;
    }
    auto type = archive_entry_filetype(e);
    if (type == AE_IFDIR) {
      NIXSNAP_RETURN_IF_ERROR(makeDirsBelow(dest, *name, *name));
      continue;
    }
    if (type != AE_IFREG) {
      return invalidArgument("archive member \"" + *name + "\" is not a file or directory");
    }
    NIXSNAP_RETURN_IF_ERROR(
        extractFile(a.get(), archive_path, dest, *name, total, limits.max_total_bytes));
  }
  if (members == 0) {
    return invalidArgument("reading archive " + archive_path.string() + ": empty archive");
  }
  return Status::ok();
}

}  // namespace nixsnap::oci
