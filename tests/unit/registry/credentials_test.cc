#include "registry/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "mocks/common_mocks.h"
#include "support/test_env.h"

namespace nixsnap::registry {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Return;
using ::testing::StrictMock;

class CredentialsTest : public ::testing::Test {
 protected:
  /// Loads `json` written to an auth file.
  Result<CredentialSourcePtr> load(const std::string& json) {
    const fs::path file = dir_.path() / "config.json";
    testing::writeFile(file, json);
    return loadAuthFile({file, true}, runner_);
  }
  std::optional<Credentials> lookup(CredentialSource& source, const std::string& host) {
    auto c = source.lookup(host);
    EXPECT_TRUE(c.isOk()) << c.status().toString();
    return c.isOk() ? *c : std::nullopt;
  }

  TempDir dir_ = testing::makeTempDir();
  std::shared_ptr<StrictMock<testing::MockProcessRunner>> runner_ =
      std::make_shared<StrictMock<testing::MockProcessRunner>>();
};

TEST_F(CredentialsTest, ChoosesFlagThenRegistryAuthFileThenDockerConfigThenHome) {
  std::map<std::string, const char*> env;
  auto getenv = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second;
  };
  env["HOME"] = "/home/u";
  EXPECT_EQ(chooseAuthFile("", getenv).path, "/home/u/.docker/config.json");
  EXPECT_FALSE(chooseAuthFile("", getenv).required);
  env["DOCKER_CONFIG"] = "/etc/dc";
  EXPECT_EQ(chooseAuthFile("", getenv).path, "/etc/dc/config.json");
  env["REGISTRY_AUTH_FILE"] = "/run/auth.json";
  EXPECT_EQ(chooseAuthFile("", getenv).path, "/run/auth.json");
  EXPECT_TRUE(chooseAuthFile("", getenv).required);
  EXPECT_EQ(chooseAuthFile("/x/a.json", getenv).path, "/x/a.json");
  env.clear();
  EXPECT_TRUE(chooseAuthFile("", getenv).path.empty());
}

TEST_F(CredentialsTest, AuthEntriesMatchByHostWhateverTheKeysSchemeOrPath) {
  // "user:pa:ss" and "robot:s3cret" in base64.
  auto source = load(R"({"auths": {
      "https://registry.example.org/v1/": {"auth": "dXNlcjpwYTpzcw=="},
      "127.0.0.1:5000": {"username": "robot", "password": "s3cret"},
      "tokens.example.org": {"auth": "dTpw", "identitytoken": "refresh-me"},
      "marker.example.org": {}}})");
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  auto c = lookup(**source, "registry.example.org");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->username, "user");
  EXPECT_EQ(c->secret, "pa:ss");
  EXPECT_FALSE(c->identity_token);
  c = lookup(**source, "127.0.0.1:5000");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->username, "robot");
  EXPECT_EQ(c->secret, "s3cret");
  c = lookup(**source, "tokens.example.org");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->identity_token);
  EXPECT_EQ(c->secret, "refresh-me");
  EXPECT_FALSE(lookup(**source, "marker.example.org").has_value());
  EXPECT_FALSE(lookup(**source, "127.0.0.1").has_value());
  EXPECT_FALSE(lookup(**source, "other.example.org").has_value());
}

TEST_F(CredentialsTest, MissingDefaultFileIsAnonymousMissingChosenFileIsAnError) {
  auto anonymous = loadAuthFile({dir_.path() / "none.json", false}, runner_);
  ASSERT_TRUE(anonymous.isOk());
  EXPECT_FALSE(lookup(**anonymous, "127.0.0.1:5000").has_value());
  auto required = loadAuthFile({dir_.path() / "none.json", true}, runner_);
  EXPECT_EQ(required.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(required.status().message(), HasSubstr("none.json"));
}

TEST_F(CredentialsTest, MalformedFilesAreRefusedWithoutEchoingSecrets) {
  for (const std::string& bad : {
           std::string("not json"),
           std::string("[1, 2]"),
           std::string(R"({"auths": {"h": {"auth": "bm9jb2xvbg=="}}})"),  // "nocolon"
           std::string(R"({"auths": {"h": {"auth": "%%%%"}}})"),
           std::string(R"({"auths": {"h": {"auth": "===="}}})"),
           std::string(R"({"auths": {"h": {"auth": "========"}}})"),
           std::string(R"({"auths": {"h": {"auth": "dTo=cA=="}}})"),  // '=' inside
           std::string(R"({"auths": {"h": {"auth": "dTpw="}}})"),     // length not 4k
           std::string(R"({"auths": {"h": "string"}})"),
           std::string(R"({"credHelpers": {"h": "../../bin/sh"}})"),
           std::string(R"({"credsStore": "-rf"})"),
       }) {
    auto source = load(bad);
    EXPECT_EQ(source.status().code(), ErrorCode::InvalidArgument) << bad;
    EXPECT_THAT(source.status().message(), HasSubstr("config.json")) << bad;
    EXPECT_THAT(source.status().message(), Not(HasSubstr("bm9jb2xvbg"))) << bad;
  }
  // Over 1 MiB: refused before parsing.
  auto big = load(R"({"auths": {}, "x": ")" + std::string(2 << 20, 'a') + "\"}");
  EXPECT_FALSE(big.isOk());
}

TEST_F(CredentialsTest, SymlinkedFileIsFollowedSpecialFilesAreRefused) {
  testing::writeFile(dir_.path() / "real.json", R"({"auths": {"h:1": {"auth": "dTpw"}}})");
  fs::create_symlink(dir_.path() / "real.json", dir_.path() / "link.json");
  auto linked = loadAuthFile({dir_.path() / "link.json", true}, runner_);
  ASSERT_TRUE(linked.isOk()) << linked.status().toString();
  EXPECT_TRUE(lookup(**linked, "h:1").has_value());
  // Also as a default file (home-manager links ~/.docker/config.json into the store).
  EXPECT_TRUE(loadAuthFile({dir_.path() / "link.json", false}, runner_).isOk());

  ASSERT_EQ(::mkfifo((dir_.path() / "fifo").c_str(), 0600), 0);  // must not block
  for (const fs::path& special : {dir_.path() / "fifo", fs::path("/dev/zero"), dir_.path()}) {
    auto source = loadAuthFile({special, true}, runner_);
    EXPECT_EQ(source.status().code(), ErrorCode::InvalidArgument) << special;
    EXPECT_THAT(source.status().message(), HasSubstr("not a regular file")) << special;
  }
}

TEST_F(CredentialsTest, CredentialHelperGetsTheHostOnStdin) {
  auto source = load(R"({"credHelpers": {"127.0.0.1:5000": "pass"}, "credsStore": "desktop",
                        "auths": {"127.0.0.1:5000": {"auth": "dTpw"}}})");
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  EXPECT_CALL(*runner_, run(ElementsAre("docker-credential-pass", "get"),
                            AllOf(Field(&ProcessOptions::stdin_data, "127.0.0.1:5000"),
                                  Field(&ProcessOptions::max_output_bytes, 1u << 20))))
      .WillOnce(Return(ProcessResult{0, R"({"ServerURL":"x","Username":"bot","Secret":"s"})", ""}));
  auto c = lookup(**source, "127.0.0.1:5000");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->username, "bot");
  EXPECT_EQ(c->secret, "s");
  // Other hosts go to credsStore, which has none for this one.
  EXPECT_CALL(*runner_, run(ElementsAre("docker-credential-desktop", "get"), _))
      .WillOnce(Return(ProcessResult{1, "credentials not found in native keychain\n", ""}));
  EXPECT_FALSE(lookup(**source, "other:1").has_value());
}

TEST_F(CredentialsTest, HelperIdentityTokenAndFailures) {
  auto source = load(R"({"credsStore": "secretservice"})");
  ASSERT_TRUE(source.isOk());
  EXPECT_CALL(*runner_, run(_, _))
      .WillOnce(Return(ProcessResult{0, R"({"Username":"<token>","Secret":"rt"})", ""}))
      .WillOnce(Return(ProcessResult{3, "", "dbus: no session\nmore\n"}))
      .WillOnce(Return(ProcessResult{4, "", ""}))
      .WillOnce(Return(ProcessResult{0, "garbage", ""}))
      .WillOnce(
          Return(Status(ErrorCode::Unavailable, "docker-credential-secretservice: not found")));
  auto c = lookup(**source, "h:1");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->identity_token);
  EXPECT_EQ(c->secret, "rt");
  auto failed = (*source)->lookup("h:1");
  EXPECT_EQ(failed.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("dbus: no session"));
  EXPECT_THAT(failed.status().message(), Not(HasSubstr("more")));
  auto silent = (*source)->lookup("h:1");
  EXPECT_EQ(silent.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(silent.status().message(),
              HasSubstr("docker-credential-secretservice get exited with status 4 (no output)"));
  EXPECT_EQ((*source)->lookup("h:1").status().code(), ErrorCode::Unavailable);
  auto missing = (*source)->lookup("h:1");
  EXPECT_EQ(missing.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(missing.status().message(), HasSubstr("h:1"));
}

TEST(CredentialKeysTest, DockerHubUsesTheLegacyIndexKeyFirst) {
  EXPECT_THAT(credentialKeys("docker.io"), ElementsAre("https://index.docker.io/v1/", "docker.io"));
  EXPECT_THAT(credentialKeys("registry-1.docker.io"),
              ElementsAre("https://index.docker.io/v1/", "registry-1.docker.io"));
  EXPECT_THAT(credentialKeys("localhost:5000"), ElementsAre("localhost:5000"));
  EXPECT_THAT(credentialKeys("ghcr.io"), ElementsAre("ghcr.io"));
}

TEST_F(CredentialsTest, DockerHubFindsWhatDockerLoginWrote) {
  // `docker login` writes Docker Hub's entry under its legacy index URL.
  auto source = load(R"({"auths": {"https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"},
                                   "docker.io": {"auth": "ZmFsbDpiYWNr"}}})");
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  auto c = lookup(**source, "docker.io");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->username, "hub");  // the index key wins over "docker.io"
  EXPECT_EQ(c->secret, "hubpw");
}

TEST_F(CredentialsTest, DockerHubFallsBackToADockerIoEntry) {
  auto source = load(R"({"auths": {"docker.io": {"auth": "ZmFsbDpiYWNr"},
                                   "other.example.org": {"auth": "dTpw"}}})");
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  auto c = lookup(**source, "docker.io");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->username, "fall");
  EXPECT_EQ(c->secret, "back");
  // A Docker Hub entry is not another registry's.
  EXPECT_FALSE(lookup(**source, "quay.io").has_value());
}

TEST_F(CredentialsTest, DockerHubHelperIsAskedAboutTheIndexUrlThenDockerIo) {
  auto source = load(R"({"credsStore": "desktop"})");
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  ::testing::InSequence seq;
  EXPECT_CALL(*runner_, run(ElementsAre("docker-credential-desktop", "get"),
                            Field(&ProcessOptions::stdin_data, "https://index.docker.io/v1/")))
      .WillOnce(Return(ProcessResult{1, "credentials not found in native keychain\n", ""}));
  EXPECT_CALL(*runner_, run(ElementsAre("docker-credential-desktop", "get"),
                            Field(&ProcessOptions::stdin_data, "docker.io")))
      .WillOnce(Return(ProcessResult{0, R"({"Username":"hub","Secret":"s"})", ""}));
  auto c = lookup(**source, "docker.io");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->username, "hub");
}

TEST_F(CredentialsTest, DockerHubCredHelperUnderTheIndexKey) {
  auto source = load(R"({"credHelpers": {"https://index.docker.io/v1/": "pass"}})");
  ASSERT_TRUE(source.isOk()) << source.status().toString();
  EXPECT_CALL(*runner_, run(ElementsAre("docker-credential-pass", "get"),
                            Field(&ProcessOptions::stdin_data, "https://index.docker.io/v1/")))
      .WillOnce(Return(ProcessResult{0, R"({"Username":"hub","Secret":"s"})", ""}));
  auto c = lookup(**source, "docker.io");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->secret, "s");
}

}  // namespace
}  // namespace nixsnap::registry
