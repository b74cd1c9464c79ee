#include "registry/auth_challenge.h"

#include <cctype>

namespace nixsnap::registry {
namespace {

constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr size_t kMaxParams = 32;

bool isTokenChar(char c) {
  // RFC 9110 tchar.
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

/// A cursor over the header value.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool done() {
    skipSpace();
    return i_ >= s_.size();
  }
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) {
      ++i_;
    }
  }
  /// Consumes `c` (after spaces) when it comes next.
  bool eat(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skipSpace();
    return i_ < s_.size() && s_[i_] == c;
  }
  std::string_view token() {
    skipSpace();
    const size_t start = i_;
    while (i_ < s_.size() && isTokenChar(s_[i_])) {
      ++i_;
    }
    return s_.substr(start, i_ - start);
  }
  /// A token68 (base64-like credentials blob) with its trailing '='s.
  void skipToken68() {
    while (i_ < s_.size() && (isTokenChar(s_[i_]) || s_[i_] == '/')) {
      ++i_;
    }
    while (i_ < s_.size() && s_[i_] == '=') {
      ++i_;
    }
  }
  /// A quoted-string after its opening quote; false when it never closes.
  bool quotedRest(std::string& out) {
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') {
        return true;
      }
      if (c == '\\' && i_ < s_.size()) {
        out.push_back(s_[i_++]);
      } else {
        out.push_back(c);
      }
    }
    return false;
  }
  size_t pos() const { return i_; }
  void seek(size_t i) { i_ = i; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::vector<AuthChallenge> parseAuthChallenges(std::string_view header) {
  std::vector<AuthChallenge> out;
  if (header.size() > kMaxHeaderBytes) {
    return out;
  }
  Scanner sc(header);
  while (!sc.done()) {
    if (sc.eat(',')) {
      continue;  // empty list elements are allowed
    }
    const std::string_view scheme = sc.token();
    if (scheme.empty()) {
      return out;
    }
    AuthChallenge challenge{lower(scheme), {}};
    // Parameters until the next challenge: a token followed by '=' is a parameter name;
    // any other token starts a new challenge.
    for (;;) {
      const size_t mark = sc.pos();
      sc.eat(',');
      const std::string_view name = sc.token();
      if (name.empty() || !sc.eat('=')) {
        sc.seek(mark);
        if (!name.empty() && challenge.params.empty() && !sc.peek(',')) {
          sc.skipSpace();
          sc.skipToken68();  // `Scheme token68`
        }
        break;
      }
      std::string value;
      if (sc.eat('"')) {
        if (!sc.quotedRest(value)) {
          out.push_back(std::move(challenge));
          return out;
        }
      } else {
        value = std::string(sc.token());
      }
      if (challenge.params.size() < kMaxParams) {
        challenge.params.emplace(lower(name), std::move(value));
      }
    }
    out.push_back(std::move(challenge));
  }
  return out;
}

}  // namespace nixsnap::registry
