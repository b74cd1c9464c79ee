#pragma once

#include "common/clock.h"
#include "common/fs.h"
#include "common/random.h"
#include "containerd/client.h"
#include "image/loader.h"

namespace nixsnap::image {

/// Loader over a ContainerdClient: does what `ctr image import` plus containerd's
/// unpacker do, but passes each layer's `containerd.io/snapshot/*` annotations as
/// snapshot labels (which neither ctr import nor ctr pull does; DESIGN.md section 1).
/// Everything happens under one lease (containerd.io/gc.expire as a safety net), deleted
/// at the end, so a failed load leaves nothing visible: no image record is created
/// before its content and snapshots exist, and unreferenced leftovers are collected.
class ContainerdLoader : public Loader {
 public:
  /// @param tmp_dir where archives are extracted; empty: tempDirFromEnvironment().
  /// @param clock   stamps the lease's gc.expire and times the progress events; null:
  ///                the system clock.
  /// @param random  names leases and unpack keys; null: the system's random source.
  explicit ContainerdLoader(containerd::ContainerdClientPtr client, fs::path tmp_dir = {},
                            ClockPtr clock = nullptr, RandomPtr random = nullptr);

  Result<std::vector<LoadedImage>> load(const fs::path& archive,
                                        const LoadOptions& options) override;

 private:
  containerd::ContainerdClientPtr client_;
  fs::path tmp_dir_;
  ClockPtr clock_;
  RandomPtr random_;
};

/// containerd's chain IDs: chain[0] = diff[0], chain[i] = sha256(chain[i-1] + " " + diff[i]).
std::vector<std::string> chainIds(const std::vector<std::string>& diff_ids);

}  // namespace nixsnap::image
