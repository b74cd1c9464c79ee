#include "registry/registry_auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "common/json.h"

namespace nixsnap::registry {
namespace {

constexpr size_t kMaxTokenBytes = 64 * 1024;

}  // namespace

std::string registryErrorMessage(const std::string& body) {
  auto parsed = parseJson(body, "registry error");
  const nlohmann::json doc = parsed.isOk() ? std::move(*parsed) : nlohmann::json();
  std::string msg;
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array() &&
      !doc["errors"].empty() && doc["errors"][0].is_object()) {
    const auto& e = doc["errors"][0];
    if (e.contains("message") && e["message"].is_string()) {
      msg = e["message"].get<std::string>().substr(0, 200);
    }
  }
  for (auto& c : msg) {
    if (std::isprint(static_cast<unsigned char>(c)) == 0) {
      c = '?';
    }
  }
  return msg.empty() ? "" : " (" + msg + ")";
}

std::string basicAuthorization(const std::string& user, const std::string& secret) {
  const std::string plain = user + ":" + secret;
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  out.resize(static_cast<size_t>(n));
  return "Authorization: Basic " + out;
}

std::string percentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      appendHexByte(out, c, HexCase::Upper);  // RFC 3986 2.1: upper case
    }
  }
  return out;
}

Result<std::string> parseTokenResponse(const std::string& body) {
  auto parsed = parseJson(body, "token server answer");
  const nlohmann::json doc = parsed.isOk() ? std::move(*parsed) : nlohmann::json();
  if (!doc.is_object()) {
    return invalidArgument("token server answer is not a JSON object");
  }
  std::string token;
  for (const char* field : {"token", "access_token"}) {
    if (auto it = doc.find(field); it != doc.end() && it->is_string()) {
      token = it->get<std::string>();
      if (!token.empty()) {
        break;
      }
    }
  }
  if (token.empty()) {
    return invalidArgument("token server answer has no \"token\" or \"access_token\"");
  }
  if (token.size() > kMaxTokenBytes) {
    return invalidArgument("token server answer's token is over 64 KiB");
  }
  for (unsigned char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return invalidArgument("token server answer's token contains a non-printable character");
    }
  }
  return token;
}

RegistryAuth::RegistryAuth(HttpTransportPtr transport, CredentialSourcePtr credentials,
                           std::string origin, std::string host, std::string repository)
    : transport_(std::move(transport)),
      credentials_(std::move(credentials)),
      origin_(std::move(origin)),
      host_(std::move(host)),
      repository_(std::move(repository)) {}

Result<std::optional<Credentials>> RegistryAuth::credentials() {
  if (!looked_up_) {
    // Once per push: a credential helper may prompt or be slow.
    auto found = credentials_->lookup(host_);
    if (!found.isOk()) {
      return found.status();
    }
    creds_ = std::move(found).value();
    looked_up_ = true;
  }
  return creds_;
}

Status RegistryAuth::answer(const HttpResponse& unauthorized) {
  std::vector<AuthChallenge> challenges;
  for (const auto& value : unauthorized.values("www-authenticate")) {
    for (auto& c : parseAuthChallenges(value)) {
      challenges.push_back(std::move(c));
    }
  }
  const AuthChallenge* bearer = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) {
      bearer = &c;
    } else if (c.scheme == "basic" && basic == nullptr) {
      basic = &c;
    }
  }
  if (bearer != nullptr) {
    return fetchToken(*bearer);
  }
  if (basic == nullptr) {
    return Status(ErrorCode::PermissionDenied,
                  "registry " + host_ +
                      " answered 401 unauthorized without a Basic or Bearer "
                      "challenge" +
                      registryErrorMessage(unauthorized.body));
  }
  auto creds = credentials();
  if (!creds.isOk()) {
    return creds.status();
  }
  if (!creds->has_value() || (*creds)->identity_token) {
    return Status(ErrorCode::PermissionDenied,
                  "registry " + host_ +
                      " answered 401 unauthorized and no user and password "
                      "are configured for it (see --authfile)");
  }
  std::string next = basicAuthorization((*creds)->username, (*creds)->secret);
  if (next == header_) {
    return Status(ErrorCode::PermissionDenied,
                  "registry " + host_ +
                      " answered 401 unauthorized to the configured user and password" +
                      registryErrorMessage(unauthorized.body));
  }
  header_ = std::move(next);
  return Status::ok();
}

Status RegistryAuth::fetchToken(const AuthChallenge& challenge) {
  const auto realm_it = challenge.params.find("realm");
  const std::string realm = realm_it == challenge.params.end() ? "" : realm_it->second;
  const bool https_realm = realm.rfind("https://", 0) == 0;
  const bool http_realm = realm.rfind("http://", 0) == 0;
  if (!https_realm && !http_realm) {
    return invalidArgument("registry " + host_ + ": token realm \"" + realm.substr(0, 200) +
                           "\" is not an http(s) URL");
  }
  if (http_realm && origin_.rfind("https://", 0) == 0) {
    return invalidArgument("registry " + host_ + ": token realm \"" + realm.substr(0, 200) +
                           "\" would send credentials over http for an https registry");
  }
  if (hasControlOrSpace(realm) || urlHasUserInfo(realm)) {
    return invalidArgument("registry " + host_ +
                           ": token realm contains a space, a control "
                           "character or user information");
  }
  const std::string scope = "repository:" + repository_ + ":pull,push";
  std::string service;
  if (auto it = challenge.params.find("service"); it != challenge.params.end()) {
    service = it->second;
  }
  auto creds = credentials();
  if (!creds.isOk()) {
    return creds.status();
  }
  HttpRequest request;
  if (creds->has_value() && (*creds)->identity_token) {
    // OAuth2 refresh-token grant, as docker does with a stored identity token.
    request.method = "POST";
    request.url = realm;
    request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    request.body =
        "grant_type=refresh_token&client_id=nix2container&service=" + percentEncode(service) +
        "&scope=" + percentEncode(scope) + "&refresh_token=" + percentEncode((*creds)->secret);
  } else {
    request.method = "GET";
    request.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
                  (service.empty() ? "" : "service=" + percentEncode(service) + "&") +
                  "scope=" + percentEncode(scope);
    if (creds->has_value()) {
      request.headers.push_back(basicAuthorization((*creds)->username, (*creds)->secret));
    }
  }
  const std::string how = creds->has_value()
                              ? " with the configured credentials"
                              : " without credentials (none configured; see --authfile)";
  auto reply = transport_->perform(request);
  if (!reply.isOk()) {
    return reply.status().wrap("getting a token for " + scope);
  }
  if (reply->status != 200) {
    return Status(ErrorCode::PermissionDenied,
                  "getting a token for " + scope + " of registry " + host_ + ": HTTP " +
                      std::to_string(reply->status) + how + registryErrorMessage(reply->body));
  }
  auto token = parseTokenResponse(reply->body);
  if (!token.isOk()) {
    return token.status().wrap("getting a token for " + scope + " of registry " + host_);
  }
  std::string next = "Authorization: Bearer " + *token;
  if (next == header_) {
    return Status(ErrorCode::PermissionDenied, "registry " + host_ +
                                                   " answered 401 unauthorized to its token for " +
                                                   scope + " obtained" + how);
  }
  header_ = std::move(next);
  return Status::ok();
}

}  // namespace nixsnap::registry
