#include <curl/curl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <memory>

#include "registry/http_transport.h"

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

std::string trim(std::string s) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  while (!s.empty() && !not_space(s.back())) {
    s.pop_back();
  }
  size_t i = 0;
  while (i < s.size() && !not_space(s[i])) {
    ++i;
  }
  return s.substr(i);
}

size_t collectHeader(char* buf, size_t size, size_t n, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const std::string line(buf, size * n);
  const auto colon = line.find(':');
  // The status line starts every response (also interim 100 Continue): keep only the
  // headers of the last one.
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();
  } else if (colon != std::string::npos && response->headers.size() < 256) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    response->headers.emplace_back(std::move(name), trim(line.substr(colon + 1)));
  }
  return size * n;
}

struct BodySink {
  std::string* body;
  bool overflow = false;
};

size_t collectBody(char* buf, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (size * n > HttpResponse::kMaxBodyBytes - sink->body->size()) {
    sink->overflow = true;
    return 0;  // curl aborts with CURLE_WRITE_ERROR instead of reading on
  }
  sink->body->append(buf, size * n);
  return size * n;
}

class CurlTransport : public HttpTransport {
 public:
  Result<HttpResponse> perform(const HttpRequest& request) override {
    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    if (!c) {
      return internalError("curl_easy_init failed");
    }
    curl_slist* raw = nullptr;
    for (const auto& h : request.headers) {
      raw = curl_slist_append(raw, h.c_str());
    }
    std::unique_ptr<curl_slist, SlistDeleter> list(raw);
    HttpResponse response;
    curl_easy_setopt(c.get(), CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, collectHeader);
    curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, collectBody);
    BodySink sink{&response.body};
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    // A server that stops answering, or drips, fails the request instead of hanging it:
    // under 1 KiB/s for 60 s aborts; a request without a blob to upload gets 120 s in all.
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, 60L);
    if (request.body_file.empty()) {
      curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, 120L);
    }
    // Only HTTP(S), whatever URL a registry answer led to; redirects are not followed.
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 0L);

    std::unique_ptr<FILE, FileDeleter> file;
    if (request.method == "HEAD") {
      curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
    } else if (!request.body_file.empty()) {
      file.reset(std::fopen(request.body_file.c_str(), "rb"));
      if (!file) {
        return errnoStatus(errno, "opening " + request.body_file.string());
      }
      struct stat st {};
      if (::fstat(fileno(file.get()), &st) != 0) {
        return errnoStatus(errno, "reading the size of " + request.body_file.string());
      }
      curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c.get(), CURLOPT_READDATA, file.get());
      curl_easy_setopt(c.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(st.st_size));
      curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else if (request.method != "GET") {
      curl_easy_setopt(c.get(), CURLOPT_POST, 1L);
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    const CURLcode rc = curl_easy_perform(c.get());
    if (sink.overflow) {
      return unavailable(request.method + " " + request.url + ": answer larger than " +
                         std::to_string(HttpResponse::kMaxBodyBytes) + " bytes");
    }
    if (rc != CURLE_OK) {
      return unavailable(request.method + " " + request.url + ": " + curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }
};

}  // namespace

HttpTransportPtr makeCurlTransport() {
  static const bool initialised = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }();
  (void)initialised;
  return std::make_shared<CurlTransport>();
}

}  // namespace nixsnap::registry
