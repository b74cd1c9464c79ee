#include "common/interrupt_cleanup.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <thread>

namespace nixsnap {

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
