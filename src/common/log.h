#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace nixsnap::log {

enum class Level { Trace, Debug, Info, Warn, Error };

/// One structured field, e.g. {"key", "default/3/k"}; standard names: key, id,
/// store_path, rpc, image, path, error.
using Field = std::pair<std::string_view, std::string>;

/// Parses "trace|debug|info|warn|warning|error" (case-sensitive, lower-case).
/// @return false, leaving `out` unchanged, for anything else.
bool parseLevel(std::string_view text, Level& out);

/// Sets the process-wide threshold. Thread-safe.
void setLevel(Level level);
bool enabled(Level level);

/// Writes one line to stderr: "<RFC 3339 UTC time> <level> <msg> k=v k=v". Values with
/// spaces or quotes are quoted. Thread-safe (one write per line).
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

}  // namespace nixsnap::log

/// Logs lazily: fields are only built when the level is enabled.
#define NIXSNAP_LOG(level, msg, ...)                                         \
  do {                                                                       \
    if (::nixsnap::log::enabled(::nixsnap::log::Level::level)) {             \
      ::nixsnap::log::write(::nixsnap::log::Level::level, msg, ##__VA_ARGS__); \
    }                                                                        \
  } while (0)
