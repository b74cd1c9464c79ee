#include "nix/nix_daemon_root_registrar.h"

#include <chrono>
#include <utility>

#include "common/process_failure.h"
#include "nix/worker_protocol.h"

namespace nixsnap::nix {

namespace {

/// How much of Nix's stderr a message quotes (its end).
constexpr size_t kMaxStderr = 2000;

/// The replies to a session of `roots.size()` AddIndirectRoot operations in `out`:
/// Ok when all succeeded; the first failure otherwise (its root named). `reader` tells
/// whether the output was merely cut short.
Status parseReplies(worker::Reader& reader, const std::vector<fs::path>& roots) {
  Result<uint64_t> version = reader.hello();
  if (!version.isOk()) {  // no greeting: Nix could not start or reach the daemon
    return unavailable(version.status().message());
  }
  NIXSNAP_RETURN_IF_ERROR(reader.endOfWork());  // startup messages (a refused user ends here)
  for (const fs::path& root : roots) {
    Status st = reader.endOfWork();
    if (st.isOk()) {
      st = reader.u64().status();
    }
    if (!st.isOk()) {
      return st.wrap("\"" + root.string() + "\"");
    }
  }
  return Status::ok();
}

}  // namespace

NixDaemonRootRegistrar::NixDaemonRootRegistrar(ProcessRunnerPtr runner, std::string program)
    : runner_(std::move(runner)), program_(std::move(program)) {}

Status NixDaemonRootRegistrar::registerRoots(const std::vector<fs::path>& roots) {
  if (roots.empty()) {
    return Status::ok();
  }
  std::string session = worker::clientHello();
  for (const fs::path& root : roots) {
    worker::putU64(session, worker::kOpAddIndirectRoot);
    worker::putString(session, root.string());
  }
  ProcessOptions options;
  options.stdin_data = std::move(session);
  // nix-daemon takes a closed stdin as a hang-up and stops: keep it open until every
  // reply (or an error) is in. Parsing is skipped while the output is shorter than the
  // shortest complete reply (hello, end of startup, per root an end and a result) and
  // holds no error message.
  const size_t min_reply = 3 * 8 + roots.size() * 16;
  std::string error_tag;
  worker::putU64(error_tag, worker::kStderrError);
  options.close_stdin_when = [&roots, min_reply, error_tag](const std::string& out) {
    if (out.size() < min_reply && out.find(error_tag) == std::string::npos) {
      return false;
    }
    worker::Reader reader(out);
    (void)parseReplies(reader, roots);
    return !reader.truncated();
  };
  options.timeout = std::chrono::minutes(5);
  // Per root a few bytes unless Nix logs; anything far beyond is not a worker session.
  options.max_output_bytes = 1024 * 1024 + roots.size() * 256;
  const std::string what = "registering gc roots with " + program_ + " --stdio";
  Result<ProcessResult> r = runner_->run({program_, "--stdio"}, options);
  if (!r.isOk()) {
    return r.status().wrap(what);
  }
  worker::Reader reader(r->stdout_data);
  Status st = parseReplies(reader, roots);
  if (st.isOk()) {
    return st;
  }
  if (r->exit_code != 0) {
    return Status(st.code(), what + ": " + st.message() + "; " +
                                 describeProcessFailure(program_ + " --stdio", *r, kMaxStderr));
  }
  std::string err = stderrTail(r->stderr_data, kMaxStderr);
  return Status(st.code(), what + ": " + st.message() + (err.empty() ? "" : ": " + err));
}

}  // namespace nixsnap::nix
