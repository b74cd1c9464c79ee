#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace nixsnap::testing {

/// True when running as root with NIXSNAP_TEST_ROOT=1 set (like containerd's
/// RequiresRoot); root-only tests GTEST_SKIP with a printed reason otherwise.
bool rootTestsEnabled();

/// A fresh temporary directory under $TMPDIR (or /tmp), removed at scope end.
TempDir makeTempDir();

/// Writes `content` to `path`, creating parent directories.
void writeFile(const fs::path& path, const std::string& content);

/// Reads the whole file at `path`.
std::string readFile(const fs::path& path);

/// Path of a golden file under tests/unit/data.
fs::path goldenPath(const std::string& name);

/// Compares `actual` with golden `name`; with NIXSNAP_TEST_ACCEPT=1 rewrites it instead.
void expectGolden(const std::string& name, const std::string& actual);

}  // namespace nixsnap::testing

#define NIXSNAP_REQUIRE_ROOT()                                                        \
  do {                                                                                \
    if (!::nixsnap::testing::rootTestsEnabled()) {                                    \
      GTEST_SKIP() << "needs root and NIXSNAP_TEST_ROOT=1 (mounts real filesystems)"; \
    }                                                                                 \
  } while (0)
