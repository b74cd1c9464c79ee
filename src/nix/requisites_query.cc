#include "nix/requisites_query.h"

#include <string_view>

#include "common/log.h"
#include "common/process_failure.h"
#include "nix/nix_db.h"

namespace nixsnap::nix {

Result<std::vector<fs::path>> queryRequisites(ProcessRunner& runner, const std::string& program,
                                              const fs::path& store_path) {
  ProcessOptions options;
  options.max_output_bytes = kMaxRequisitesOutputBytes;
  Result<ProcessResult> r =
      runner.run({program, "--query", "--requisites", store_path.string()}, options);
  if (!r.isOk()) {
    return r.status().wrap("querying the closure of \"" + store_path.string() + "\" with " +
                           program);
  }
  if (r->exit_code != 0) {
    ErrorCode code = r->stderr_data.find("is not valid") != std::string::npos
                         ? ErrorCode::FailedPrecondition
                         : ErrorCode::Internal;
    return Status(code, "querying the closure of \"" + store_path.string() +
                            "\": " + describeProcessFailure(program + " --query --requisites", *r));
  }
  std::vector<fs::path> out;
  std::string_view rest = r->stdout_data;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) {
      out.emplace_back(std::string(line));
    }
    if (nl == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(nl + 1);
  }
  return out;
}

Result<std::vector<fs::path>> requisitesOf(ProcessRunner& runner, const std::string& program,
                                           const fs::path& nix_state_dir,
                                           const fs::path& store_path) {
  Result<std::vector<fs::path>> db = nixDbRequisites(nix_state_dir, store_path);
  if (db.isOk() || db.status().code() == ErrorCode::FailedPrecondition) {
    return db;
  }
  NIXSNAP_LOG(Debug, "reading the nix database failed, asking nix-store",
              {{"store_path", store_path.string()}, {"error", db.status().message()}});
  return queryRequisites(runner, program, store_path);
}

}  // namespace nixsnap::nix
