#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "snapshotter/snapshotter.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace nixsnap::snapshotter {

/// A parsed containerd filter over snapshot Info: several filter strings are OR-ed, the
/// comma-separated selectors inside one are AND-ed. Grammar (containerd filters/parser.go):
///   selectors := selector ("," selector)*
///   selector  := fieldpath [ ("==" | "!=" | "~=") value ]
///   fieldpath := field ("." field)*      field := quoted | [A-Za-z][A-Za-z0-9_]*
///   value     := quoted | [^\s,]+        quoted := "..." (\" \\ \n \t escapes) or /.../
/// Fields: name, parent, kind ("active", "view", "committed"), labels.<key>. Without an
/// operator a selector tests presence. `!=` also matches an absent field (as containerd).
/// `~=` uses RE2 (linear time in the input, no backtracking): the syntax of Go's regexp,
/// which containerd's filters use, so patterns mean what they mean to containerd.
/// Unanchored search, as Go's MatchString. Longer patterns are InvalidArgument (a bound
/// on the automaton's memory; containerd's own keys are short).
inline constexpr size_t kMaxRegexPatternLength = 4096;
/// Bounds on one List request's work, whatever its size (hostile filters): selectors in
/// all its filter strings, `~=` among them, and memory per compiled regex (RE2 max_mem;
/// a pattern that needs more, e.g. a large Unicode class repeated hundreds of times, is
/// InvalidArgument instead of seconds of compiling).
inline constexpr size_t kMaxSelectors = 1024;
inline constexpr size_t kMaxRegexes = 64;
inline constexpr int64_t kMaxRegexMemory = 1 << 20;

class Filter {
 public:
  /// Parses `filters` (empty list or empty strings match everything).
  /// @return InvalidArgument naming the filter and the position of the syntax error.
  static Result<Filter> parse(const std::vector<std::string>& filters);

  bool match(const Info& info) const;

  enum class Op { Present, Equal, NotEqual, Matches };
  /// What is left of the per-request bounds while parsing.
  struct Budget {
    size_t selectors = kMaxSelectors;
    size_t regexes = kMaxRegexes;
  };
  struct Selector {
    std::vector<std::string> fieldpath;
    Op op = Op::Present;
    std::string value;
    std::shared_ptr<const re2::RE2> re;  ///< compiled, for Matches
  };
  /// OR of ANDs; an empty outer list (or an empty inner list) matches everything.
  const std::vector<std::vector<Selector>>& alternatives() const { return any_; }

 private:
  std::vector<std::vector<Selector>> any_;
  bool always_ = false;
};

}  // namespace nixsnap::snapshotter
