// Runs the typed snapshotter conformance suite against the production snapshotter.
#include "conformance/snapshotter_suite.h"
#include "snapshotter/factory.h"

namespace nixsnap::testing {
namespace {

struct OverlayFactory {
  static snapshotter::SnapshotterPtr make(const fs::path& root) {
    snapshotter::Options o;
    o.root = root;
    o.nix_state_dir = root.parent_path() / "nixstate";
    auto sn = snapshotter::makeSnapshotter(o);
    EXPECT_TRUE(sn.isOk()) << sn.status().toString();
    return std::move(*sn);
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Overlay, SnapshotterSuite, ::testing::Types<OverlayFactory>);

}  // namespace
}  // namespace nixsnap::testing
