#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "snapshotter/snapshotter.h"

namespace nixsnap::snapshotter {

/// A parsed containerd filter over snapshot Info: several filter strings are OR-ed, the
/// comma-separated selectors inside one are AND-ed. Grammar (containerd filters/parser.go):
///   selectors := selector ("," selector)*
///   selector  := fieldpath [ ("==" | "!=" | "~=") value ]
///   fieldpath := field ("." field)*      field := quoted | [A-Za-z][A-Za-z0-9_]*
///   value     := quoted | [^\s,]+        quoted := "..." (\" \\ \n \t escapes) or /.../
/// Fields: name, parent, kind ("active", "view", "committed"), labels.<key>. Without an
/// operator a selector tests presence. `!=` also matches an absent field (as containerd).
/// std::regex recurses per input character: bound both sides (label values are at most
/// 4096 bytes anyway, see kMaxLabelSize). Longer inputs never match `~=`; longer
/// patterns are InvalidArgument.
inline constexpr size_t kMaxRegexInputLength = 4096;
inline constexpr size_t kMaxRegexPatternLength = 1024;

class Filter {
 public:
  /// Parses `filters` (empty list or empty strings match everything).
  /// @return InvalidArgument naming the filter and the position of the syntax error.
  static Result<Filter> parse(const std::vector<std::string>& filters);

  bool match(const Info& info) const;

  enum class Op { Present, Equal, NotEqual, Matches };
  struct Selector {
    std::vector<std::string> fieldpath;
    Op op = Op::Present;
    std::string value;
    std::shared_ptr<std::regex> re;  ///< for Matches
  };
  /// OR of ANDs; an empty outer list (or an empty inner list) matches everything.
  const std::vector<std::vector<Selector>>& alternatives() const { return any_; }

 private:
  std::vector<std::vector<Selector>> any_;
  bool always_ = false;
};

}  // namespace nixsnap::snapshotter
