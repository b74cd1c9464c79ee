#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "registry/auth_challenge.h"
#include "registry/credentials.h"
#include "registry/http_transport.h"

namespace nixsnap::registry {

/// Authorization for the requests of one push to one registry repository: answers the
/// registry's 401 challenge the way docker and containerd do.
///  - `Basic` (RFC 7617): the configured user and password.
///  - `Bearer` (distribution's token authentication): a token for
///    `repository:<repo>:pull,push` from the challenge's realm, fetched with GET
///    `realm?service=..&scope=..` (Basic credentials when configured, else anonymous) or,
///    for an identity token, POST `grant_type=refresh_token` (OAuth2); the answer's
///    `token` or `access_token` is sent as `Authorization: Bearer`.
/// Registry answers are untrusted: the realm must be an http(s) URL, and https when the
/// registry is spoken to over https; tokens over 64 KiB are refused.
class RegistryAuth {
 public:
  /// @param origin "http://host[:port]" or "https://host[:port]" of the registry.
  /// @param host   host[:port], the key credentials are looked up by.
  RegistryAuth(HttpTransportPtr transport, CredentialSourcePtr credentials, std::string origin,
               std::string host, std::string repository);

  /// The `Authorization: ...` header line to send to the registry, empty while anonymous.
  const std::string& header() const { return header_; }

  /// Learns the challenge from `unauthorized` (a 401 answer of the registry) and gets
  /// the matching authorization.
  /// @return Ok when a new header was obtained; PermissionDenied naming the registry when
  ///         no usable challenge came, no credentials are configured for a Basic
  ///         challenge, or the token server refused (its HTTP status); InvalidArgument for
  ///         a realm that is not a permitted URL; Unavailable when the token server cannot
  ///         be reached; the errors of the credential source.
  Status answer(const HttpResponse& unauthorized);

 private:
  Status fetchToken(const AuthChallenge& challenge);
  /// The credentials for host_, looked up on first use only.
  Result<std::optional<Credentials>> credentials();

  HttpTransportPtr transport_;
  CredentialSourcePtr credentials_;
  std::string origin_;
  std::string host_;
  std::string repository_;
  std::string header_;
  bool looked_up_ = false;
  std::optional<Credentials> creds_;
};

/// `Authorization: Basic base64(user:secret)`.
std::string basicAuthorization(const std::string& user, const std::string& secret);

/// The token (`token`, else `access_token`) of a token server's JSON answer.
/// @return InvalidArgument when the answer is not JSON, has no non-empty token string, or
///         the token is over 64 KiB or contains characters outside visible ASCII.
Result<std::string> parseTokenResponse(const std::string& body);

/// " (<message>)" from the first entry of a distribution error body
/// (`{"errors":[{"message":..}]}`), at most 200 printable characters; "" otherwise.
std::string registryErrorMessage(const std::string& body);

/// RFC 3986 percent-encoding of everything but unreserved characters.
std::string percentEncode(const std::string& s);

}  // namespace nixsnap::registry
