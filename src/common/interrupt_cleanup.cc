#include "common/interrupt_cleanup.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

namespace nixsnap {
namespace {

std::mutex& filesMutex() {
  static std::mutex mu;
  return mu;
}

/// Files being written in place; guarded by filesMutex().
std::set<fs::path>& partialFiles() {
  static std::set<fs::path> files;
  return files;
}

}  // namespace

void unlinkOnInterrupt(const fs::path& file) {
  std::lock_guard<std::mutex> lock(filesMutex());
  partialFiles().insert(file);
}

void keepOnInterrupt(const fs::path& file) {
  std::lock_guard<std::mutex> lock(filesMutex());
  partialFiles().erase(file);
}

void removeOnInterrupt(const fs::path& dir) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, dir] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) {
      return;
    }
    {
      // Held until _exit: a writer finishing now cannot declare its file complete after
      // it was unlinked.
      filesMutex().lock();
      for (const fs::path& f : partialFiles()) {
        ::unlink(f.c_str());
        std::fprintf(stderr, "%s: interrupted by signal %d; removed the partial %s\n",
                     program_invocation_short_name, sig, f.c_str());
      }
    }
    // The main thread may still be writing below `dir`: retry until a pass finds it empty.
    boost::system::error_code ec;
    for (int attempt = 0; attempt < 50; ++attempt) {
      fs::remove_all(dir, ec);
      if (!fs::exists(dir, ec)) {
        break;
      }
    }
    std::fprintf(stderr, "%s: interrupted by signal %d; removed %s\n",
                 program_invocation_short_name, sig, dir.c_str());
    ::_exit(128 + sig);
  }).detach();
}

}  // namespace nixsnap
