#pragma once

#include "mount/mounter.h"

namespace nixsnap::mount {

/// mount(2)/umount2(2) implementation of Mounter (Linux only). Read-only binds are
/// done as a bind followed by a read-only remount, as the kernel requires.
MounterPtr makeLinuxMounter();

}  // namespace nixsnap::mount
