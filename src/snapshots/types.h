#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

/// Value types of containerd's snapshots contract (core/snapshots): the leaf every layer
/// above shares (metadata/ stores them, snapshotter/ serves them, rpc/ converts them).
namespace nixsnap::snapshots {

/// Snapshot labels: containerd label keys to values.
using Labels = std::map<std::string, std::string>;

/// containerd's snapshot kinds (snapshots.Kind).
enum class Kind { Unknown, View, Active, Committed };

/// Public record of a snapshot, as containerd's snapshots.Info.
struct Info {
  Kind kind = Kind::Unknown;
  std::string name;    ///< key of an active/view snapshot, name of a committed one
  std::string parent;  ///< name of the committed parent, empty for none
  Labels labels;
  std::chrono::system_clock::time_point created;
  std::chrono::system_clock::time_point updated;
};

/// containerd's snapshots.Usage.
struct Usage {
  int64_t size_bytes = 0;  ///< bytes on disk of the snapshot's own layer
  int64_t inodes = 0;      ///< inodes of the snapshot's own layer
};

}  // namespace nixsnap::snapshots
