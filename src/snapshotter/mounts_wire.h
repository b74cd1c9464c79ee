#pragma once

#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <vector>

#include "snapshotter/mount_plan.h"

namespace nixsnap::snapshotter {

/// Serialized repeated field 1 (`repeated containerd.types.Mount mounts = 1`) holding one
/// `{bind, P, target P, [ro, rbind]}` per path, in order. The bytes are a complete
/// MountsResponse, PrepareSnapshotResponse or ViewSnapshotResponse (field 1 in all
/// three), and protobuf's rule that concatenated messages merge, appending repeated
/// fields, lets them follow any other such message's bytes.
/// @param paths absolute store paths, already validated.
std::string encodeBindMounts(const std::vector<fs::path>& paths);

/// `plan` as a serialized MountsResponse: the `head` mounts encoded now, followed by the
/// chain's encoded binds (BindChain::encoded, built once per chain) as a second slice that
/// references the chain instead of copying it; the chain lives until gRPC releases the
/// buffer. Decoding the result gives plan.flatten() exactly.
grpc::ByteBuffer encodeMountsReply(const MountPlan& plan);

}  // namespace nixsnap::snapshotter
