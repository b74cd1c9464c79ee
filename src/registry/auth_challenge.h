#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace nixsnap::registry {

/// One challenge of a WWW-Authenticate header, e.g. `Bearer realm="…",service="…"`.
struct AuthChallenge {
  std::string scheme;                         ///< lower-case: "basic", "bearer", ...
  std::map<std::string, std::string> params;  ///< lower-case names, unquoted values
};

/// Parses the challenges of a WWW-Authenticate value (RFC 9110 §11.6.1: comma-separated
/// challenges, each an auth-scheme followed by `name=token` or `name="quoted string"`
/// parameters; a token68 such as `Basic abc==` is skipped). The header comes from an
/// untrusted server: values over 8 KiB, and more than 32 parameters per challenge, are
/// ignored; malformed parts end parsing and what was parsed before them is returned.
/// @return the challenges in header order (possibly none).
std::vector<AuthChallenge> parseAuthChallenges(std::string_view header);

}  // namespace nixsnap::registry
