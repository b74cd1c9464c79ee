#include "oci/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include "support/test_env.h"

namespace nixsnap::oci {
namespace {

struct RawEntry {
  std::string name;
  mode_t type = AE_IFREG;
  std::string data;
  std::string link;
  bool hardlink = false;
};

/// Writes an archive with arbitrary (hostile) member names, bypassing our writer's checks.
void writeRaw(const fs::path& out, const std::vector<RawEntry>& entries, bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) {
    archive_write_add_filter_gzip(a);
  }
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK);
  for (const auto& r : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, r.name.c_str());
    archive_entry_set_filetype(e, r.type);
    archive_entry_set_perm(e, 0644);
    if (r.hardlink) {
      archive_entry_set_hardlink(e, r.link.c_str());
    } else if (r.type == AE_IFLNK) {
      archive_entry_set_symlink(e, r.link.c_str());
    }
    archive_entry_set_size(e, r.type == AE_IFREG && !r.hardlink ? r.data.size() : 0);
    archive_write_header(a, e);
    if (r.type == AE_IFREG && !r.data.empty()) {
      archive_write_data(a, r.data.data(), r.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class ArchiveReaderTest : public ::testing::Test {
 protected:
  Status extract(const std::vector<RawEntry>& entries, bool gzip = false) {
    writeRaw(dir_.path() / "a.tar", entries, gzip);
    fs::create_directories(dir_.path() / "out");
    return extractImageArchive(dir_.path() / "a.tar", dir_.path() / "out");
  }
  TempDir dir_ = testing::makeTempDir();
};

TEST_F(ArchiveReaderTest, ExtractsFilesFromGzipArchive) {
  ASSERT_TRUE(
      extract({{"./oci-layout", AE_IFREG, "{}"}, {"blobs/sha256/ab", AE_IFREG, "x"}}, true).isOk());
  EXPECT_EQ(testing::readFile(dir_.path() / "out/blobs/sha256/ab"), "x");
  EXPECT_EQ(testing::readFile(dir_.path() / "out/oci-layout"), "{}");
}

// nix2container's interrupt handler removes the scratch dir while extraction may still be
// running: recreating `dest` (and the scratch dir above it) for the next member left the
// scratch dir behind after the handler had reported it removed.
TEST_F(ArchiveReaderTest, DestThatIsGoneIsNotFoundAndNotRecreated) {
  writeRaw(dir_.path() / "a.tar", {{"blobs/sha256/ab", AE_IFREG, "x"}, {"blobs/", AE_IFDIR}});
  const fs::path gone = dir_.path() / "scratch" / "out";
  Status st = extractImageArchive(dir_.path() / "a.tar", gone);
  EXPECT_EQ(st.code(), ErrorCode::NotFound) << st.toString();
  EXPECT_FALSE(fs::exists(dir_.path() / "scratch"));
}

TEST_F(ArchiveReaderTest, MemberBelowAFileIsInvalidNamingIt) {
  Status st = extract({{"blobs", AE_IFREG, "x"}, {"blobs/sha256/ab", AE_IFREG, "y"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument) << st.toString();
  EXPECT_NE(st.message().find("\"blobs/sha256/ab\""), std::string::npos) << st.toString();
}

TEST_F(ArchiveReaderTest, DirectoryIsNotAnImageArchive) {
  fs::create_directories(dir_.path() / "d.tar");
  fs::create_directories(dir_.path() / "out");
  Status st = extractImageArchive(dir_.path() / "d.tar", dir_.path() / "out");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("is a directory, not an image archive"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find((dir_.path() / "d.tar").string()), std::string::npos);
}

TEST_F(ArchiveReaderTest, TotalExtractedBytesAreCapped) {
  std::string big(200000, 'z');  // compresses to almost nothing
  writeRaw(dir_.path() / "bomb.tar.gz",
           {{"blobs/sha256/a", AE_IFREG, big}, {"blobs/sha256/b", AE_IFREG, big}}, true);
  fs::create_directories(dir_.path() / "out");
  ExtractLimits limits;
  limits.max_total_bytes = 300000;
  Status st = extractImageArchive(dir_.path() / "bomb.tar.gz", dir_.path() / "out", limits);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("300000"), std::string::npos) << st.message();
  limits.max_total_bytes = 400000;
  fs::remove_all(dir_.path() / "out");
  fs::create_directories(dir_.path() / "out");
  EXPECT_TRUE(extractImageArchive(dir_.path() / "bomb.tar.gz", dir_.path() / "out", limits).isOk());
}

TEST_F(ArchiveReaderTest, MemberCountIsCapped) {
  std::vector<RawEntry> many;
  for (int i = 0; i < 11; ++i) {
    many.push_back({"blobs/sha256/e" + std::to_string(i), AE_IFREG, ""});
  }
  writeRaw(dir_.path() / "many.tar", many);
  fs::create_directories(dir_.path() / "out");
  ExtractLimits limits;
  limits.max_members = 10;
  Status st = extractImageArchive(dir_.path() / "many.tar", dir_.path() / "out", limits);
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("more than 10 members"), std::string::npos) << st.message();
  limits.max_members = 11;
  fs::remove_all(dir_.path() / "out");
  fs::create_directories(dir_.path() / "out");
  EXPECT_TRUE(extractImageArchive(dir_.path() / "many.tar", dir_.path() / "out", limits).isOk());
}

TEST_F(ArchiveReaderTest, RejectsDotDotMember) {
  Status st = extract({{"blobs/../../evil", AE_IFREG, "x"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("blobs/../../evil"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_.path() / "evil"));
}

TEST_F(ArchiveReaderTest, RejectsAbsoluteMember) {
  Status st = extract({{"/tmp/evil", AE_IFREG, "x"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("absolute"), std::string::npos);
}

TEST_F(ArchiveReaderTest, RejectsSymlinkedIndex) {
  Status st = extract({{"index.json", AE_IFLNK, "", "/etc/passwd"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("index.json"), std::string::npos);
}

TEST_F(ArchiveReaderTest, RejectsHardlinkedManifest) {
  Status st = extract({{"x", AE_IFREG, "[]"}, {"manifest.json", AE_IFREG, "", "x", true}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("manifest.json"), std::string::npos);
}

TEST_F(ArchiveReaderTest, OtherLinksAreNotCreated) {
  ASSERT_TRUE(extract({{"blobs/escape", AE_IFLNK, "", "/etc"}}).isOk());
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_.path() / "out/blobs/escape")));
}

TEST_F(ArchiveReaderTest, RejectsOversizedIndex) {
  writeRaw(dir_.path() / "a.tar", {{"index.json", AE_IFREG, std::string(2048, ' ')}});
  fs::create_directories(dir_.path() / "out");
  Status st = extractImageArchive(dir_.path() / "a.tar", dir_.path() / "out", {1024});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("index.json"), std::string::npos);
}

TEST_F(ArchiveReaderTest, RejectsDuplicateMember) {
  Status st = extract({{"a", AE_IFREG, "1"}, {"a", AE_IFREG, "2"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
}

TEST_F(ArchiveReaderTest, TruncatedArchiveIsInvalid) {
  std::string big(100000, 'q');
  writeRaw(dir_.path() / "a.tar", {{"blob", AE_IFREG, big}}, true);
  std::string bytes = testing::readFile(dir_.path() / "a.tar");
  testing::writeFile(dir_.path() / "t.tar", bytes.substr(0, bytes.size() / 2));
  fs::create_directories(dir_.path() / "out");
  Status st = extractImageArchive(dir_.path() / "t.tar", dir_.path() / "out");
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_NE(st.message().find("truncated"), std::string::npos);
}

TEST_F(ArchiveReaderTest, GarbageIsInvalidAndMissingIsNotFound) {
  testing::writeFile(dir_.path() / "g", std::string(5000, '\x7'));
  EXPECT_EQ(extractImageArchive(dir_.path() / "g", dir_.path()).code(), ErrorCode::InvalidArgument);
  EXPECT_EQ(extractImageArchive(dir_.path() / "missing", dir_.path()).code(), ErrorCode::NotFound);
}

}  // namespace
}  // namespace nixsnap::oci
