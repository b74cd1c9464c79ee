// Snapshot label sets from containerd's Prepare/Commit/Update: lines of KEY=VALUE (the
// first half of the input is one label set, the second another). Every store-path label
// goes through the snapshotter's validation; Commit's and Update's label rules must not
// let a Nix label change.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "nix/store_path.h"
#include "snapshotter/nix_labels.h"
#include "snapshotter/nix_layer.h"

using namespace nixsnap;

namespace {

snapshotter::Labels parseLabels(std::string_view text) {
  snapshotter::Labels out;
  for (const auto& line : fuzz::split(text, '\n')) {
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    std::string key = line.substr(0, eq);
    // Short keys stand for the Nix label prefixes, so the fuzzer reaches them cheaply.
    if (key.rfind("P", 0) == 0) {
      key = "containerd.io/snapshot/nix-store-path." + key.substr(1);
    } else if (key == "L") {
      key = "containerd.io/snapshot/nix-layer";
    }
    out[key] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::asText(data, size);
  auto cut = text.find('\f');
  auto a = parseLabels(text.substr(0, cut));
  auto b = parseLabels(cut == std::string_view::npos ? std::string_view() : text.substr(cut + 1));

  // The store is only used to realise paths (root()); validation never touches it.
  static snapshotter::NixLayer layer("/nix/store", "/nonexistent-nixsnap-fuzz/gcroots", nullptr);
  Status st = layer.validate(a);
  fuzz::checkError(st);
  if (st.isOk()) {
    for (const auto& p : snapshotter::NixLayer::storePaths(a)) {
      NIXSNAP_FUZZ_CHECK(nix::checkStorePathSyntax("/nix/store", p.string()).isOk(), p.string());
    }
  }
  for (const auto& [k, v] : a) {
    fuzz::checkError(nix::checkStorePathSyntax("/nix/store", v));
  }
  auto committed = snapshotter::commitLabels(a, b);
  fuzz::checkError(committed.status());
  if (committed.isOk()) {
    NIXSNAP_FUZZ_CHECK(snapshotter::nixLabels(*committed) == snapshotter::nixLabels(a),
                       "commit changed a Nix label");
  }
  Status upd = snapshotter::checkNixLabelsUnchanged(a, b);
  fuzz::checkError(upd);
  NIXSNAP_FUZZ_CHECK(upd.isOk() == (snapshotter::nixLabels(a) == snapshotter::nixLabels(b)),
                     "update rule disagrees with the Nix labels");
  return 0;
}
