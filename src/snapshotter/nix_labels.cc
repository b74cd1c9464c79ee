#include "snapshotter/nix_labels.h"

#include <string_view>

namespace nixsnap::snapshotter {

namespace {

/// The first key that `after` adds or changes, else the first it drops; empty if none.
/// Added and changed keys come first: they are what the caller asked for.
std::string firstDifference(const Labels& before, const Labels& after) {
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    if (it == before.end() || it->second != v) {
      return k;
    }
  }
  for (const auto& [k, v] : before) {
    if (after.count(k) == 0) {
      return k;
    }
  }
  return {};
}

Status immutable(const std::string& key, std::string_view op) {
  // Keys are hostile input: cap what goes into the message.
  return invalidArgument("label \"" + key.substr(0, 256) + "\" cannot be changed by " +
                         std::string(op) + ": Nix labels are fixed when the snapshot is prepared");
}

}  // namespace

bool isNixLabel(const std::string& key) {
  constexpr std::string_view prefix = kLabelNixStorePathPrefix;
  return key == kLabelNixLayer || key == kLabelNixClosure ||
         key.compare(0, prefix.size(), prefix) == 0;
}

Labels nixLabels(const Labels& labels) {
  Labels out;
  for (const auto& [k, v] : labels) {
    if (isNixLabel(k)) {
      out.emplace_hint(out.end(), k, v);
    }
  }
  return out;
}

Result<Labels> commitLabels(const Labels& active, const Labels& requested) {
  Labels want = nixLabels(requested);
  Labels have = nixLabels(active);
  if (want.empty()) {
    Labels out = requested;
    out.insert(have.begin(), have.end());
    return out;
  }
  std::string key = firstDifference(have, want);
  if (!key.empty()) {
    return immutable(key, "Commit");
  }
  return requested;
}

Status checkNixLabelsUnchanged(const Labels& before, const Labels& after) {
  std::string key = firstDifference(nixLabels(before), nixLabels(after));
  return key.empty() ? Status::ok() : immutable(key, "Update");
}

}  // namespace nixsnap::snapshotter
