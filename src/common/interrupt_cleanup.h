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

}  // namespace nixsnap
