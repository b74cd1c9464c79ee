// Docker credential files (config.json / auth.json) and a credential helper's answer:
// the input is the file, then optionally '\f' and what `docker-credential-NAME get`
// prints. Every registry host the file names is looked up.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "registry/credentials.h"

using namespace nixsnap;

namespace {

/// Stands for the credential helper: prints the fuzzed answer, never runs a program.
class FakeHelper : public ProcessRunner {
 public:
  explicit FakeHelper(std::string out) : out_(std::move(out)) {}
  Result<ProcessResult> run(const std::vector<std::string>& argv,
                            const ProcessOptions& options) override {
    NIXSNAP_FUZZ_CHECK(!argv.empty() && argv[0].rfind("docker-credential-", 0) == 0,
                       "helper program name");
    return ProcessResult{out_.empty() ? 1 : 0, out_, "helper says no"};
  }

 private:
  std::string out_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::asText(data, size);
  auto cut = text.find('\f');
  fs::path file = fuzz::scratchDir() / "config.json";
  fuzz::writeBytes(file, text.substr(0, cut));
  std::string helper_out(cut == std::string_view::npos ? "" : text.substr(cut + 1));
  auto src = registry::loadAuthFile({file, true}, std::make_shared<FakeHelper>(helper_out));
  fuzz::checkError(src.status());
  if (src.isOk()) {
    for (const char* host :
         {"docker.io", "registry-1.docker.io", "localhost:5000", "example.com", "ghcr.io", ""}) {
      auto c = (*src)->lookup(host);
      fuzz::checkError(c.status());
    }
  }
  return 0;
}
