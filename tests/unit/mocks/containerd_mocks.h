#pragma once

#include <gmock/gmock.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "containerd/client.h"
#include "containerd/config_source.h"

namespace nixsnap::testing {

/// GoogleMock double of containerd::ContainerdClient (interaction checks).
class MockContainerdClient : public containerd::ContainerdClient {
 public:
  MockContainerdClient();
  ~MockContainerdClient() override;
  using CallContext = containerd::CallContext;
  using StringMap = containerd::StringMap;
  MOCK_METHOD(Result<std::string>, version, (const CallContext&), (override));
  MOCK_METHOD(Result<containerd::ContentInfo>, contentInfo,
              (const CallContext&, const std::string&), (override));
  MOCK_METHOD(Status, writeContent,
              (const CallContext&, const std::string&, const fs::path&, const std::string&, int64_t,
               const StringMap&),
              (override));
  MOCK_METHOD(Result<std::string>, readContent, (const CallContext&, const std::string&, int64_t),
              (override));
  MOCK_METHOD(Status, updateContentLabels,
              (const CallContext&, const std::string&, const StringMap&,
               const std::vector<std::string>&),
              (override));
  MOCK_METHOD(Result<containerd::Image>, getImage, (const CallContext&, const std::string&),
              (override));
  MOCK_METHOD(Result<containerd::Image>, createImage,
              (const CallContext&, const containerd::Image&), (override));
  MOCK_METHOD(Result<containerd::Image>, updateImage,
              (const CallContext&, const containerd::Image&, const std::vector<std::string>&),
              (override));
  MOCK_METHOD(Status, deleteImage, (const CallContext&, const std::string&), (override));
  MOCK_METHOD(Result<std::vector<containerd::Mount>>, prepareSnapshot,
              (const CallContext&, const std::string&, const std::string&, const std::string&,
               const StringMap&),
              (override));
  MOCK_METHOD(Status, commitSnapshot,
              (const CallContext&, const std::string&, const std::string&, const std::string&,
               const StringMap&),
              (override));
  MOCK_METHOD(Result<containerd::SnapshotInfo>, statSnapshot,
              (const CallContext&, const std::string&, const std::string&), (override));
  MOCK_METHOD(Status, removeSnapshot, (const CallContext&, const std::string&, const std::string&),
              (override));
  MOCK_METHOD(Result<containerd::Descriptor>, applyDiff,
              (const CallContext&, const containerd::Descriptor&,
               const std::vector<containerd::Mount>&),
              (override));
  MOCK_METHOD(Status, createLease, (const CallContext&, const std::string&, const StringMap&),
              (override));
  MOCK_METHOD(Status, deleteLease, (const CallContext&, const std::string&), (override));
  MOCK_METHOD(Status, addLeaseResource,
              (const CallContext&, const std::string&, const std::string&, const std::string&),
              (override));
  MOCK_METHOD(Result<containerd::ServerInfo>, serverInfo, (const CallContext&), (override));
};

/// In-memory containerd (content, images, snapshots, diff, leases) for state checks, in
/// the Nix dummy:// style. writeContent hashes the file and rejects a wrong digest or
/// size; applyDiff answers the layer's `containerd.io/uncompressed` label; prepare
/// answers AlreadyExists for a used key or a snapshot.ref naming a committed snapshot.
class FakeContainerdClient : public containerd::ContainerdClient {
 public:
  using CallContext = containerd::CallContext;
  using StringMap = containerd::StringMap;
  struct Snapshot {
    std::string parent;
    bool committed = false;
    StringMap labels;  ///< labels passed at prepare
  };

  std::map<std::string, containerd::ContentInfo> content;
  std::map<std::string, containerd::Image> images;
  std::map<std::string, Snapshot> snapshots;  ///< key (active) or name (committed)
  std::set<std::string> leases;
  int writes = 0;
  int prepares = 0;
  int removes = 0;
  std::map<std::string, StringMap> commit_labels;  ///< name -> labels passed to Commit
  int leases_created = 0;
  std::string fail_apply_digest;  ///< applyDiff of this layer fails with Internal

  Result<std::string> version(const CallContext&) override { return std::string("1.7.24"); }
  Result<containerd::ContentInfo> contentInfo(const CallContext&, const std::string& d) override;
  Status writeContent(const CallContext&, const std::string& ref, const fs::path& blob,
                      const std::string& expected, int64_t size, const StringMap& labels) override;
  Result<std::string> readContent(const CallContext&, const std::string&, int64_t) override {
    return unimplemented("fake");
  }
  Status updateContentLabels(const CallContext&, const std::string& d, const StringMap& labels,
                             const std::vector<std::string>& fields) override;
  Result<containerd::Image> getImage(const CallContext&, const std::string& name) override;
  Result<containerd::Image> createImage(const CallContext&, const containerd::Image& i) override;
  Result<containerd::Image> updateImage(const CallContext&, const containerd::Image& i,
                                        const std::vector<std::string>&) override;
  Status deleteImage(const CallContext&, const std::string& name) override;
  Result<std::vector<containerd::Mount>> prepareSnapshot(const CallContext&, const std::string&,
                                                         const std::string& key,
                                                         const std::string& parent,
                                                         const StringMap& labels) override;
  Status commitSnapshot(const CallContext&, const std::string&, const std::string& name,
                        const std::string& key, const StringMap&) override;
  Result<containerd::SnapshotInfo> statSnapshot(const CallContext&, const std::string&,
                                                const std::string& key) override;
  Status removeSnapshot(const CallContext&, const std::string&, const std::string& key) override;
  Result<containerd::Descriptor> applyDiff(const CallContext&, const containerd::Descriptor& l,
                                           const std::vector<containerd::Mount>&) override;
  Status createLease(const CallContext&, const std::string& id, const StringMap&) override;
  Status deleteLease(const CallContext&, const std::string& id) override;
  Status addLeaseResource(const CallContext&, const std::string&, const std::string&,
                          const std::string&) override {
    return Status::ok();
  }
  Result<containerd::ServerInfo> serverInfo(const CallContext&) override {
    return containerd::ServerInfo{"fake", 1, 1};
  }
};

/// GoogleMock double of containerd::ContainerdConfigSource.
class MockContainerdConfigSource : public containerd::ContainerdConfigSource {
 public:
  MockContainerdConfigSource();
  ~MockContainerdConfigSource() override;
  MOCK_METHOD(Result<std::string>, effectiveConfig, (), (override));
};

}  // namespace nixsnap::testing
