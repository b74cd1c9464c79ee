// Hands a test-owned NixStore to a component that takes ownership of its store.
#pragma once

#include <memory>

#include "nix/store.h"

namespace nixsnap::testing {

class ForwardingNixStore : public nix::NixStore {
 public:
  explicit ForwardingNixStore(nix::NixStore& target) : target_(target) {}
  Status realise(const std::vector<fs::path>& p, const fs::path& d) override {
    return target_.realise(p, d);
  }
  Status realise(const std::vector<fs::path>& p, const fs::path& d, const CancelToken& c) override {
    return target_.realise(p, d, c);
  }
  Status realiseKnownValid(const std::vector<fs::path>& p, const fs::path& d, const CancelToken& c,
                           const std::vector<fs::path>& valid) override {
    return target_.realiseKnownValid(p, d, c, valid);
  }
  Status removeRoots(const fs::path& d) override { return target_.removeRoots(d); }
  Result<std::vector<fs::path>> requisites(const fs::path& p) override {
    return target_.requisites(p);
  }

 private:
  nix::NixStore& target_;
};

inline nix::NixStorePtr forwardTo(nix::NixStore& target) {
  return std::make_unique<ForwardingNixStore>(target);
}

}  // namespace nixsnap::testing
