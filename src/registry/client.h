#pragma once

#include <memory>
#include <string>

#include "common/fs.h"
#include "common/status.h"
#include "registry/credentials.h"
#include "registry/http_transport.h"

namespace nixsnap::registry {

/// A parsed registry reference: "host[:port]/repo/path:tag".
struct Reference {
  std::string host;        ///< "localhost:5000"
  std::string repository;  ///< "team/app"
  std::string tag;         ///< "latest" when omitted
};

/// Parses `ref`; the first component must be a host (contains '.' or ':' or is
/// "localhost") and the whole must be a valid image reference (oci::validateImageReference:
/// no "..", no credentials, lowercase path components, no digest).
/// @return InvalidArgument naming the reference otherwise.
Result<Reference> parseReference(const std::string& ref);

/// Where to PUT a monolithic upload, from the Location a registry answered the POST with
/// (OCI distribution spec: absolute, or relative to the registry). Registry answers are
/// untrusted: only an origin-relative path ("/...") or an http(s) URL is followed, and
/// never from https down to http; anything else (file://, ftp://, "relative") is refused
/// so that a hostile registry cannot make the client write elsewhere.
/// @param scheme   "http://" or "https://" (what the client talks to the registry with).
/// @param host     the registry's host[:port].
/// @return the URL; Internal naming the Location otherwise.
Result<std::string> resolveUploadLocation(const std::string& scheme, const std::string& host,
                                          const std::string& location);

/// The part of the OCI distribution API a push needs.
class RegistryClient {
 public:
  virtual ~RegistryClient() = default;
  /// HEAD /v2/<repo>/blobs/<digest>. @return true when present; Unavailable when the
  /// registry cannot be reached; Internal for an unexpected HTTP status.
  virtual Result<bool> hasBlob(const Reference& ref, const std::string& digest) = 0;
  /// Monolithic upload: POST /v2/<repo>/blobs/uploads/, then PUT <location>?digest=<d>
  /// with the file streamed as the body. @return Ok; Internal naming the HTTP status.
  virtual Status uploadBlob(const Reference& ref, const std::string& digest,
                            const fs::path& blob) = 0;
  /// PUT /v2/<repo>/manifests/<tag> with Content-Type `media_type`.
  virtual Status putManifest(const Reference& ref, const std::string& media_type,
                             const std::string& body) = 0;
};
using RegistryClientPtr = std::unique_ptr<RegistryClient>;

/// The OCI distribution API over `transport`, authenticating with `credentials` when the
/// registry answers 401 (see RegistryAuth); `plain_http` selects http:// instead of
/// https://. 401 and 403 answers that remain map to PermissionDenied, other unexpected
/// statuses to Internal, both naming the request and the status.
RegistryClientPtr makeRegistryClient(HttpTransportPtr transport, CredentialSourcePtr credentials,
                                     bool plain_http);

}  // namespace nixsnap::registry
