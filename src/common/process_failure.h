#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/process_runner.h"

namespace nixsnap {

/// A child's stderr as a message quotes it: trailing blanks trimmed, then its last
/// `max_bytes` bytes, prefixed with "..." when cut. Empty when there is nothing to say.
std::string stderrTail(std::string_view err, size_t max_bytes);

/// How a child process that failed ended, for an error message; the one wording of it:
/// "nix-store --realise exited with status 1: <stderr>", "... was killed by signal 9:
/// <stderr>", and "(no output)" in place of an empty (or blank) stderr, so the detail is
/// never empty.
/// @param command   what ran, as the reader knows it: "nix-store --realise".
/// @param result    its result (exit_code, term_signal, stderr_data).
/// @param max_stderr_bytes the stderr quoted is its last this many bytes (after trailing
///        blanks are trimmed), prefixed with "..." when cut.
std::string describeProcessFailure(std::string_view command, const ProcessResult& result,
                                   size_t max_stderr_bytes = 4000);

}  // namespace nixsnap
