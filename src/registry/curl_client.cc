#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "oci/reference.h"
#include "registry/client.h"

namespace nixsnap::registry {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct FileDeleter {
  void operator()(FILE* f) const { std::fclose(f); }
};

size_t collectHeader(char* buf, size_t size, size_t n, void* user) {
  std::string line(buf, size * n);
  std::string lower = line;
  for (auto& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower.rfind("location:", 0) == 0) {
    std::string v = line.substr(9);
    while (!v.empty() && (v.front() == ' ')) {
      v.erase(0, 1);
    }
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
      v.pop_back();
    }
    *static_cast<std::string*>(user) = v;
  }
  return size * n;
}

size_t discardBody(char*, size_t size, size_t n, void*) { return size * n; }

class CurlRegistryClient : public RegistryClient {
 public:
  explicit CurlRegistryClient(bool plain_http) : scheme_(plain_http ? "http://" : "https://") {}

  Result<bool> hasBlob(const Reference& ref, const std::string& digest) override {
    std::string url = base(ref) + "/blobs/" + digest;
    long code = 0;
    std::string location;
    NIXSNAP_RETURN_IF_ERROR(perform(url, "HEAD", nullptr, {}, code, location, nullptr, 0));
    if (code == 200) {
      return true;
    }
    if (code == 404) {
      return false;
    }
    return internalError("HEAD " + url + ": HTTP " + std::to_string(code));
  }

  Status uploadBlob(const Reference& ref, const std::string& digest,
                    const fs::path& blob) override {
    std::string url = base(ref) + "/blobs/uploads/";
    long code = 0;
    std::string location;
    NIXSNAP_RETURN_IF_ERROR(perform(url, "POST", nullptr, {}, code, location, nullptr, 0));
    if (code != 202 || location.empty()) {
      return internalError("POST " + url + ": HTTP " + std::to_string(code));
    }
    Result<std::string> put_url = resolveUploadLocation(scheme_, ref.host, location);
    if (!put_url.isOk()) {
      return put_url.status().wrap("POST " + url);
    }
    location = *put_url;
    location +=
        (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    std::unique_ptr<FILE, FileDeleter> f(std::fopen(blob.c_str(), "rb"));
    if (!f) {
      return errnoStatus(errno, "opening " + blob.string());
    }
    struct stat st {};
    ::fstat(fileno(f.get()), &st);
    std::string ignored;
    NIXSNAP_RETURN_IF_ERROR(perform(location, "PUT", f.get(),
                                    {"Content-Type: application/octet-stream"}, code, ignored,
                                    nullptr, st.st_size));
    if (code != 201) {
      return internalError("uploading blob " + digest + ": HTTP " + std::to_string(code));
    }
    return Status::ok();
  }

  Status putManifest(const Reference& ref, const std::string& media_type,
                     const std::string& body) override {
    std::string url = base(ref) + "/manifests/" + ref.tag;
    long code = 0;
    std::string location;
    NIXSNAP_RETURN_IF_ERROR(
        perform(url, "PUT", nullptr, {"Content-Type: " + media_type}, code, location, &body, 0));
    if (code != 201) {
      return internalError("PUT " + url + ": HTTP " + std::to_string(code));
    }
    return Status::ok();
  }

 private:
  std::string base(const Reference& ref) const {
    return scheme_ + ref.host + "/v2/" + ref.repository;
  }

  Status perform(const std::string& url, const std::string& method, FILE* upload,
                 const std::vector<std::string>& headers, long& code, std::string& location,
                 const std::string* body, int64_t upload_size) {
    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    curl_slist* raw = nullptr;
    for (const auto& h : headers) {
      raw = curl_slist_append(raw, h.c_str());
    }
    std::unique_ptr<curl_slist, SlistDeleter> list(raw);
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, collectHeader);
    curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &location);
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, discardBody);
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    // A registry that stops answering (or never answers) fails the push instead of
    // hanging it: under 1 byte/s for 60 s aborts, however large the blob.
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, 60L);
    // Only HTTP(S), whatever URL a registry answer led to; no redirects are followed.
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (method == "HEAD") {
      curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
    } else if (method == "POST") {
      curl_easy_setopt(c.get(), CURLOPT_POST, 1L);
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, 0L);
    } else if (method == "PUT" && upload != nullptr) {
      curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c.get(), CURLOPT_READDATA, upload);
      curl_easy_setopt(c.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload_size));
    } else if (method == "PUT" && body != nullptr) {
      curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    CURLcode rc = curl_easy_perform(c.get());
    if (rc != CURLE_OK) {
      return unavailable(method + " " + url + ": " + curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &code);
    return Status::ok();
  }

  std::string scheme_;
};

}  // namespace

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
  if (location.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    return refuse("contains a control character");
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

RegistryClientPtr makeCurlRegistryClient(bool plain_http) {
  static const bool initialised = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }();
  (void)initialised;
  return std::make_unique<CurlRegistryClient>(plain_http);
}

}  // namespace nixsnap::registry
