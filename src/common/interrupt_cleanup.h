#pragma once

#include "common/fs.h"

namespace nixsnap {

/// For a short-lived CLI whose scratch space must not outlive it: from now on SIGINT,
/// SIGTERM and SIGHUP are taken by a background thread (sigwait) that removes `dir`
/// recursively, says so on stderr and ends the process with 128 + the signal number, as
/// a shell reports a process killed by that signal. Without a signal, the caller removes
/// `dir` itself (e.g. a TempDir going out of scope).
///
/// Call once, before any other thread is started (gRPC's included): the signals are
/// blocked in the calling thread and every thread created afterwards inherits that.
/// Not for daemons (they finish in-flight work on SIGTERM instead).
void removeOnInterrupt(const fs::path& dir);

/// For a caller about to report an error: while an interrupt is being handled, never
/// returns, and the handler ends the process with its own message and status (its
/// removal of the scratch dir is likely what made the caller fail, e.g. "not found" for a
/// file it was extracting); otherwise returns at once. Thread-safe.
void yieldToInterrupt();

/// Marks `file` as being written in place (an output outside the scratch dir, e.g.
/// nix2container's OUT): an interrupt from now on unlinks it too, so a signal never leaves
/// a truncated output behind. Call only for a file this process created or truncated.
/// Without removeOnInterrupt it is bookkeeping only. Thread-safe.
void unlinkOnInterrupt(const fs::path& file);
/// The file is complete (or removed by its writer): an interrupt leaves it alone.
void keepOnInterrupt(const fs::path& file);

}  // namespace nixsnap
