// Nix labels are fixed at Prepare: what Commit and Update may do with them.
#include "snapshotter/nix_labels.h"

#include <gmock/gmock.h>

namespace nixsnap::testing {
namespace {

using snapshotter::Labels;
using ::testing::HasSubstr;

const std::string kLayer = "containerd.io/snapshot/nix-layer";
const std::string kPath0 = "containerd.io/snapshot/nix-store-path.0";
const std::string kPath1 = "containerd.io/snapshot/nix-store-path.1";

TEST(NixLabelsTest, ClassifiesKeys) {
  EXPECT_TRUE(snapshotter::isNixLabel(kLayer));
  EXPECT_TRUE(snapshotter::isNixLabel(kPath0));
  EXPECT_TRUE(snapshotter::isNixLabel("containerd.io/snapshot/nix-store-path."));
  EXPECT_FALSE(snapshotter::isNixLabel("containerd.io/snapshot/nix-layerx"));
  EXPECT_FALSE(snapshotter::isNixLabel("containerd.io/snapshot.ref"));
  EXPECT_FALSE(snapshotter::isNixLabel(""));
  EXPECT_EQ(snapshotter::nixLabels({{kLayer, "true"}, {"a", "b"}, {kPath0, "/s/x"}}),
            (Labels{{kLayer, "true"}, {kPath0, "/s/x"}}));
}

TEST(NixLabelsTest, CommitWithoutNixLabelsKeepsTheActiveOnes) {
  Labels active{{kLayer, "true"}, {kPath0, "/s/a"}, {"old", "1"}};
  auto l = snapshotter::commitLabels(active, {{"new", "2"}});
  ASSERT_TRUE(l.isOk());
  // Other labels are replaced as containerd's Commit does; Nix labels stay.
  EXPECT_EQ(*l, (Labels{{kLayer, "true"}, {kPath0, "/s/a"}, {"new", "2"}}));
  EXPECT_EQ(*snapshotter::commitLabels({{"old", "1"}}, {}), Labels{});
}

TEST(NixLabelsTest, CommitRepeatingTheSameNixLabelsIsAccepted) {
  Labels active{{kLayer, "true"}, {kPath0, "/s/a"}};
  Labels requested{{kLayer, "true"}, {kPath0, "/s/a"}, {"x", "y"}};
  auto l = snapshotter::commitLabels(active, requested);
  ASSERT_TRUE(l.isOk());
  EXPECT_EQ(*l, requested);
}

TEST(NixLabelsTest, CommitThatAddsChangesOrDropsANixLabelIsInvalid) {
  Labels active{{kLayer, "true"}, {kPath0, "/s/a"}};
  struct Case {
    Labels requested;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{kLayer, "true"}, {kPath0, "/s/a"}, {kPath1, "/s/b"}}, kPath1},  // added
      {{{kLayer, "true"}, {kPath0, "/s/b"}}, kPath0},                    // changed
      {{{kPath0, "/s/a"}}, kLayer},                                      // dropped
      {{{kPath0, "/s/b"}}, kPath0},  // changed and dropped: the change is named
  };
  for (const Case& c : cases) {
    auto l = snapshotter::commitLabels(active, c.requested);
    EXPECT_EQ(l.status().code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(l.status().message(), HasSubstr("\"" + c.key + "\""));
  }
  // A plain active snapshot cannot gain store paths at Commit either.
  EXPECT_EQ(snapshotter::commitLabels({}, {{kPath0, "/s/a"}}).status().code(),
            ErrorCode::InvalidArgument);
}

TEST(NixLabelsTest, UpdateMustLeaveNixLabelsAsTheyWere) {
  Labels before{{kPath0, "/s/a"}, {"x", "1"}};
  EXPECT_TRUE(snapshotter::checkNixLabelsUnchanged(before, {{kPath0, "/s/a"}, {"x", "2"}}).isOk());
  EXPECT_TRUE(snapshotter::checkNixLabelsUnchanged({}, {{"x", "2"}}).isOk());
  Status st = snapshotter::checkNixLabelsUnchanged(before, {{"x", "1"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr(kPath0));
  EXPECT_THAT(st.message(), HasSubstr("Update"));
  st = snapshotter::checkNixLabelsUnchanged({}, {{kLayer, "true"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr(kLayer));
}

TEST(NixLabelsTest, HostileKeyIsCappedInTheMessage) {
  std::string key = "containerd.io/snapshot/nix-store-path." + std::string(5000, 'k');
  Status st = snapshotter::checkNixLabelsUnchanged({}, {{key, "v"}});
  EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
  EXPECT_LT(st.message().size(), 600u);
}

}  // namespace
}  // namespace nixsnap::testing
