#include "common/process_failure.h"

namespace nixsnap {

std::string describeProcessFailure(std::string_view command, const ProcessResult& result,
                                   size_t max_stderr_bytes) {
  std::string out(command);
  out += result.term_signal != 0 ? " was killed by signal " + std::to_string(result.term_signal)
                                 : " exited with status " + std::to_string(result.exit_code);
  std::string_view err = result.stderr_data;
  while (!err.empty() &&
         (err.back() == '\n' || err.back() == ' ' || err.back() == '\r' || err.back() == '\t')) {
    err.remove_suffix(1);
  }
  if (err.empty()) {
    return out + " (no output)";
  }
  out += ": ";
  if (err.size() > max_stderr_bytes) {
    out += "...";
    err.remove_prefix(err.size() - max_stderr_bytes);
  }
  out += err;
  return out;
}

}  // namespace nixsnap
