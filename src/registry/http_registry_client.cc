#include <map>
#include <memory>

#include "registry/client.h"
#include "registry/registry_auth.h"

namespace nixsnap::registry {
namespace {

class HttpRegistryClient : public RegistryClient {
 public:
  HttpRegistryClient(HttpTransportPtr transport, CredentialSourcePtr credentials, bool plain_http)
      : transport_(std::move(transport)),
        credentials_(std::move(credentials)),
        plain_http_(plain_http) {}

  Result<bool> hasBlob(const Reference& ref, const std::string& digest) override {
    auto reply = send(ref, {"HEAD", base(ref) + "/blobs/" + digest, {}, {}, {}});
    if (!reply.isOk()) {
      return reply.status();
    }
    if (reply->status == 200) {
      return true;
    }
    if (reply->status == 404) {
      return false;
    }
    return unexpected("HEAD " + base(ref) + "/blobs/" + digest, *reply);
  }

  Status uploadBlob(const Reference& ref, const std::string& digest,
                    const fs::path& blob) override {
    const std::string url = base(ref) + "/blobs/uploads/";
    auto started = send(ref, {"POST", url, {}, {}, {}});
    if (!started.isOk()) {
      return started.status();
    }
    const auto location = started->header("location");
    if (started->status != 202 || !location) {
      return unexpected("POST " + url, *started);
    }
    Result<std::string> put_url = resolveUploadLocation(scheme(ref), endpoint(ref), *location);
    if (!put_url.isOk()) {
      return put_url.status().wrap("POST " + url);
    }
    std::string target = *put_url;
    target += (target.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    auto done = send(ref, {"PUT", target, {"Content-Type: application/octet-stream"}, {}, blob});
    if (!done.isOk()) {
      return done.status();
    }
    if (done->status != 201) {
      return unexpected("uploading blob " + digest, *done);
    }
    return Status::ok();
  }

  Status putManifest(const Reference& ref, const std::string& media_type,
                     const std::string& body) override {
    const std::string url = base(ref) + "/manifests/" + ref.tag;
    auto reply = send(ref, {"PUT", url, {"Content-Type: " + media_type}, body, {}});
    if (!reply.isOk()) {
      return reply.status();
    }
    if (reply->status != 201) {
      return unexpected("PUT " + url, *reply);
    }
    return Status::ok();
  }

 private:
  /// Plain HTTP when asked for, or for a registry on this machine (as the original).
  std::string scheme(const Reference& ref) const {
    return plain_http_ || isLocalRegistry(ref.host) ? "http://" : "https://";
  }
  static const std::string& endpoint(const Reference& ref) {
    return ref.endpoint.empty() ? ref.host : ref.endpoint;
  }
  std::string origin(const Reference& ref) const { return scheme(ref) + endpoint(ref); }
  std::string base(const Reference& ref) const { return origin(ref) + "/v2/" + ref.repository; }

  static Status unexpected(const std::string& what, const HttpResponse& reply) {
    const ErrorCode code = reply.status == 401 || reply.status == 403 ? ErrorCode::PermissionDenied
                                                                      : ErrorCode::Internal;
    return Status(code, what + ": HTTP " + std::to_string(reply.status) +
                            (reply.status == 401 ? " unauthorized" : "") +
                            (reply.status == 403 ? " forbidden" : "") +
                            registryErrorMessage(reply.body));
  }

  /// The authorization state of `ref`'s repository, created (and the registry pinged
  /// with GET /v2/, as docker does) on first use.
  Result<RegistryAuth*> authFor(const Reference& ref) {
    const std::string key = ref.host + "/" + ref.repository;
    if (auto it = auth_.find(key); it != auth_.end()) {
      return it->second.get();
    }
    auto auth = std::make_unique<RegistryAuth>(transport_, credentials_, origin(ref), ref.host,
                                               ref.repository);
    auto ping = transport_->perform({"GET", origin(ref) + "/v2/", {}, {}, {}});
    if (!ping.isOk()) {
      return ping.status();
    }
    if (ping->status == 401) {
      NIXSNAP_RETURN_IF_ERROR(auth->answer(*ping));
    }
    return auth_.emplace(key, std::move(auth)).first->second.get();
  }

  /// Sends `request`, with the repository's authorization when it goes to the registry
  /// itself (an upload Location elsewhere gets none); after a 401, answers the challenge
  /// and sends it once more.
  Result<HttpResponse> send(const Reference& ref, HttpRequest request) {
    auto auth = authFor(ref);
    if (!auth.isOk()) {
      return auth.status();
    }
    const bool to_registry = request.url.rfind(origin(ref) + "/", 0) == 0;
    const size_t plain_headers = request.headers.size();
    for (int attempt = 0;; ++attempt) {
      request.headers.resize(plain_headers);
      if (to_registry && !(*auth)->header().empty()) {
        request.headers.push_back((*auth)->header());
      }
      auto reply = transport_->perform(request);
      if (!reply.isOk() || reply->status != 401 || !to_registry || attempt > 0) {
        return reply;
      }
      NIXSNAP_RETURN_IF_ERROR((*auth)->answer(*reply));
    }
  }

  HttpTransportPtr transport_;
  CredentialSourcePtr credentials_;
  bool plain_http_;
  std::map<std::string, std::unique_ptr<RegistryAuth>> auth_;
};

}  // namespace

RegistryClientPtr makeRegistryClient(HttpTransportPtr transport, CredentialSourcePtr credentials,
                                     bool plain_http) {
  return std::make_unique<HttpRegistryClient>(std::move(transport), std::move(credentials),
                                              plain_http);
}

}  // namespace nixsnap::registry
