#pragma once

#include <string>
#include <vector>

#include "common/fs.h"
#include "common/process_runner.h"
#include "nix/worker_protocol.h"

namespace nixsnap::testing {

/// What `nix-daemon --stdio` writes back for a session of `n` AddIndirectRoot operations
/// (protocol 1.34, as Nix 2.8 answers): hello, end of startup work, then per operation
/// STDERR_LAST and the result 1. `log_each` puts a log line before every STDERR_LAST.
inline std::string daemonReplyFor(size_t n, bool log_each = false) {
  std::string out;
  nix::worker::putU64(out, nix::worker::kMagic2);
  nix::worker::putU64(out, (1 << 8) | 34);
  for (size_t i = 0; i <= n; ++i) {
    if (log_each) {
      nix::worker::putU64(out, nix::worker::kStderrNext);
      nix::worker::putString(out, "note\n");
    }
    nix::worker::putU64(out, nix::worker::kStderrLast);
    if (i > 0) {
      nix::worker::putU64(out, 1);
    }
  }
  return out;
}

/// The client session NixDaemonRootRegistrar must write for `roots`.
inline std::string sessionFor(const std::vector<fs::path>& roots) {
  std::string s = nix::worker::clientHello();
  for (const fs::path& r : roots) {
    nix::worker::putU64(s, nix::worker::kOpAddIndirectRoot);
    nix::worker::putString(s, r.string());
  }
  return s;
}

/// Plays `nix-daemon --stdio` for a ProcessRunner mock: decodes the session on stdin,
/// appends every AddIndirectRoot path to `registered` and answers each with success.
struct FakeNixDaemon {
  std::vector<std::string> registered;

  Result<ProcessResult> operator()(const std::vector<std::string>&, const ProcessOptions& o) {
    nix::worker::Reader in(o.stdin_data);
    for (int i = 0; i < 4; ++i) {
      if (!in.u64().isOk()) {
        return ProcessResult{1, "", "error: bad greeting"};
      }
    }
    size_t n = 0;
    for (Result<uint64_t> op = in.u64(); op.isOk(); op = in.u64(), ++n) {
      Result<std::string> path = in.str();
      if (*op != nix::worker::kOpAddIndirectRoot || !path.isOk()) {
        return ProcessResult{1, "", "error: unexpected op"};
      }
      registered.push_back(*path);
    }
    return ProcessResult{0, daemonReplyFor(n), ""};
  }
};

}  // namespace nixsnap::testing
