// ProcContainerdConfigSource: containerd's effective config, found through the
// introspection service (Server) + /proc and dumped by containerd's own binary.
#include "containerd/proc_config_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/temp_dir.h"
#include "mocks/common_mocks.h"
#include "mocks/containerd_mocks.h"

namespace nixsnap::containerd {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using testing::MockProcessRunner;
using ::testing::Return;
using ::testing::StrictMock;

// What `config dump` prints is passed through unchanged; its content does not matter here.
const char* kDump = "version = 3\nroot = '/var/lib/containerd'\n";

TEST(ContainerdConfigPathTest, DefaultsToEtcContainerd) {
  EXPECT_EQ(containerdConfigPath({"/usr/bin/containerd"}), "/etc/containerd/config.toml");
  EXPECT_EQ(containerdConfigPath({"containerd", "--log-level", "debug"}),
            "/etc/containerd/config.toml");
}

TEST(ContainerdConfigPathTest, ReadsEverySpellingOfTheFlag) {
  EXPECT_EQ(containerdConfigPath({"containerd", "--config", "/a.toml"}), "/a.toml");
  EXPECT_EQ(containerdConfigPath({"containerd", "--config=/b.toml"}), "/b.toml");
  EXPECT_EQ(containerdConfigPath({"containerd", "-c", "c.toml"}), "c.toml");
  EXPECT_EQ(containerdConfigPath({"containerd", "-c=/d.toml", "--log-level", "info"}), "/d.toml");
  EXPECT_EQ(containerdConfigPath({"containerd", "-config", "/e.toml"}), "/e.toml");
}

TEST(ContainerdConfigPathTest, LastFlagWinsAndValuesAreNotFlags) {
  EXPECT_EQ(containerdConfigPath({"containerd", "-c", "/1.toml", "--config", "/2.toml"}),
            "/2.toml");
  // The value of another flag is not a config path.
  EXPECT_EQ(containerdConfigPath({"containerd", "--root", "/x", "-c", "/y.toml"}), "/y.toml");
  EXPECT_EQ(containerdConfigPath({"containerd", "--c0nfig", "/z.toml"}),
            "/etc/containerd/config.toml");
}

// ------------------------------------------------------------------ fake /proc

constexpr uint64_t kPid = 4242;

// A /proc stand-in: self/ns/{pid,mnt}; <pid>/{exe,cmdline,cwd,ns/mnt} with exe a
// symlink to a 0755 file owned by this user, as on a real system.
class FakeProc {
 public:
  FakeProc() {
    auto dir = TempDir::create(fs::temp_directory_path(), "nixsnap-proc-");
    EXPECT_TRUE(dir.isOk());
    dir_ = std::make_unique<TempDir>(std::move(dir).value());
    fs::create_directories(root() / "self" / "ns");
    fs::create_directories(pidDir() / "ns");
    fs::create_directories(root() / "cwd-dir");
    write(root() / "self" / "ns" / "pid", "");
    write(root() / "self" / "ns" / "mnt", "");
    write(root() / "containerd-bin", "#!/bin/false\n");
    fs::permissions(root() / "containerd-bin", fs::perms(0755));
    fs::create_symlink(root() / "containerd-bin", pidDir() / "exe");
    fs::create_symlink(root() / "cwd-dir", pidDir() / "cwd");
    fs::create_symlink(root() / "self" / "ns" / "mnt", pidDir() / "ns" / "mnt");
    setCmdline({"/usr/bin/containerd", "--config", "/etc/cd/config.toml"});
  }

  const fs::path& root() const { return dir_->path(); }
  fs::path pidDir() const { return root() / std::to_string(kPid); }
  uint64_t pidns() const {
    struct stat st {};
    EXPECT_EQ(::stat((root() / "self" / "ns" / "pid").c_str(), &st), 0);
    return st.st_ino;
  }
  void setCmdline(const std::vector<std::string>& argv) {
    std::string data;
    for (const auto& a : argv) {
      data += a;
      data.push_back('\0');
    }
    write(pidDir() / "cmdline", data);
  }
  static void write(const fs::path& file, const std::string& data) {
    std::ofstream(file.string(), std::ios::binary | std::ios::trunc) << data;
  }

 private:
  std::unique_ptr<TempDir> dir_;
};

class ProcContainerdConfigSourceTest : public ::testing::Test {
 protected:
  void answerServer(uint64_t pid, uint64_t pidns) {
    EXPECT_CALL(*containerd_, serverInfo(_)).WillOnce(Return(ServerInfo{"uuid", pid, pidns}));
  }
  std::vector<std::string> dumpArgv(const fs::path& config) const {
    return {(proc_.pidDir() / "exe").string(), "--config", config.string(), "config", "dump"};
  }
  Result<std::string> effectiveConfig() {
    return ProcContainerdConfigSource(containerd_, runner_, proc_.root()).effectiveConfig();
  }

  FakeProc proc_;
  std::shared_ptr<StrictMock<testing::MockContainerdClient>> containerd_ =
      std::make_shared<StrictMock<testing::MockContainerdClient>>();
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
};

TEST_F(ProcContainerdConfigSourceTest, DumpsWithTheRunningBinaryAndItsConfigFile) {
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(dumpArgv("/etc/cd/config.toml"), _))
      .WillOnce(Return(ProcessResult{0, kDump, ""}));
  auto text = effectiveConfig();
  ASSERT_TRUE(text.isOk()) << text.status().message();
  EXPECT_EQ(*text, kDump);
}

TEST_F(ProcContainerdConfigSourceTest, RelativeConfigIsResolvedInContainerdsWorkingDir) {
  proc_.setCmdline({"containerd", "-c", "conf/c.toml"});
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(dumpArgv(proc_.pidDir() / "cwd" / "conf/c.toml"), _))
      .WillOnce(Return(ProcessResult{0, kDump, ""}));
  EXPECT_TRUE(effectiveConfig().isOk());
}

TEST_F(ProcContainerdConfigSourceTest, AnotherMountNamespaceIsReadThroughItsRoot) {
  fs::remove(proc_.pidDir() / "ns" / "mnt");
  FakeProc::write(proc_.pidDir() / "ns" / "mnt", "");  // another inode
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(dumpArgv(proc_.pidDir() / "root" / "etc/cd/config.toml"), _))
      .WillOnce(Return(ProcessResult{0, kDump, ""}));
  EXPECT_TRUE(effectiveConfig().isOk());
}

TEST_F(ProcContainerdConfigSourceTest, AnotherPidNamespaceIsRefused) {
  answerServer(kPid, proc_.pidns() + 1);
  auto text = effectiveConfig();  // StrictMock runner: running anything fails the test
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(text.status().message(), HasSubstr("pid namespace"));
}

TEST_F(ProcContainerdConfigSourceTest, WritableBinaryIsNotRun) {
  fs::permissions(proc_.root() / "containerd-bin", fs::perms(0775));
  answerServer(kPid, proc_.pidns());
  auto text = effectiveConfig();
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), ErrorCode::FailedPrecondition);
  EXPECT_THAT(text.status().message(), HasSubstr("writable"));
}

TEST_F(ProcContainerdConfigSourceTest, VanishedProcessIsNotFound) {
  answerServer(kPid + 1, proc_.pidns());
  auto text = effectiveConfig();
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(text.status().message(), HasSubstr(std::to_string(kPid + 1)));
}

TEST_F(ProcContainerdConfigSourceTest, UnreachableContainerdIsUnavailable) {
  EXPECT_CALL(*containerd_, serverInfo(_))
      .WillOnce(Return(unavailable("asking: containerd at /run/c.sock is unavailable")));
  auto text = effectiveConfig();
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), ErrorCode::Unavailable);
}

TEST_F(ProcContainerdConfigSourceTest, FailedDumpIsInternalWithItsStderr) {
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(ProcessResult{1, "", "failed to load TOML: near line 3"}));
  auto text = effectiveConfig();
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), ErrorCode::Internal);
  EXPECT_THAT(text.status().message(), HasSubstr("near line 3"));
}

TEST_F(ProcContainerdConfigSourceTest, FailedDumpWithoutOutputNamesCommandAndStatus) {
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(_, _)).WillOnce(Return(ProcessResult{1, "", ""}));
  auto text = effectiveConfig();
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), ErrorCode::Internal);
  EXPECT_THAT(text.status().message(), HasSubstr("config dump exited with status 1 (no output)"));
}

}  // namespace
}  // namespace nixsnap::containerd
