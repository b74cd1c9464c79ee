#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <memory>

#include "common/hex.h"

namespace nixsnap::log {
namespace {

std::atomic<Level> g_level{Level::Info};

spdlog::logger& logger() {
  // Built on first use; the pattern carries the timestamp (UTC) and level.
  static std::shared_ptr<spdlog::logger> l = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto lg = std::make_shared<spdlog::logger>("nixsnap", sink);
    lg->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
    lg->set_level(spdlog::level::trace);
    lg->flush_on(spdlog::level::trace);
    return lg;
  }();
  return *l;
}

spdlog::level::level_enum toSpd(Level l) {
  switch (l) {
    case Level::Trace: return spdlog::level::trace;
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

bool isControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

void appendValue(std::string& out, std::string_view v) {
  size_t full = v.size();
  if (v.size() > kMaxFieldBytes) {
    v = v.substr(0, kMaxFieldBytes);
  }
  bool quote = v.empty() || full != v.size();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || isControl(c)) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (isControl(c)) {
          auto u = static_cast<unsigned char>(c);
          out += "\\x";
          appendHexByte(out, u);
        } else {
          out += c;
        }
    }
  }
  if (full != v.size()) {
    out += "...(" + std::to_string(full) + " bytes)";
  }
  out += '"';
}

}  // namespace

std::string formatFields(std::initializer_list<Field> fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    out += ' ';
    out += k;
    out += '=';
    appendValue(out, v);
  }
  return out;
}

bool parseLevel(std::string_view text, Level& out) {
  std::string lower(text);
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower == "trace") {
    out = Level::Trace;
    return true;
  }
  if (lower == "debug") {
    out = Level::Debug;
    return true;
  }
  if (lower == "info") {
    out = Level::Info;
    return true;
  }
  if (lower == "warn" || lower == "warning") {
    out = Level::Warn;
    return true;
  }
  if (lower == "error" || lower == "fatal" || lower == "panic") {
    out = Level::Error;
    return true;
  }
  return false;
}

void setLevel(Level level) { g_level.store(level); }

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string line(msg);
  line += formatFields(fields);
  logger().log(toSpd(level), line);
}

std::string escapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (u == 0xc2 && next >= 0x80 && next <= 0x9f) {  // U+0080..U+009F
      out += "\\u00";
      appendHexByte(out, next);
      ++i;
    } else if (isControl(text[i])) {
      out += "\\x";
      appendHexByte(out, u);
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace nixsnap::log
