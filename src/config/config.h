#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/fs.h"
#include "common/status.h"

namespace nixsnap::config {

inline constexpr std::string_view kDefaultConfigPath = "/etc/nix-snapshotter/config.toml";
inline constexpr std::string_view kDefaultAddress = "/run/nix-snapshotter/nix-snapshotter.sock";
inline constexpr std::string_view kDefaultRoot =
    "/var/lib/containerd/io.containerd.snapshotter.v1.nix";
inline constexpr std::string_view kDefaultContainerdAddress = "/run/containerd/containerd.sock";
inline constexpr std::string_view kDefaultStoreDir = "/nix/store";
inline constexpr std::string_view kDefaultLogLevel = "info";
inline constexpr int64_t kDefaultParallelRealisations = 4;
inline constexpr int64_t kMaxParallelRealisations = 256;

/// `[image_service]`: the CRI image service nix-snapshotter serves next to the snapshots API.
struct ImageServiceConfig {
  bool enable = true;                                         ///< `enable`
  std::string containerd_address{kDefaultContainerdAddress};  ///< `containerd_address`
  bool operator==(const ImageServiceConfig&) const = default;
};

/// The daemon's settings. Field names are the TOML keys; the first four (and the
/// `[image_service]` table) are the original nix-snapshotter's, so its files keep working.
struct Config {
  std::string address{kDefaultAddress};  ///< unix socket path the daemon serves on
  std::string root{kDefaultRoot};        ///< state directory (metadata.db, snapshots/, gcroots/)
  std::string external_builder;          ///< empty: nix-store; else `EXE OUTLINK STOREPATH`
  ImageServiceConfig image_service;
  // Additions of this implementation.
  std::string log_level{kDefaultLogLevel};  ///< trace|debug|info|warn|error
  std::string store_dir{kDefaultStoreDir};  ///< Nix store directory labels must point into
  bool fuse_overlayfs = false;              ///< rootless: mount type fuse3.fuse-overlayfs
  /// Nix realisations (nix-store or builder processes) run at once; 1..kMaxParallelRealisations.
  int64_t max_parallel_realisations = kDefaultParallelRealisations;
  bool operator==(const Config&) const = default;
};

/// Values given on the command line; only those that are set override the file.
struct Overrides {
  std::optional<std::string> address;
  std::optional<std::string> root;
  std::optional<std::string> log_level;
};

/// Parses TOML text into a Config, starting from the defaults.
/// @param text   TOML document.
/// @param origin name used in messages, usually the file path.
/// @return the config; InvalidArgument for a syntax error, an unknown key or a value of
///         the wrong type, naming the dotted key: `config /x.toml: unknown key
///         "image_service.enbale"`.
Result<Config> parseConfig(std::string_view text, std::string_view origin);

/// Largest config file loadConfig reads (bytes); the defaults file is under 1 KiB. The
/// bound also keeps the nesting a file can express (dotted keys of 1-character parts:
/// ~16,000 levels) within what the parser's recursion survives on an 8 MiB stack (a
/// 32,000-part key crashed it).
inline constexpr size_t kMaxConfigBytes = 32 * 1024;

/// Reads and parses the file at `path` (a regular file, or a pipe such as /dev/fd/N).
/// @param path          absolute or relative path of a TOML file.
/// @param must_exist    false for the default path: a missing file then means defaults.
/// @return the config; NotFound for a missing file when `must_exist`; InvalidArgument when
///         it holds more than kMaxConfigBytes (reading stops there, so /dev/zero fails
///         fast); the errors of parseConfig; the errno class when it cannot be read.
Result<Config> loadConfig(const fs::path& path, bool must_exist);

/// Applies the flags that were given on top of `config`.
void applyOverrides(Config& config, const Overrides& overrides);

/// Checks a merged config: absolute paths for address, root and store_dir, a known log
/// level, a socket path short enough for sockaddr_un.
/// @param flags the overrides applied to `config`: a bad value that came from a flag is
///              reported under the flag (`flag --log-level ...`), not the file's key.
/// @return Ok or InvalidArgument naming the key or flag.
Status validate(const Config& config, const Overrides& flags = {});

}  // namespace nixsnap::config
