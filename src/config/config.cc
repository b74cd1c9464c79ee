#include "config/config.h"

#include <sys/un.h>
#include <toml++/toml.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

#include "common/log.h"

namespace nixsnap::config {
namespace {

std::string keyError(std::string_view origin, std::string_view what, std::string_view key) {
  std::string msg = "config ";
  msg += origin;
  msg += ": ";
  msg += what;
  msg += " \"";
  msg += key;
  msg += "\"";
  return msg;
}

Status readString(const toml::node& node, std::string_view origin, std::string_view key,
                  std::string& out) {
  const auto* s = node.as_string();
  if (s == nullptr) {
    return invalidArgument(keyError(origin, "expected a string for key", key));
  }
  out = s->get();
  return Status::ok();
}

Status readBool(const toml::node& node, std::string_view origin, std::string_view key, bool& out) {
  const auto* b = node.as_boolean();
  if (b == nullptr) {
    return invalidArgument(keyError(origin, "expected a boolean for key", key));
  }
  out = b->get();
  return Status::ok();
}

Status readInt(const toml::node& node, std::string_view origin, std::string_view key,
               int64_t& out) {
  const auto* i = node.as_integer();
  if (i == nullptr) {
    return invalidArgument(keyError(origin, "expected an integer for key", key));
  }
  out = i->get();
  return Status::ok();
}

Status readImageService(const toml::node& node, std::string_view origin, ImageServiceConfig& out) {
  const auto* table = node.as_table();
  if (table == nullptr) {
    return invalidArgument(keyError(origin, "expected a table for key", "image_service"));
  }
  for (auto&& [k, v] : *table) {
    const std::string key = "image_service." + std::string(k.str());
    if (k.str() == "enable") {
      NIXSNAP_RETURN_IF_ERROR(readBool(v, origin, key, out.enable));
    } else if (k.str() == "containerd_address") {
      NIXSNAP_RETURN_IF_ERROR(readString(v, origin, key, out.containerd_address));
    } else {
      return invalidArgument(keyError(origin, "unknown key", key));
    }
  }
  return Status::ok();
}

Status readTopLevel(const toml::table& table, std::string_view origin, Config& out) {
  for (auto&& [k, v] : table) {
    const std::string_view key = k.str();
    if (key == "address") {
      NIXSNAP_RETURN_IF_ERROR(readString(v, origin, key, out.address));
    } else if (key == "root") {
      NIXSNAP_RETURN_IF_ERROR(readString(v, origin, key, out.root));
    } else if (key == "external_builder") {
      NIXSNAP_RETURN_IF_ERROR(readString(v, origin, key, out.external_builder));
    } else if (key == "log_level") {
      NIXSNAP_RETURN_IF_ERROR(readString(v, origin, key, out.log_level));
    } else if (key == "store_dir") {
      NIXSNAP_RETURN_IF_ERROR(readString(v, origin, key, out.store_dir));
      // "/nix/store/" and "/nix/store" name the same directory; store-path checks compare
      // prefixes, so keep one spelling.
      while (out.store_dir.size() > 1 && out.store_dir.back() == '/') {
        out.store_dir.pop_back();
      }
    } else if (key == "fuse_overlayfs") {
      NIXSNAP_RETURN_IF_ERROR(readBool(v, origin, key, out.fuse_overlayfs));
    } else if (key == "max_parallel_realisations") {
      NIXSNAP_RETURN_IF_ERROR(readInt(v, origin, key, out.max_parallel_realisations));
    } else if (key == "image_service") {
      NIXSNAP_RETURN_IF_ERROR(readImageService(v, origin, out.image_service));
    } else {
      return invalidArgument(keyError(origin, "unknown key", key));
    }
  }
  return Status::ok();
}

/// How a message names a setting: `config: key "<key>"`, or `flag <flag>` when its value
/// came from the command line (the user looks for what they typed).
std::string settingName(std::string_view key, bool from_flag = false, std::string_view flag = {}) {
  if (from_flag) {
    return "flag " + std::string(flag);
  }
  return "config: key \"" + std::string(key) + "\"";
}

/// @param name as settingName gives it.
Status requireAbsolute(const std::string& value, const std::string& name) {
  if (value.empty() || value.front() != '/') {
    return invalidArgument(name + " must be an absolute path, got \"" + value + "\"");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return invalidArgument(name + " must not contain control characters (a newline, say)");
    }
  }
  return Status::ok();
}

/// Store-path labels are checked by prefix against store_dir, so it must be spelled
/// canonically and cannot be the root directory itself.
Status requireStoreDir(const std::string& value) {
  NIXSNAP_RETURN_IF_ERROR(requireAbsolute(value, settingName("store_dir")));
  if (value == "/") {
    return invalidArgument("config: key \"store_dir\" must not be \"/\"");
  }
  // Every '/'-separated part after the leading '/' must be a real name.
  size_t begin = 1;
  while (begin <= value.size()) {
    size_t end = std::min(value.find('/', begin), value.size());
    std::string_view part(value.data() + begin, end - begin);
    if (part.empty() || part == "." || part == "..") {
      return invalidArgument(
          "config: key \"store_dir\" must be a normalised path (no \".\", "
          "\"..\", \"//\" or trailing \"/\"), got \"" +
          value + "\"");
    }
    begin = end + 1;
  }
  return Status::ok();
}

/// toml++ 3.3 (Debian 12) reaches __builtin_unreachable (undefined behaviour) when it
/// tests many non-ASCII characters for whitespace, e.g. U+0364 where a key may start or
/// U+013C after a malformed value (found by fuzz_daemon_config; skipping strings and
/// comments was not enough: toml++ also tests characters while reporting an error). So
/// the file must be ASCII: a string can still hold any character as a \uXXXX escape.
/// @return Ok; InvalidArgument naming the line of the first non-ASCII byte.
Status checkAscii(std::string_view text, std::string_view origin) {
  size_t line = 1;
  for (char c : text) {
    if (c == '\n') {
      ++line;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      return invalidArgument("config " + std::string(origin) + ": line " + std::to_string(line) +
                             ": non-ASCII character (the file must be ASCII; write other "
                             "characters in strings as \\uXXXX escapes)");
    }
  }
  return Status::ok();
}

}  // namespace

Result<Config> parseConfig(std::string_view text, std::string_view origin) {
  // A UTF-8 byte order mark may precede the document (some editors write one).
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  NIXSNAP_RETURN_IF_ERROR(checkAscii(text, origin));
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config " << origin << ": parsing TOML at line " << e.source().begin.line << ", column "
        << e.source().begin.column << ": " << e.description();
    return invalidArgument(msg.str());
  }
  Config config;
  NIXSNAP_RETURN_IF_ERROR(readTopLevel(table, origin, config));
  return config;
}

Result<Config> loadConfig(const fs::path& path, bool must_exist) {
  boost::system::error_code ec;
  if (fs::is_directory(path, ec)) {
    return invalidArgument("config " + path.string() + " is a directory, not a TOML file");
  }
  std::ifstream in(path.string(), std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT && !must_exist) {
      NIXSNAP_LOG(Debug, "no config file, using defaults", {{"path", path.string()}});
      return Config{};
    }
    return errnoStatus(err, "reading config " + path.string());
  }
  // Bounded read: the path may name a device or a pipe that never ends (/dev/zero).
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return internalError("reading config " + path.string() + ": read failed");
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return invalidArgument("config " + path.string() + ": larger than " +
                           std::to_string(kMaxConfigBytes) + " bytes");
  }
  return parseConfig(text, path.string());
}

void applyOverrides(Config& config, const Overrides& overrides) {
  if (overrides.address) {
    config.address = *overrides.address;
  }
  if (overrides.root) {
    config.root = *overrides.root;
  }
  if (overrides.log_level) {
    config.log_level = *overrides.log_level;
  }
}

Status validate(const Config& config, const Overrides& flags) {
  const std::string address = settingName("address", flags.address.has_value(), "--address (-a)");
  NIXSNAP_RETURN_IF_ERROR(requireAbsolute(config.address, address));
  NIXSNAP_RETURN_IF_ERROR(
      requireAbsolute(config.root, settingName("root", flags.root.has_value(), "--root")));
  NIXSNAP_RETURN_IF_ERROR(requireStoreDir(config.store_dir));
  if (config.address.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return invalidArgument(address + " is too long for a unix socket (" +
                           std::to_string(config.address.size()) + " bytes, at most " +
                           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + ")");
  }
  log::Level level;
  if (!log::parseLevel(config.log_level, level)) {
    return invalidArgument(
        settingName("log_level", flags.log_level.has_value(), "--log-level (-l)") +
        " must be one of trace, debug, info, warn, error, fatal, panic; got \"" + config.log_level +
        "\"");
  }
  if (config.max_parallel_realisations < 1 ||
      config.max_parallel_realisations > kMaxParallelRealisations) {
    return invalidArgument("config: key \"max_parallel_realisations\" must be between 1 and " +
                           std::to_string(kMaxParallelRealisations) + ", got " +
                           std::to_string(config.max_parallel_realisations));
  }
  if (config.image_service.enable) {
    NIXSNAP_RETURN_IF_ERROR(requireAbsolute(config.image_service.containerd_address,
                                            settingName("image_service.containerd_address")));
  }
  return Status::ok();
}

}  // namespace nixsnap::config
