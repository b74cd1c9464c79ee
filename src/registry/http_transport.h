#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::registry {

/// One HTTP request of the registry protocol.
struct HttpRequest {
  std::string method;                ///< "GET", "HEAD", "POST" or "PUT"
  std::string url;                   ///< absolute http:// or https:// URL
  std::vector<std::string> headers;  ///< "Name: value" lines
  std::string body;                  ///< sent as is unless body_file is set
  fs::path body_file;                ///< streamed as the body when not empty
};

/// What came back. Registry answers are untrusted: a body over kMaxBodyBytes fails the
/// request, and header values are kept as sent, trimmed.
struct HttpResponse {
  static constexpr size_t kMaxBodyBytes = 1 << 20;

  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  ///< lower-case name, value
  std::string body;                                          ///< at most kMaxBodyBytes

  /// Every value of header `lower_name`, in the order received.
  std::vector<std::string> values(std::string_view lower_name) const {
    std::vector<std::string> out;
    for (const auto& [name, value] : headers) {
      if (name == lower_name) {
        out.push_back(value);
      }
    }
    return out;
  }
  /// The first value of header `lower_name`.
  std::optional<std::string> header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) {
        return value;
      }
    }
    return std::nullopt;
  }
};

/// True when `s` holds a control character or a space: a URL a server hands us (upload
/// Location, token realm) with one is refused, not followed.
inline bool hasControlOrSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

/// True when the authority of `url` ("scheme://authority/...") holds user information
/// ("user@host"): curl would turn it into credentials of its own for that host.
inline bool urlHasUserInfo(std::string_view url) {
  const size_t start = url.find("://");
  if (start == std::string_view::npos) {
    return false;
  }
  const std::string_view rest = url.substr(start + 3);
  return rest.substr(0, rest.find_first_of("/?#")).find('@') != std::string_view::npos;
}

/// Sends HTTP requests: the seam between the registry protocol and the network.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  /// Performs `request` without following redirects.
  /// @return the response for any HTTP status; Unavailable when no whole response
  ///         arrived (connection, TLS, a body over kMaxBodyBytes, under 1 KiB/s for 60 s,
  ///         or 120 s in all for a request without body_file); the errno class when
  ///         body_file cannot be opened.
  virtual Result<HttpResponse> perform(const HttpRequest& request) = 0;
};
using HttpTransportPtr = std::shared_ptr<HttpTransport>;

/// libcurl implementation, limited to http and https.
HttpTransportPtr makeCurlTransport();

}  // namespace nixsnap::registry
