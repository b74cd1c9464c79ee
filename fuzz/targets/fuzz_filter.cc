// containerd filter expressions (Walk/List filters): one filter string a line; a parsed
// filter is then matched against a few snapshots.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "snapshotter/filter.h"

using namespace nixsnap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto filters = fuzz::split(fuzz::asText(data, size), '\n');
  auto f = snapshotter::Filter::parse(filters);
  fuzz::checkError(f.status());
  if (f.isOk()) {
    snapshotter::Info a{snapshotter::Kind::Active, "k1", "", {{"a", "b"}, {"x.y", ""}}, {}, {}};
    snapshotter::Info c{snapshotter::Kind::Committed, "sha256:00", "p", {}, {}, {}};
    snapshotter::Info v{snapshotter::Kind::View,
                        std::string(300, 'v'),
                        "sha256:00",
                        {{"containerd.io/snapshot/nix-layer", "true"}},
                        {},
                        {}};
    (void)f->match(a);
    (void)f->match(c);
    (void)f->match(v);
  }
  return 0;
}
