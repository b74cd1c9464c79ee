#pragma once

#include <gmock/gmock.h>

#include "nix/root_registrar.h"
#include "nix/store.h"

namespace nixsnap::testing {

class MockNixStore : public nix::NixStore {
 public:
  MockNixStore();
  ~MockNixStore() override;
  MOCK_METHOD(Status, realise,
              (const std::vector<fs::path>& store_paths, const fs::path& gc_root_dir), (override));
  MOCK_METHOD(Status, removeRoots, (const fs::path& gc_root_dir), (override));
  MOCK_METHOD(Result<std::vector<fs::path>>, requisites, (const fs::path& store_path), (override));
};

class MockRootRegistrar : public nix::RootRegistrar {
 public:
  MockRootRegistrar();
  ~MockRootRegistrar() override;
  MOCK_METHOD(Status, registerRoots, (const std::vector<fs::path>& roots), (override));
};

}  // namespace nixsnap::testing
