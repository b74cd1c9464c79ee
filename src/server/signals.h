#pragma once

namespace nixsnap::server {

/// Blocks SIGINT and SIGTERM in the calling thread (and every thread it creates later) and
/// ignores SIGPIPE. Call first thing in main, before any thread starts, so that only
/// waitForTerminationSignal() ever sees them.
void blockTerminationSignals();

/// Waits until SIGINT or SIGTERM arrives (they must be blocked). @return the signal number.
int waitForTerminationSignal();

}  // namespace nixsnap::server
