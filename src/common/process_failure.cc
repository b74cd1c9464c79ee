#include "common/process_failure.h"

namespace nixsnap {

std::string stderrTail(std::string_view err, size_t max_bytes) {
  while (!err.empty() &&
         (err.back() == '\n' || err.back() == ' ' || err.back() == '\r' || err.back() == '\t')) {
    err.remove_suffix(1);
  }
  if (err.size() <= max_bytes) {
    return std::string(err);
  }
  return "..." + std::string(err.substr(err.size() - max_bytes));
}

std::string describeProcessFailure(std::string_view command, const ProcessResult& result,
                                   size_t max_stderr_bytes) {
  std::string out(command);
  out += result.term_signal != 0 ? " was killed by signal " + std::to_string(result.term_signal)
                                 : " exited with status " + std::to_string(result.exit_code);
  const std::string err = stderrTail(result.stderr_data, max_stderr_bytes);
  return err.empty() ? out + " (no output)" : out + ": " + err;
}

}  // namespace nixsnap
