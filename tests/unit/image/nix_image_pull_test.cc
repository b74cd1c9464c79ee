#include "image/nix_image_pull.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "mocks/common_mocks.h"
#include "mocks/containerd_mocks.h"
#include "mocks/image_mocks.h"
#include "mocks/nix_mocks.h"
#include "support/test_env.h"

namespace nixsnap::image {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::Invoke;
using testing::MockCriImages;
using testing::MockLoader;
using ::testing::Return;
using ::testing::StrictMock;

const std::string kHashName = "0c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-nix-image-redis.tar";
const std::string kId = "sha256:" + std::string(64, 'c');

// A store directory whose path is a valid image reference (lowercase; mkdtemp's names are
// not), removed afterwards.
class LowercaseDir {
 public:
  LowercaseDir() {
    static std::atomic<int> n{0};
    path_ = fs::path("/tmp") /
            ("nixsnap-ut-pull-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path_ / "store");
  }
  ~LowercaseDir() {
    boost::system::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class NixImagePullTest : public ::testing::Test {
 protected:
  NixImagePullTest() {
    options_.store_dir = (dir_.path() / "store").string();
    options_.gc_root_dir = dir_.path() / "pull-gcroots";
    options_.visible_timeout = std::chrono::milliseconds(300);
    options_.visible_poll = std::chrono::milliseconds(5);
    ::nixsnap::testing::writeFile(archive(), "tar");
  }

  fs::path archive() const { return fs::path(options_.store_dir) / kHashName; }
  std::string ref() const { return "nix:0" + archive().string(); }
  std::string tagged() const { return ref() + ":latest"; }

  NixImagePull& pull() {
    if (!pull_) {
      NixImagePullDeps deps{cri_, loader_, store_, containerd_, clock_, sleeper_, random_};
      pull_ = std::make_unique<NixImagePull>(std::move(deps), options_);
    }
    return *pull_;
  }

  std::vector<LoadedImage> loaded() const {
    return {LoadedImage{tagged(), "sha256:" + std::string(64, 'm'), kId}};
  }

  // realise and removeRoots of one pull, both named; fills `roots` with the folder used.
  void expectRooting(fs::path* roots) {
    EXPECT_CALL(*store_, realise(ElementsAre(archive()), _))
        .WillOnce(Invoke([roots](const std::vector<fs::path>&, const fs::path& dir) {
          *roots = dir;
          return Status::ok();
        }));
  }

  LowercaseDir dir_;
  NixImagePullOptions options_;
  std::shared_ptr<StrictMock<MockCriImages>> cri_ = std::make_shared<StrictMock<MockCriImages>>();
  std::shared_ptr<StrictMock<MockLoader>> loader_ = std::make_shared<StrictMock<MockLoader>>();
  std::shared_ptr<StrictMock<::nixsnap::testing::MockNixStore>> store_ =
      std::make_shared<StrictMock<::nixsnap::testing::MockNixStore>>();
  std::shared_ptr<StrictMock<::nixsnap::testing::MockContainerdClient>> containerd_ =
      std::make_shared<StrictMock<::nixsnap::testing::MockContainerdClient>>();
  std::shared_ptr<::nixsnap::testing::ManualClock> clock_ =
      std::make_shared<::nixsnap::testing::ManualClock>();
  std::shared_ptr<::nixsnap::testing::FakeSleeper> sleeper_ =
      std::make_shared<::nixsnap::testing::FakeSleeper>(clock_);
  std::shared_ptr<::nixsnap::testing::CountingRandom> random_ =
      std::make_shared<::nixsnap::testing::CountingRandom>();
  std::unique_ptr<NixImagePull> pull_;
};

TEST_F(NixImagePullTest, LoadsIntoK8sNamespaceAndReturnsConfigDigest) {
  fs::path roots;
  {
    InSequence seq;
    EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string()));
    expectRooting(&roots);
    EXPECT_CALL(
        *loader_,
        load(archive(),
             AllOf(Field(&LoadOptions::ns, "k8s.io"), Field(&LoadOptions::snapshotter, "nix"),
                   Field(&LoadOptions::extra_names, std::vector<std::string>{tagged()}),
                   Field(&LoadOptions::archive_names, false))))
        .WillOnce(Return(loaded()));
    EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
    EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(kId));
    EXPECT_CALL(*cri_, imageId(kId)).WillOnce(Return(kId));
  }
  auto id = pull().pull(ref());
  ASSERT_TRUE(id.isOk()) << id.status().message();
  EXPECT_EQ(*id, kId);
}

// Defect: the archive had no GC root between its realisation and its load, so a
// concurrent nix-collect-garbage could delete it under the loader.
TEST_F(NixImagePullTest, ArchiveIsRootedUnderTheDaemonRootUntilItIsLoaded) {
  fs::path roots;
  bool loaded_while_rooted = false;
  bool unrooted = false;
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string())).WillOnce(Return(kId));
  EXPECT_CALL(*cri_, imageId(kId)).WillOnce(Return(kId));
  expectRooting(&roots);
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Invoke([&](const fs::path&, const LoadOptions&) {
    loaded_while_rooted = !roots.empty() && !unrooted;
    return Result<std::vector<LoadedImage>>(loaded());
  }));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Invoke([&](const fs::path& dir) {
    EXPECT_EQ(dir, roots);
    unrooted = true;
    return Status::ok();
  }));
  ASSERT_TRUE(pull().pull(ref()).isOk());
  EXPECT_TRUE(loaded_while_rooted);
  EXPECT_TRUE(unrooted);
  EXPECT_EQ(roots.parent_path(), options_.gc_root_dir);
  EXPECT_EQ(roots.filename().string(), "pull-1000000000000000");  // injected randomness
}

TEST_F(NixImagePullTest, RootsAreRemovedWhenTheLoadFails) {
  fs::path roots;
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string()));
  expectRooting(&roots);
  EXPECT_CALL(*loader_, load(_, _))
      .WillOnce(Return(invalidArgument("reading archive: no index.json")));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Invoke([&](const fs::path& dir) {
    EXPECT_EQ(dir, roots);
    return Status::ok();
  }));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr(ref()));
}

TEST_F(NixImagePullTest, WaitsUntilContainerdCriListsTheImageWithoutRealTime) {
  EXPECT_CALL(*cri_, imageId(tagged()))
      .WillOnce(Return(std::string()))  // before the load
      .WillOnce(Return(std::string()))  // event not handled yet
      .WillOnce(Return(std::string()))
      .WillOnce(Return(kId));
  EXPECT_CALL(*cri_, imageId(kId)).WillOnce(Return(kId));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(loaded()));
  auto id = pull().pull(ref());
  ASSERT_TRUE(id.isOk()) << id.status().message();
  EXPECT_EQ(sleeper_->sleeps(), 2);
}

TEST_F(NixImagePullTest, MalformedReferenceIsInvalidArgumentAndTouchesNothing) {
  auto id = pull().pull("nix:0/etc/passwd");
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("nix:0/etc/passwd"));
}

TEST_F(NixImagePullTest, UnrealisableArchiveIsNotFoundAndLoadsNothing) {
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string()));
  EXPECT_CALL(*store_, realise(_, _))
      .WillOnce(Return(notFound("realising \"" + archive().string() +
                                "\": nix-store exited 1: don't know how to build")));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::NotFound);
  EXPECT_THAT(id.status().message(), HasSubstr(archive().string()));
}

TEST_F(NixImagePullTest, SymlinkOutOfTheStoreIsInvalidArgumentAndLoadsNothing) {
  fs::remove(archive());
  ::nixsnap::testing::writeFile(dir_.path() / "outside.tar", "tar");
  fs::create_symlink(dir_.path() / "outside.tar", archive());
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string()));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("out of the store"));
}

TEST_F(NixImagePullTest, DirectoryIsNotAnImageArchive) {
  fs::remove(archive());
  fs::create_directories(archive());
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string()));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("is a directory, not an image archive"));
  EXPECT_THAT(id.status().message(), HasSubstr(archive().string()));
}

TEST_F(NixImagePullTest, EmptyArchiveIsInvalidArgument) {
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string()));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(std::vector<LoadedImage>{}));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::InvalidArgument);
}

TEST_F(NixImagePullTest, ContainerdDownIsUnavailableBeforeRealising) {
  EXPECT_CALL(*cri_, imageId(tagged()))
      .WillOnce(Return(unavailable("forwarding ImageStatus to containerd CRI at " +
                                   cri_->address() + ": connection refused")));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::Unavailable);
  EXPECT_THAT(id.status().message(), HasSubstr(cri_->address()));
}

TEST_F(NixImagePullTest, LoaderUnavailableIsUnavailable) {
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string()));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _))
      .WillOnce(Return(unavailable("containerd at /run/c.sock: connection refused")));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::Unavailable);
}

// Issue 12: an image the daemon loaded but containerd's CRI cannot use must not stay.
TEST_F(NixImagePullTest, ImageNeverListedIsDeletedThroughContainerdAndDeadlineExceeded) {
  EXPECT_CALL(*cri_, imageId(tagged())).WillRepeatedly(Return(std::string()));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(loaded()));
  EXPECT_CALL(*containerd_, deleteImage(Field(&containerd::CallContext::ns, "k8s.io"), tagged()))
      .WillOnce(Return(Status::ok()));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::DeadlineExceeded);
  EXPECT_THAT(id.status().message(), HasSubstr(cri_->address()));
  // The whole timeout passed on the fake clock, in polls, not in real time.
  EXPECT_EQ(sleeper_->sleeps(), 300 / 5);
}

TEST_F(NixImagePullTest, ImageNeverListedPutsBackWhatTheNameNamedBefore) {
  const std::string old_id = "sha256:" + std::string(64, 'a');
  containerd::Image prior{
      tagged(),
      {},
      {"application/vnd.oci.image.manifest.v1+json", "sha256:" + std::string(64, 'o'), 100, {}}};
  EXPECT_CALL(*cri_, imageId(tagged())).WillRepeatedly(Return(old_id));
  EXPECT_CALL(*containerd_, getImage(_, tagged())).WillOnce(Return(prior));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Return(loaded()));
  EXPECT_CALL(*containerd_, updateImage(_, Field(&containerd::Image::target, prior.target),
                                        std::vector<std::string>{"target"}))
      .WillOnce(Return(prior));
  auto id = pull().pull(ref());
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), ErrorCode::DeadlineExceeded);
}

TEST_F(NixImagePullTest, ConcurrentPullsOfOneReferenceLoadOnce) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> loading;
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string())).WillOnce(Return(kId));
  EXPECT_CALL(*cri_, imageId(kId)).WillOnce(Return(kId));
  EXPECT_CALL(*store_, realise(_, _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(_, _)).WillOnce(Invoke([&](const fs::path&, const LoadOptions&) {
    loading.set_value();
    released.wait();
    return Result<std::vector<LoadedImage>>(loaded());
  }));
  NixImagePull& p = pull();
  std::vector<std::future<Result<std::string>>> pulls;
  pulls.push_back(std::async(std::launch::async, [&] { return p.pull(ref()); }));
  loading.get_future().wait();
  for (int i = 0; i < 5; ++i) {
    // The second spelling shares the flight: it is keyed by the store path.
    std::string r = i % 2 == 0 ? ref() : tagged();
    pulls.push_back(std::async(std::launch::async, [&p, r] { return p.pull(r); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  release.set_value();
  for (auto& f : pulls) {
    auto id = f.get();
    ASSERT_TRUE(id.isOk()) << id.status().message();
    EXPECT_EQ(*id, kId);
  }
}

// Issue 14: a pull realising a large archive must not hold up a pull of another path.
// The first realisation blocks until the second pull has finished: a lock spanning
// realisations would deadlock here (and the bounded wait below fails the test).
TEST_F(NixImagePullTest, PullOfAnotherPathCompletesWhileARealisationIsInFlight) {
  const std::string other_name = "1c8yrjx3fndm2d9w4y2sqq3b1rbn4pcr-other.tar";
  const fs::path other = fs::path(options_.store_dir) / other_name;
  const std::string other_ref = "nix:0" + other.string();
  const std::string other_id = "sha256:" + std::string(64, 'd');
  ::nixsnap::testing::writeFile(other, "tar");
  std::promise<void> slow_started;
  std::promise<void> other_done;
  std::shared_future<void> other_finished = other_done.get_future().share();
  EXPECT_CALL(*cri_, imageId(tagged())).WillOnce(Return(std::string())).WillOnce(Return(kId));
  EXPECT_CALL(*cri_, imageId(kId)).WillOnce(Return(kId));
  EXPECT_CALL(*cri_, imageId(other_ref + ":latest"))
      .WillOnce(Return(std::string()))
      .WillOnce(Return(other_id));
  EXPECT_CALL(*cri_, imageId(other_id)).WillOnce(Return(other_id));
  EXPECT_CALL(*store_, realise(ElementsAre(archive()), _))
      .WillOnce(Invoke([&](const std::vector<fs::path>&, const fs::path&) {
        slow_started.set_value();
        other_finished.wait();  // the large archive: done only after the other pull
        return Status::ok();
      }));
  EXPECT_CALL(*store_, realise(ElementsAre(other), _)).WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(_)).Times(2).WillRepeatedly(Return(Status::ok()));
  EXPECT_CALL(*loader_, load(archive(), _)).WillOnce(Return(loaded()));
  EXPECT_CALL(*loader_, load(other, _))
      .WillOnce(Return(std::vector<LoadedImage>{{other_ref + ":latest", "m", other_id}}));
  NixImagePull& p = pull();
  auto slow = std::async(std::launch::async, [&] { return p.pull(ref()); });
  slow_started.get_future().wait();
  auto fast = std::async(std::launch::async, [&] {
    auto id = p.pull(other_ref);
    other_done.set_value();
    return id;
  });
  ASSERT_EQ(fast.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the second pull waited for the first one's realisation";
  auto fast_id = fast.get();
  ASSERT_TRUE(fast_id.isOk()) << fast_id.status().message();
  EXPECT_EQ(*fast_id, other_id);
  auto slow_id = slow.get();
  ASSERT_TRUE(slow_id.isOk()) << slow_id.status().message();
}

TEST_F(NixImagePullTest, StaleRootsOfAnEarlierRunAreRemoved) {
  fs::create_directories(options_.gc_root_dir / "pull-aaaa");
  fs::create_directories(options_.gc_root_dir / "pull-bbbb");
  EXPECT_CALL(*store_, removeRoots(options_.gc_root_dir / "pull-aaaa"))
      .WillOnce(Return(Status::ok()));
  EXPECT_CALL(*store_, removeRoots(options_.gc_root_dir / "pull-bbbb"))
      .WillOnce(Return(Status::ok()));
  pull().removeStaleRoots();
}

TEST_F(NixImagePullTest, NoStaleRootsFolderIsFine) {
  pull().removeStaleRoots();  // StrictMock store: any call fails the test
}

}  // namespace
}  // namespace nixsnap::image
