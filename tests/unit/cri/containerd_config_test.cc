// The containerd 2.x side of the start-up check: containerd's effective config (found
// through introspection Server + /proc, dumped by its own binary) and what it says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include "common/temp_dir.h"
#include "cri/backend_check.h"
#include "cri/image_service.h"
#include "cri/proc_containerd_config_source.h"
#include "mocks/containerd_mocks.h"
#include "mocks/cri_mocks.h"

namespace nixsnap::cri {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;
using testing::MockProcessRunner;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::StrictMock;
namespace v1 = runtime::v1;

// Trimmed `containerd config dump` of containerd 2.1.9 (version 3).
const char* kDump21 = R"(version = 3
root = '/var/lib/containerd'

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'nix'
    disable_snapshot_annotations = true
    discard_unpacked_layers = false

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_cdi = true
)";

// Trimmed `containerd config dump` of containerd 1.7.24 (version 2).
const char* kDump17 = R"(version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.8"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      disable_snapshot_annotations = false
      snapshotter = "overlayfs"
)";

// ------------------------------------------------------------------ pure parts

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

TEST(CriImageConfigTest, ReadsContainerd2Dump) {
  auto config = criImageConfigFromToml(kDump21);
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->disable_snapshot_annotations, true);
  EXPECT_EQ(config->snapshotter, "nix");
}

TEST(CriImageConfigTest, ReadsContainerd17Dump) {
  auto config = criImageConfigFromToml(kDump17);
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->disable_snapshot_annotations, false);
  EXPECT_EQ(config->snapshotter, "overlayfs");
}

TEST(CriImageConfigTest, DumpWithoutCriSectionLeavesTheSettingUnknown) {
  auto config = criImageConfigFromToml("version = 3\n[plugins]\n  [plugins.'io.x']\n    a = 1\n");
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_FALSE(config->disable_snapshot_annotations.has_value());
  EXPECT_EQ(config->snapshotter, "");
}

TEST(CriImageConfigTest, BrokenTomlIsInvalidArgument) {
  auto config = criImageConfigFromToml("version = [\n");
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), ErrorCode::InvalidArgument);
}

TEST(CriImageConfigTest, WarnsLikeTheStatusCheck) {
  EXPECT_THAT(configWarnings({true, "nix"}, "nix"), ElementsAre(annotationsDisabledWarning()));
  EXPECT_THAT(annotationsDisabledWarning(), HasSubstr("Nix layers would unpack as plain tars"));
  EXPECT_THAT(configWarnings({false, "nix"}, "nix"), ::testing::IsEmpty());
  EXPECT_THAT(configWarnings({std::nullopt, ""}, "nix"), ::testing::IsEmpty());
  auto other = configWarnings({false, "overlayfs"}, "nix");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_THAT(other[0], HasSubstr("\"overlayfs\""));
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
    EXPECT_CALL(*containerd_, serverInfo(_))
        .WillOnce(Return(containerd::ServerInfo{"uuid", pid, pidns}));
  }
  std::vector<std::string> dumpArgv(const fs::path& config) const {
    return {(proc_.pidDir() / "exe").string(), "--config", config.string(), "config", "dump"};
  }
  Result<std::string> effectiveConfig() {
    return ProcContainerdConfigSource(containerd_, runner_, proc_.root()).effectiveConfig();
  }

  FakeProc proc_;
  std::shared_ptr<StrictMock<::nixsnap::testing::MockContainerdClient>> containerd_ =
      std::make_shared<StrictMock<::nixsnap::testing::MockContainerdClient>>();
  std::shared_ptr<StrictMock<MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<MockProcessRunner>>();
};

TEST_F(ProcContainerdConfigSourceTest, DumpsWithTheRunningBinaryAndItsConfigFile) {
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(dumpArgv("/etc/cd/config.toml"), _))
      .WillOnce(Return(ProcessResult{0, kDump21, ""}));
  auto text = effectiveConfig();
  ASSERT_TRUE(text.isOk()) << text.status().message();
  EXPECT_EQ(*text, kDump21);
}

TEST_F(ProcContainerdConfigSourceTest, RelativeConfigIsResolvedInContainerdsWorkingDir) {
  proc_.setCmdline({"containerd", "-c", "conf/c.toml"});
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(dumpArgv(proc_.pidDir() / "cwd" / "conf/c.toml"), _))
      .WillOnce(Return(ProcessResult{0, kDump21, ""}));
  EXPECT_TRUE(effectiveConfig().isOk());
}

TEST_F(ProcContainerdConfigSourceTest, AnotherMountNamespaceIsReadThroughItsRoot) {
  fs::remove(proc_.pidDir() / "ns" / "mnt");
  FakeProc::write(proc_.pidDir() / "ns" / "mnt", "");  // another inode
  answerServer(kPid, proc_.pidns());
  EXPECT_CALL(*runner_, run(dumpArgv(proc_.pidDir() / "root" / "etc/cd/config.toml"), _))
      .WillOnce(Return(ProcessResult{0, kDump21, ""}));
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

// ------------------------------------------------------------------ the image service

class MockContainerdConfigSource : public ContainerdConfigSource {
 public:
  MOCK_METHOD(Result<std::string>, effectiveConfig, (), (override));
};

// The start-up check against a CRI whose verbose Status carries `config_json`; resolves
// once the check has asked the config source (or immediately when `expect_source` is
// false, after the check thread has finished).
class BackendCheckSourceTest : public ::testing::Test {
 protected:
  void runCheck(const std::string& config_json, bool expect_source) {
    EXPECT_CALL(backend_->runtime_stub, Version(_, _, _))
        .WillOnce(
            Invoke([](grpc::ClientContext*, const v1::VersionRequest&, v1::VersionResponse* resp) {
              resp->set_runtime_version("v2.1.9");
              return grpc::Status::OK;
            }));
    std::promise<void> status_asked;
    EXPECT_CALL(backend_->runtime_stub, Status(_, _, _))
        .WillOnce(Invoke([&, config_json](grpc::ClientContext*, const v1::StatusRequest&,
                                          v1::StatusResponse* resp) {
          (*resp->mutable_info())["config"] = config_json;
          status_asked.set_value();
          return grpc::Status::OK;
        }));
    std::promise<void> source_asked;
    if (expect_source) {
      EXPECT_CALL(*source_, effectiveConfig()).WillOnce(Invoke([&] {
        source_asked.set_value();
        return Result<std::string>(std::string(kDump21));
      }));
    }
    ImageServiceOptions options;
    options.containerd_config = source_;
    {
      ImageService service(backend_, std::make_shared<StrictMock<testing::MockNixImagePuller>>(),
                           options);
      service.startBackendCheck();
      auto& done = expect_source ? source_asked : status_asked;
      ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
    }  // joins the check thread: no call can come after this
  }

  std::shared_ptr<testing::MockCriBackend> backend_ = std::make_shared<testing::MockCriBackend>();
  std::shared_ptr<StrictMock<MockContainerdConfigSource>> source_ =
      std::make_shared<StrictMock<MockContainerdConfigSource>>();
};

TEST_F(BackendCheckSourceTest, Containerd2StatusWithoutTheSettingReadsTheEffectiveConfig) {
  runCheck(R"({"containerd":{"defaultRuntimeName":"runc"}})", true);
}

TEST_F(BackendCheckSourceTest, StatusWithTheSettingLeavesTheConfigAlone) {
  // StrictMock source: a call would fail the test.
  runCheck(R"({"containerd":{"snapshotter":"nix","disableSnapshotAnnotations":false}})", false);
}

}  // namespace
}  // namespace nixsnap::cri
