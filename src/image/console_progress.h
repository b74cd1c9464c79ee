#pragma once

#include <ostream>

#include "image/progress.h"

namespace nixsnap::image {

/// Progress for people, on `out` (nix2container uses stderr, keeping stdout for results).
/// On a terminal a running step shows one line that its result then replaces; otherwise
/// (a log, a pipe) each finished step is one line and nothing is rewritten.
/// @param terminal isatty() of `out`'s file descriptor.
ProgressSinkPtr makeConsoleProgress(std::ostream& out, bool terminal);

/// The line shown for `event` (without newline).
std::string describeProgress(const ProgressEvent& event);

}  // namespace nixsnap::image
