#include "containerd/proc_config_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include "common/process_failure.h"

namespace nixsnap::containerd {
namespace {

// stat(2) of `path` (following symlinks) or the errno Status naming it.
Result<struct stat> statPath(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return errnoStatus(errno, "stat " + path.string());
  }
  return st;
}

// /proc/<pid>/cmdline split at its NUL bytes.
Result<std::vector<std::string>> readCmdline(const fs::path& file) {
  std::ifstream in(file.string(), std::ios::binary);
  if (!in) {
    return errnoStatus(errno, "reading " + file.string());
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  std::string arg;
  for (char c : data) {
    if (c == '\0') {
      argv.push_back(std::move(arg));
      arg.clear();
    } else {
      arg.push_back(c);
    }
  }
  if (!arg.empty()) {
    argv.push_back(std::move(arg));
  }
  return argv;
}

// True when both namespace links exist and name different namespaces.
bool differentNamespace(const fs::path& a, const fs::path& b) {
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino != sb.st_ino;
}

}  // namespace

std::string containerdConfigPath(const std::vector<std::string>& argv) {
  std::string config = kContainerdDefaultConfig;
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) {
      arg.erase(0, 2);
    } else if (arg.rfind('-', 0) == 0) {
      arg.erase(0, 1);
    } else {
      continue;
    }
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    if (name != "config" && name != "c") {
      continue;
    }
    if (eq != std::string::npos) {
      config = arg.substr(eq + 1);
    } else if (i + 1 < argv.size()) {
      config = argv[++i];
    }
  }
  return config;
}

ProcContainerdConfigSource::ProcContainerdConfigSource(ContainerdClientPtr containerd,
                                                       ProcessRunnerPtr runner, fs::path proc_root,
                                                       std::chrono::milliseconds timeout)
    : containerd_(std::move(containerd)),
      runner_(std::move(runner)),
      proc_root_(std::move(proc_root)),
      timeout_(timeout) {}

Result<std::string> ProcContainerdConfigSource::effectiveConfig() {
  auto info = containerd_->serverInfo(CallContext{});
  if (!info.isOk()) {
    return info.status().wrap("asking containerd's introspection service for its pid");
  }
  const ServerInfo& server = *info;
  const std::string pid = std::to_string(server.pid);
  if (server.pid == 0) {
    return Status(ErrorCode::FailedPrecondition, "containerd reported no pid");
  }
  auto own_ns = statPath(proc_root_ / "self" / "ns" / "pid");
  if (!own_ns.isOk()) {
    return Status(ErrorCode::FailedPrecondition, own_ns.status().message());
  }
  if (own_ns->st_ino != server.pidns) {
    return Status(ErrorCode::FailedPrecondition,
                  "containerd (pid " + pid + ") runs in pid namespace " +
                      std::to_string(server.pidns) + ", not in this daemon's " +
                      std::to_string(own_ns->st_ino));
  }
  const fs::path proc_dir = proc_root_ / pid;
  auto proc = statPath(proc_dir);
  if (!proc.isOk()) {
    return proc.status().wrap("inspecting containerd process " + pid);
  }
  const uid_t me = ::geteuid();
  if (proc->st_uid != me) {
    return Status(ErrorCode::FailedPrecondition,
                  "containerd process " + pid + " runs as uid " + std::to_string(proc->st_uid) +
                      ", not as this daemon's uid " + std::to_string(me));
  }
  const fs::path exe = proc_dir / "exe";
  auto bin = statPath(exe);
  if (!bin.isOk()) {
    return Status(ErrorCode::FailedPrecondition, bin.status().message());
  }
  if (bin->st_uid != me || (bin->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status(ErrorCode::FailedPrecondition, "containerd binary " + exe.string() +
                                                     " is not owned by uid " + std::to_string(me) +
                                                     " or is writable by others: not running it");
  }
  auto argv = readCmdline(proc_dir / "cmdline");
  if (!argv.isOk()) {
    return argv.status().wrap("reading containerd's command line");
  }
  fs::path config = containerdConfigPath(*argv);
  if (config.is_relative()) {
    config = proc_dir / "cwd" / config;
  } else if (differentNamespace(proc_root_ / "self" / "ns" / "mnt", proc_dir / "ns" / "mnt")) {
    config = proc_dir / "root" / config.relative_path();
  }
  ProcessOptions options;
  options.timeout = timeout_;
  auto run = runner_->run({exe.string(), "--config", config.string(), "config", "dump"}, options);
  if (!run.isOk()) {
    return run.status().wrap("running containerd config dump");
  }
  if (run->exit_code != 0) {
    return internalError(describeProcessFailure(
        exe.string() + " --config " + config.string() + " config dump", *run, 400));
  }
  return std::move(run->stdout_data);
}

ContainerdConfigSourcePtr makeProcContainerdConfigSource(ContainerdClientPtr containerd,
                                                         ProcessRunnerPtr runner) {
  return std::make_shared<ProcContainerdConfigSource>(std::move(containerd), std::move(runner));
}

}  // namespace nixsnap::containerd
