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

/// What came back. Registry answers are untrusted: the body is capped (kMaxBodyBytes) and
/// header values are kept as sent, trimmed.
struct HttpResponse {
  static constexpr size_t kMaxBodyBytes = 1 << 20;

  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  ///< lower-case name, value
  std::string body;  ///< the first kMaxBodyBytes bytes

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

/// Sends HTTP requests: the seam between the registry protocol and the network.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  /// Performs `request` without following redirects.
  /// @return the response for any HTTP status; Unavailable when no response arrived
  ///         (connection, TLS, timeout, or a stall under 1 byte/s for 60 s); the errno
  ///         class when body_file cannot be opened.
  virtual Result<HttpResponse> perform(const HttpRequest& request) = 0;
};
using HttpTransportPtr = std::shared_ptr<HttpTransport>;

/// libcurl implementation, limited to http and https.
HttpTransportPtr makeCurlTransport();

}  // namespace nixsnap::registry
