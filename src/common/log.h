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

/// Parses "trace|debug|info|warn|warning|error|fatal|panic", in any letter case, as the
/// original's logrus does; "fatal" and "panic" (which its users' units and configs may
/// carry) map to Error, our highest level: only errors are written.
/// @return false, leaving `out` unchanged, for anything else.
bool parseLevel(std::string_view text, Level& out);

/// Sets the process-wide threshold. Thread-safe.
void setLevel(Level level);
bool enabled(Level level);

/// Writes one line to stderr: "<RFC 3339 UTC time> <level> <msg> k=v k=v" (fields as
/// formatFields gives them). Thread-safe (one write per line).
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

/// Longest field value written as is; longer ones (hostile labels can be 100 KiB) are cut
/// and marked with their full size.
inline constexpr size_t kMaxFieldBytes = 1024;

/// `text` with every control character (C0, DEL, and UTF-8-encoded C1) written as
/// \xNN or \u00NN, for messages that may carry what a server or file said (a terminal
/// would otherwise obey escape sequences in them). Other bytes are kept.
std::string escapeControls(std::string_view text);

/// " k=v k=v": a value is quoted when empty or holding a space, quote, '=', backslash or
/// any control byte; inside quotes '"' and '\' are backslash-escaped, \n \t \r spelled
/// so, other control bytes and DEL as \xHH, so one log record is always one line whatever
/// the value holds (labels and keys come from images: hostile input).
std::string formatFields(std::initializer_list<Field> fields);

}  // namespace nixsnap::log

/// Logs lazily: fields are only built when the level is enabled.
#define NIXSNAP_LOG(level, msg, ...)                                           \
  do {                                                                         \
    if (::nixsnap::log::enabled(::nixsnap::log::Level::level)) {               \
      ::nixsnap::log::write(::nixsnap::log::Level::level, msg, ##__VA_ARGS__); \
    }                                                                          \
  } while (0)
