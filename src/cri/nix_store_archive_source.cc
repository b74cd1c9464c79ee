#include "cri/nix_store_archive_source.h"

#include <utility>

#include "common/log.h"

namespace nixsnap::cri {
namespace {

// The last non-empty line of nix-store's stderr says why it failed.
std::string lastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\n ");
  if (end == std::string::npos) {
    return "no output";
  }
  size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
}

}  // namespace

NixStoreArchiveSource::NixStoreArchiveSource(ProcessRunnerPtr runner, fs::path store_dir,
                                             std::string nix_store)
    : runner_(std::move(runner)), store_dir_(std::move(store_dir)), nix_store_(std::move(nix_store)) {}

Status NixStoreArchiveSource::ensureValid(const fs::path& store_path) {
  auto result = runner_->run({nix_store_, "--realise", store_path.string()});
  if (!result.isOk()) {
    return result.status().wrap("realising " + store_path.string());
  }
  if (result->exit_code != 0) {
    NIXSNAP_LOG(Warn, "nix-store --realise failed",
                {{"store_path", store_path.string()}, {"error", result->stderr_data}});
    return notFound("realising " + store_path.string() + ": nix-store exited " +
                    std::to_string(result->exit_code) + ": " + lastLine(result->stderr_data));
  }
  boost::system::error_code ec;
  fs::path real = fs::canonical(store_path, ec);
  if (ec) {
    return errnoStatus(ec.value(), "resolving " + store_path.string());
  }
  fs::path real_store = fs::canonical(store_dir_, ec);
  if (ec) {
    return errnoStatus(ec.value(), "resolving " + store_dir_.string());
  }
  if (real.parent_path() != real_store) {
    return invalidArgument("realising " + store_path.string() + ": resolves to " +
                           real.string() + ", outside the store " + store_dir_.string());
  }
  if (fs::is_directory(real, ec)) {
    return invalidArgument(store_path.string() + " is a directory, not an image archive");
  }
  return Status::ok();
}

}  // namespace nixsnap::cri
