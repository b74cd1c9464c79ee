#include "oci/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "oci/digest.h"
#include "support/test_env.h"

namespace nixsnap::oci {
namespace {

std::vector<TarEntry> sampleEntries() {
  return {
      {"nix/store/abc-x", TarEntry::Type::Directory, 0555, "", "", {}},
      {"nix", TarEntry::Type::Directory, 0755, "", "", {}},
      {"bin/hello", TarEntry::Type::Symlink, 0777, "/nix/store/abc-x/bin/hello", "", {}},
      {"etc/motd", TarEntry::Type::File, 0644, "", "hi\n", {}},
  };
}

struct ReadEntry {
  std::string path;
  int64_t mtime;
  int64_t uid;
  std::string uname;
  mode_t type;
};

std::vector<ReadEntry> listTar(const fs::path& p) {
  std::vector<ReadEntry> out;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, p.c_str(), 10240), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char* un = archive_entry_uname(e);
    out.push_back({archive_entry_pathname(e), archive_entry_mtime(e), archive_entry_uid(e),
                   un ? un : "", archive_entry_filetype(e)});
  }
  archive_read_free(a);
  return out;
}

TEST(TarWriterTest, EntriesAreSortedWithZeroMetadata) {
  auto dir = testing::makeTempDir();
  auto w = writeDeterministicTar(sampleEntries(), dir.path() / "l.tar", Compression::None);
  ASSERT_TRUE(w.isOk()) << w.status().toString();
  auto entries = listTar(dir.path() / "l.tar");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].path, "bin/hello");
  EXPECT_EQ(entries[1].path, "etc/motd");
  EXPECT_EQ(entries[2].path, "nix/");  // libarchive marks directories
  EXPECT_EQ(entries[3].path, "nix/store/abc-x/");
  for (const auto& e : entries) {
    EXPECT_EQ(e.mtime, 0);
    EXPECT_EQ(e.uid, 0);
    EXPECT_EQ(e.uname, "");
  }
  EXPECT_EQ(w->diff_id, w->digest);
  EXPECT_EQ(digestFile(dir.path() / "l.tar")->digest, w->digest);
}

TEST(TarWriterTest, GzipOutputIsByteIdenticalAcrossUmasksAndHasNoTimestamp) {
  auto dir = testing::makeTempDir();
  mode_t old = ::umask(0077);
  auto a = writeDeterministicTar(sampleEntries(), dir.path() / "a.tgz", Compression::Gzip);
  ::umask(0);
  auto b = writeDeterministicTar(sampleEntries(), dir.path() / "b.tgz", Compression::Gzip);
  ::umask(old);
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_EQ(a->diff_id, b->diff_id);
  EXPECT_NE(a->digest, a->diff_id);
  std::string bytes = testing::readFile(dir.path() / "a.tgz");
  ASSERT_GT(bytes.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
  EXPECT_EQ(bytes.substr(4, 4), std::string(4, '\0')) << "gzip MTIME must be zero";
  EXPECT_EQ(bytes[3] & 0x08, 0) << "gzip FNAME flag must be clear";
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "a.tgz").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(TarWriterTest, StreamsFileSources) {
  auto dir = testing::makeTempDir();
  std::string big(300000, 'z');
  testing::writeFile(dir.path() / "src", big);
  std::vector<TarEntry> e = {{"blob", TarEntry::Type::File, 0644, "", "", dir.path() / "src"}};
  auto w = writeDeterministicTar(e, dir.path() / "o.tar", Compression::None);
  ASSERT_TRUE(w.isOk()) << w.status().toString();
  EXPECT_GT(w->size, 300000);
}

TEST(TarWriterTest, RejectsDuplicateAndUncleanPaths) {
  auto dir = testing::makeTempDir();
  std::vector<TarEntry> dup = {{"a", TarEntry::Type::File, 0644, "", "", {}},
                               {"a", TarEntry::Type::File, 0644, "", "", {}}};
  EXPECT_EQ(writeDeterministicTar(dup, dir.path() / "o", Compression::None).status().code(),
            ErrorCode::InvalidArgument);
  std::vector<TarEntry> up = {{"a/../b", TarEntry::Type::File, 0644, "", "", {}}};
  EXPECT_EQ(writeDeterministicTar(up, dir.path() / "o", Compression::None).status().code(),
            ErrorCode::InvalidArgument);
  std::vector<TarEntry> abs = {{"/a", TarEntry::Type::File, 0644, "", "", {}}};
  EXPECT_EQ(writeDeterministicTar(abs, dir.path() / "o", Compression::None).status().code(),
            ErrorCode::InvalidArgument);
}

TEST(TarWriterTest, NonRegularOutputIsRefusedAndKept) {
  auto dir = testing::makeTempDir();
  const fs::path fifo = dir.path() / "fifo";  // stands for /dev/full and friends
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto w = writeDeterministicTar(sampleEntries(), fifo, Compression::None);
  EXPECT_EQ(w.status().code(), ErrorCode::InvalidArgument);
  EXPECT_NE(w.status().message().find("not a regular file"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0) << "the fifo was removed";
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  // A symlink is not followed: its target keeps its content and mode.
  const fs::path target = dir.path() / "precious";
  testing::writeFile(target, "keep me");
  ASSERT_EQ(::chmod(target.c_str(), 0600), 0);
  const fs::path link = dir.path() / "out.tar";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(writeDeterministicTar(sampleEntries(), link, Compression::None).status().code(),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(testing::readFile(target), "keep me");
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(::lstat(link.c_str(), &st), 0) << "the link was removed";
}

TEST(TarWriterTest, FailureBeforeWritingLeavesAnExistingOutputAlone) {
  auto dir = testing::makeTempDir();
  const fs::path out = dir.path() / "o.tar";
  testing::writeFile(out, "old archive");
  std::vector<TarEntry> e = {
      {"blob", TarEntry::Type::File, 0644, "", "", dir.path() / "missing-source"}};
  EXPECT_EQ(writeDeterministicTar(e, out, Compression::None).status().code(), ErrorCode::NotFound);
  EXPECT_EQ(testing::readFile(out), "old archive");
}

TEST(TarWriterTest, FailedWriteRemovesTheOutputItOpened) {
  auto dir = testing::makeTempDir();
  const fs::path out = dir.path() / "o.tar";
  std::vector<TarEntry> e = {
      {"blob", TarEntry::Type::File, 0644, "", std::string(300000, 'z'), {}}};
  // A file size limit makes the write fail half-way (EFBIG), as a full disk would.
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto w = writeDeterministicTar(e, out, Compression::None);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(w.isOk());
  EXPECT_FALSE(fs::exists(out)) << "a half-written archive was left";
}

}  // namespace
}  // namespace nixsnap::oci
