#include "common/json.h"

#include <new>
#include <string>

namespace nixsnap {
namespace {

/// Thrown from the parser callback to stop at the first level too deep: nlohmann would
/// otherwise go on parsing (and discarding) the rest.
struct TooDeep {};

}  // namespace

std::string jsonErrorText(const nlohmann::json::exception& e) {
  std::string_view text = e.what();
  if (!text.empty() && text.front() == '[') {
    const size_t end = text.find("] ");
    if (end != std::string_view::npos) {
      text.remove_prefix(end + 2);
    }
  }
  return std::string(text);
}

Result<nlohmann::json> parseJson(std::string_view text, std::string_view what, size_t max_depth) {
  using nlohmann::json;
  // depth counts the containers around the event: the root's "[" is at 0.
  json::parser_callback_t limit = [max_depth](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        static_cast<size_t>(depth) >= max_depth) {
      throw TooDeep{};
    }
    return true;
  };
  try {
    return json::parse(text, limit);
  } catch (const TooDeep&) {
    return invalidArgument("parsing " + std::string(what) + ": nested deeper than " +
                           std::to_string(max_depth) + " levels");
  } catch (const json::exception& e) {
    return invalidArgument("parsing " + std::string(what) + ": " + jsonErrorText(e));
  } catch (const std::bad_alloc&) {
    return internalError("parsing " + std::string(what) + ": out of memory");
  }
}

}  // namespace nixsnap
