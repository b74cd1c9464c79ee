// Filesystem fault points for fault-injection walks: this file defines the libc calls a
// snapshot operation makes to change the disk (mkdir, mkdtemp, rename, unlink, rmdir,
// lchown, symlink) and to make it durable (fsync, fdatasync: SQLite's), forwarding to
// libc's through dlsym(RTLD_NEXT). Linked into a test executable, its definitions win
// over libc's for every caller in the process (the snapshotter, Boost.Filesystem,
// SQLite), so the code under test needs no seam. While FaultPlan::global() is armed, the
// failing point returns -1 with errno EIO, as a failing disk does.
// Only for test binaries that want it: it changes every call in the process.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "support/fault_plan.h"

// The shim runs before ASan has started (ASan's own start-up calls mkdir), when no
// instrumented memory access may happen yet: hence no_sanitize, and nothing is touched
// but a constant-initialised flag until a plan is armed.
#define NIXSNAP_NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))

namespace {

template <typename Fn>
NIXSNAP_NO_SANITIZE Fn real(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "fault_syscalls: no libc %s\n", name);
    std::abort();
  }
  return reinterpret_cast<Fn>(f);
}

NIXSNAP_NO_SANITIZE bool fail(const char* what) {
  if (!__atomic_load_n(&nixsnap::testing::g_fault_plan_armed, __ATOMIC_ACQUIRE)) {
    return false;
  }
  if (nixsnap::testing::FaultPlan::global().hit(what)) {
    errno = EIO;
    return true;
  }
  return false;
}

}  // namespace

#define NIXSNAP_FAULT_FORWARD(ret, name, params, args, bad) \
  extern "C" NIXSNAP_NO_SANITIZE ret name params {          \
    static auto fn = real<ret(*) params>(#name);            \
    if (fail(#name)) return bad;                            \
    return fn args;                                         \
  }

NIXSNAP_FAULT_FORWARD(int, mkdir, (const char* p, mode_t m), (p, m), -1)
NIXSNAP_FAULT_FORWARD(char*, mkdtemp, (char* t), (t), nullptr)
NIXSNAP_FAULT_FORWARD(int, rename, (const char* a, const char* b), (a, b), -1)
NIXSNAP_FAULT_FORWARD(int, unlink, (const char* p), (p), -1)
NIXSNAP_FAULT_FORWARD(int, unlinkat, (int d, const char* p, int f), (d, p, f), -1)
NIXSNAP_FAULT_FORWARD(int, rmdir, (const char* p), (p), -1)
NIXSNAP_FAULT_FORWARD(int, lchown, (const char* p, uid_t u, gid_t g), (p, u, g), -1)
NIXSNAP_FAULT_FORWARD(int, symlink, (const char* t, const char* l), (t, l), -1)
NIXSNAP_FAULT_FORWARD(int, fsync, (int fd), (fd), -1)
NIXSNAP_FAULT_FORWARD(int, fdatasync, (int fd), (fd), -1)
