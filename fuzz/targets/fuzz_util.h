#pragma once
// Helpers shared by the fuzz targets (header-only: each target is one binary).

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::fuzz {

inline std::string_view asText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits at `sep` (keeps empty parts): one input becomes a list of strings.
inline std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

/// A libFuzzer target must fail loudly on a broken invariant: print it and abort, which
/// libFuzzer reports as a crash with the input saved.
#define NIXSNAP_FUZZ_CHECK(cond, msg)                                                           \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz invariant failed: %s: %s\n", #cond, std::string(msg).c_str()); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

/// Every error a parser returns for bad input must carry a message (the "clear error").
inline void checkError(const Status& st) {
  NIXSNAP_FUZZ_CHECK(st.isOk() || !st.message().empty(), "error without a message");
}

/// A per-process scratch directory under $TMPDIR, removed at exit.
inline const fs::path& scratchDir() {
  static const fs::path dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/nixsnap-fuzz-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      boost::system::error_code ec;
      fs::remove_all(scratchDir(), ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

/// Writes `data` to `path` (replacing it).
inline void writeBytes(const fs::path& path, std::string_view data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  NIXSNAP_FUZZ_CHECK(f != nullptr, path.string());
  if (!data.empty()) {
    NIXSNAP_FUZZ_CHECK(std::fwrite(data.data(), 1, data.size(), f) == data.size(), path.string());
  }
  std::fclose(f);
}

}  // namespace nixsnap::fuzz
