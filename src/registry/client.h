#pragma once

#include <memory>
#include <string>

#include "common/fs.h"
#include "common/status.h"
#include "registry/credentials.h"
#include "registry/http_transport.h"

namespace nixsnap::registry {

/// A parsed registry reference, normalised as docker normalises names.
struct Reference {
  std::string host;        ///< the registry as named: "localhost:5000", "docker.io" (Hub)
  std::string repository;  ///< "team/app"; Docker Hub's one-component names get "library/"
  std::string tag;         ///< "latest" when omitted
  std::string endpoint;    ///< host[:port] connected to (registryEndpoint); empty: `host`
};

/// Parses `ref` as docker does (containerd's reference/docker normalisation): a first
/// component with '.', ':' or an upper-case letter, or "localhost", is the registry host;
/// without one the registry is Docker Hub, "docker.io" ("redis" is
/// docker.io/library/redis, "user/app" docker.io/user/app); "index.docker.io" is the
/// same as "docker.io". The whole must be a valid image reference
/// (oci::validateImageReference: no "..", no credentials, lowercase path components, no
/// digest) and not a bare 64-hex image id.
/// @return InvalidArgument naming the reference otherwise.
Result<Reference> parseReference(const std::string& ref);

/// The host[:port] that serves registry `host`'s API: Docker Hub's "docker.io" is served
/// by "registry-1.docker.io" (containerd's docker.DefaultHost); others serve themselves.
std::string registryEndpoint(const std::string& host);

/// Whether registry `host` ("name[:port]", "[v6]:port") is this machine, so that it is
/// spoken to over plain HTTP without --plain-http, as containerd's docker.MatchLocalhost
/// decides for the original: "localhost", an IPv4 loopback address (127.0.0.0/8) or ::1,
/// with or without a port. Pure.
bool isLocalRegistry(const std::string& host);

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

/// The OCI distribution API over `transport` to each reference's endpoint, authenticating
/// with `credentials` (looked up by the reference's host) when the registry answers 401
/// (see RegistryAuth). http:// for every registry when `plain_http`, else for local ones
/// (isLocalRegistry) only, https:// for the rest. 401 and 403 answers that remain map to
/// PermissionDenied, other unexpected statuses to Internal, both naming the request and
/// the status.
RegistryClientPtr makeRegistryClient(HttpTransportPtr transport, CredentialSourcePtr credentials,
                                     bool plain_http);

}  // namespace nixsnap::registry
