#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/process_runner.h"
#include "common/status.h"

namespace nixsnap::registry {

/// What a registry login stored for one registry.
struct Credentials {
  std::string username;
  std::string secret;           ///< the password, or the identity token
  bool identity_token = false;  ///< secret is an OAuth2 refresh token, not a password
};

/// Looks up the credentials for a registry host.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  /// @param host the registry's host[:port] as the normalised reference names it
  ///             ("docker.io" for Docker Hub; see credentialKeys).
  /// @return the credentials, nullopt when none are configured for `host`; Unavailable
  ///         when a credential helper fails (its stderr's first line, never a secret).
  virtual Result<std::optional<Credentials>> lookup(const std::string& host) = 0;
};
using CredentialSourcePtr = std::shared_ptr<CredentialSource>;

/// Docker's config.json key for Docker Hub (what `docker login` writes, and the server URL
/// its credential helpers are asked about).
inline constexpr const char* kDockerHubAuthKey = "https://index.docker.io/v1/";

/// The keys the credentials of registry `host` are looked up under, in order: for Docker
/// Hub ("docker.io", or "registry-1.docker.io" named directly) kDockerHubAuthKey, then
/// `host`, as docker and the original do; for any other registry, `host` alone.
std::vector<std::string> credentialKeys(const std::string& host);

/// Which auth file to read: `flag` (--authfile) when given, else $REGISTRY_AUTH_FILE (as
/// skopeo and podman), else $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json
/// (as docker). `getenv` is injectable for tests.
/// @return the path and whether it must exist (given by flag or $REGISTRY_AUTH_FILE).
struct AuthFile {
  fs::path path;
  bool required = false;
};
AuthFile chooseAuthFile(const std::string& flag,
                        const std::function<const char*(const char*)>& getenv);

/// Reads a docker config.json / containers auth.json (a regular file, symlinks followed,
/// at most 1 MiB):
///  - `auths`: {KEY: {"auth": base64("user:password")} or {"username", "password"}, with
///    an optional "identitytoken"}; KEY is a host[:port], optionally with a scheme and a
///    path ("https://host/v1/"), which are ignored;
///  - `credHelpers`: {host: NAME} and `credsStore`: NAME run `docker-credential-NAME get`
///    with the key on stdin (docker's credential-helper protocol: stdout
///    {"Username", "Secret"}, Username "<token>" for an identity token). credHelpers
///    wins over credsStore, which wins over auths.
/// lookup(host) tries each of credentialKeys(host) in turn (entries match a key by host,
/// whatever their scheme or path) and answers with the first that has credentials.
/// A missing file that is not `required` reads as empty.
/// @return the source; NotFound for a missing required file; InvalidArgument naming the
///         file and the entry for malformed JSON, a bad "auth" value or helper name.
///         Messages never contain a secret.
Result<CredentialSourcePtr> loadAuthFile(const AuthFile& file, ProcessRunnerPtr runner);

}  // namespace nixsnap::registry
