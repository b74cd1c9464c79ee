#include "support/test_env.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nixsnap::testing {

bool rootTestsEnabled() {
  const char* flag = std::getenv("NIXSNAP_TEST_ROOT");
  return ::geteuid() == 0 && flag != nullptr && std::string(flag) == "1";
}

TempDir makeTempDir() {
  auto dir = TempDir::create(tempDirFromEnvironment(), "nixsnap-ut-");
  if (!dir.isOk()) {
    ADD_FAILURE() << dir.status().toString();
    std::abort();
  }
  return std::move(dir).value();
}

void writeFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path.string(), std::ios::binary | std::ios::trunc);
  out << content;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path.string(), std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path goldenPath(const std::string& name) { return fs::path(NIXSNAP_TEST_DATA_DIR) / name; }

void expectGolden(const std::string& name, const std::string& actual) {
  const char* accept = std::getenv("NIXSNAP_TEST_ACCEPT");
  fs::path p = goldenPath(name);
  if (accept != nullptr && std::string(accept) == "1") {
    writeFile(p, actual);
    return;
  }
  ASSERT_TRUE(fs::exists(p)) << "golden " << p << " missing; run with NIXSNAP_TEST_ACCEPT=1";
  EXPECT_EQ(readFile(p), actual) << "golden " << name << " differs";
}

}  // namespace nixsnap::testing
