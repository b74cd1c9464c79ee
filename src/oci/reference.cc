#include "oci/reference.h"

#include <string>

#include "oci/digest.h"

namespace nixsnap::oci {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool anyAlnum(char c) { return lowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

bool validHost(std::string_view h) {
  size_t colon = h.find(':');
  if (colon != std::string_view::npos) {
    std::string_view port = h.substr(colon + 1);
    if (port.empty()) {
      return false;
    }
    for (char c : port) {
      if (!digit(c)) {
        return false;
      }
    }
    h = h.substr(0, colon);
  }
  if (h.empty()) {
    return false;
  }
  size_t start = 0;
  while (start <= h.size()) {
    size_t end = h.find('.', start);
    if (end == std::string_view::npos) {
      end = h.size();
    }
    std::string_view label = h.substr(start, end - start);
    if (label.empty() || !anyAlnum(label.front()) || !anyAlnum(label.back())) {
      return false;
    }
    for (char c : label) {
      if (!anyAlnum(c) && c != '-') {
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength || !(anyAlnum(t.front()) || t.front() == '_')) {
    return false;
  }
  for (char c : t) {
    if (!anyAlnum(c) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

bool isValidReferenceComponent(std::string_view p) {
  if (p.empty() || !lowerAlnum(p.front()) || !lowerAlnum(p.back())) {
    return false;
  }
  size_t i = 0;
  while (i < p.size()) {
    if (lowerAlnum(p[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < p.size() && !lowerAlnum(p[j])) {
      ++j;
    }
    std::string_view sep = p.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) {
      return false;
    }
    i = j;
  }
  return true;
}

Status validateImageReference(std::string_view ref, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return invalidArgument(std::string(what) + " \"" + std::string(ref) +
                           "\" is not a valid image reference: " + std::string(why));
  };
  std::string_view name = ref;
  size_t at = name.find('@');
  if (at != std::string_view::npos) {
    if (!validateDigest(name.substr(at + 1)).isOk()) {  // one digest grammar: digest.h
      return bad("digest must be sha256:<64 lowercase hex>");
    }
    name = name.substr(0, at);
  }
  size_t last_slash = name.rfind('/');
  size_t colon = name.find(':', last_slash == std::string_view::npos ? 0 : last_slash);
  if (colon != std::string_view::npos) {
    if (!validTag(name.substr(colon + 1))) {
      return bad("tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    }
    name = name.substr(0, colon);
  }
  if (name.empty()) {
    return bad("empty name");
  }
  if (name.size() > kMaxNameLength) {
    return bad("name longer than 255 characters");
  }
  size_t start = 0;
  size_t first_slash = name.find('/');
  if (first_slash != std::string_view::npos) {
    std::string_view first = name.substr(0, first_slash);
    bool host_like = first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
                     first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
    if (host_like) {
      if (!validHost(first)) {
        return bad("bad registry host \"" + std::string(first) + "\"");
      }
      start = first_slash + 1;
    }
  }
  while (true) {
    size_t end = name.find('/', start);
    std::string_view part =
        name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!isValidReferenceComponent(part)) {
      return bad("path component \"" + std::string(part) +
                 "\" must be lowercase [a-z0-9] joined by '.', '_', '__' or '-'");
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return Status::ok();
}

}  // namespace nixsnap::oci
