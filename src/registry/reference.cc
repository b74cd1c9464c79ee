#include "oci/reference.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string_view>

#include "common/hex.h"
#include "registry/client.h"
#include "registry/http_transport.h"

namespace nixsnap::registry {

namespace {

constexpr std::string_view kDockerHub = "docker.io";
constexpr std::string_view kDockerHubLegacy = "index.docker.io";

bool isHexId(std::string_view s) { return s.size() == 64 && isLowerHex(s); }

}  // namespace

Result<Reference> parseReference(const std::string& ref) {
  NIXSNAP_RETURN_IF_ERROR(oci::validateImageReference(ref, "push reference"));
  if (isHexId(ref)) {
    return invalidArgument("push reference \"" + ref +
                           "\" is a 64-hex image id, not a repository name");
  }
  Reference r;
  std::string rest;
  const auto slash = ref.find('/');
  const std::string first = slash == std::string::npos ? "" : ref.substr(0, slash);
  // As docker's newer reference parser (and oci::validateImageReference): an upper-case
  // letter also makes the first component a host, since repository names have none.
  const bool host_like = first.find_first_of(".:ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos ||
                         first == "localhost";
  if (!host_like) {
    r.host = kDockerHub;  // "redis", "user/app": Docker Hub, as docker reads them
    rest = ref;
  } else {
    r.host = first;
    rest = ref.substr(slash + 1);
  }
  if (r.host == kDockerHubLegacy) {
    r.host = kDockerHub;
  }
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    r.repository = rest.substr(0, colon);
    r.tag = rest.substr(colon + 1);
  } else {
    r.repository = rest;
    r.tag = "latest";
  }
  if (r.repository.empty() || r.tag.empty() || rest.find('@') != std::string::npos) {
    return invalidArgument("push reference \"" + ref + "\" must be [host/]repository[:tag]");
  }
  if (r.host == kDockerHub && r.repository.find('/') == std::string::npos) {
    r.repository = "library/" + r.repository;  // Docker Hub's official images
  }
  r.endpoint = registryEndpoint(r.host);
  return r;
}

std::string registryEndpoint(const std::string& host) {
  return host == kDockerHub ? "registry-1.docker.io" : host;
}

bool isLocalRegistry(const std::string& host) {
  if (host == "::1" || host == "[::1]") {
    return true;
  }
  std::string name = host;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) {
      return false;
    }
    const std::string after = host.substr(close + 1);
    if (after.size() < 2 || after.front() != ':') {
      return false;  // "[v6]" alone was handled above; "[v6]:" has no port
    }
    name = host.substr(1, close - 1);
  } else if (const auto colon = host.find(':'); colon != std::string::npos) {
    if (host.find(':', colon + 1) != std::string::npos || colon + 1 == host.size()) {
      return false;  // an unbracketed IPv6 address with a port, or "name:"
    }
    name = host.substr(0, colon);
  }
  if (name == "localhost") {
    return true;
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, name.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

Result<std::string> resolveUploadLocation(const std::string& scheme, const std::string& host,
                                          const std::string& location) {
  auto refuse = [&](const std::string& why) -> Result<std::string> {
    return internalError("registry upload Location \"" + location.substr(0, 512) + "\" " + why);
  };
  if (hasControlOrSpace(location)) {
    return refuse("contains a control character or space");
  }
  if (urlHasUserInfo(location)) {
    return refuse("carries user information");
  }
  if (!location.empty() && location.front() == '/' && location.rfind("//", 0) != 0) {
    return scheme + host + location;
  }
  if (location.rfind("https://", 0) == 0) {
    return location;
  }
  if (location.rfind("http://", 0) == 0) {
    if (scheme == "https://") {
      return refuse("would downgrade the push from https to http");
    }
    return location;
  }
  return refuse("is neither a path on the registry nor an http(s) URL");
}

}  // namespace nixsnap::registry
