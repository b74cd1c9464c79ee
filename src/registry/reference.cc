#include "oci/reference.h"
#include "registry/client.h"
#include "registry/http_transport.h"

namespace nixsnap::registry {

Result<Reference> parseReference(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) {
    return invalidArgument("reference \"" + ref + "\" has no registry host");
  }
  Reference r;
  r.host = ref.substr(0, slash);
  if (r.host.find_first_of(".:") == std::string::npos && r.host != "localhost") {
    return invalidArgument("reference \"" + ref + "\" does not start with a registry host");
  }
  std::string rest = ref.substr(slash + 1);
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    r.repository = rest.substr(0, colon);
    r.tag = rest.substr(colon + 1);
  } else {
    r.repository = rest;
    r.tag = "latest";
  }
  if (r.repository.empty() || r.tag.empty() || rest.find('@') != std::string::npos) {
    return invalidArgument("reference \"" + ref + "\" must be host/repository[:tag]");
  }
  NIXSNAP_RETURN_IF_ERROR(oci::validateImageReference(ref, "push reference"));
  return r;
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
