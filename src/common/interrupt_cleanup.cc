#include "common/interrupt_cleanup.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
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

/// Set by the handler before it removes anything, so every failure its removal causes
/// comes after it.
std::atomic<bool> interrupting{false};

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

void yieldToInterrupt() {
  if (!interrupting.load()) {
    return;
  }
  for (;;) {
    ::pause();  // the handler's _exit ends the wait
  }
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
    interrupting.store(true);
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
    // The main thread may still be extracting below `dir`, by path: removing it in place
    // chased those new entries (and gave up with a tree left). Renamed, the tree gets
    // none but from a call already under way, which the retries catch.
    boost::system::error_code ec;
    fs::path doomed = dir;
    doomed += ".interrupted";
    fs::rename(dir, doomed, ec);
    const fs::path& victim = ec ? dir : doomed;
    for (int attempt = 0; attempt < 50; ++attempt) {
      fs::remove_all(victim, ec);
      if (!fs::exists(victim, ec)) {
        break;
      }
    }
    std::fprintf(stderr, "%s: interrupted by signal %d; removed %s\n",
                 program_invocation_short_name, sig, dir.c_str());
    ::_exit(128 + sig);
  }).detach();
}

}  // namespace nixsnap
