#include "snapshotter/filter.h"

#include <re2/re2.h>

#include <cctype>
#include <string>

namespace nixsnap::snapshotter {

namespace {

/// Recursive-descent parser over one filter string.
class Parser {
 public:
  /// `budget` counts down selectors and regexes left for the whole request.
  Parser(std::string_view in, Filter::Budget& budget) : in_(in), budget_(budget) {}

  Result<std::vector<Filter::Selector>> parse() {
    std::vector<Filter::Selector> out;
    while (true) {
      skipSpace();
      Filter::Selector sel;
      if (budget_.selectors == 0) {
        return error("more than " + std::to_string(kMaxSelectors) + " selectors in one request");
      }
      --budget_.selectors;
      NIXSNAP_RETURN_IF_ERROR(fieldpath(sel.fieldpath));
      skipSpace();
      if (!atEnd() && peek() != ',') {
        NIXSNAP_RETURN_IF_ERROR(op(sel.op));
        skipSpace();
        NIXSNAP_RETURN_IF_ERROR(value(sel.value));
        if (sel.op == Filter::Op::Matches) {
          if (sel.value.size() > kMaxRegexPatternLength) {
            return error("regular expression longer than " +
                         std::to_string(kMaxRegexPatternLength) + " bytes");
          }
          if (budget_.regexes == 0) {
            return error("more than " + std::to_string(kMaxRegexes) +
                         " regular expressions in one request");
          }
          --budget_.regexes;
          RE2::Options options;
          options.set_log_errors(false);
          options.set_max_mem(kMaxRegexMemory);
          auto re = std::make_shared<const RE2>(sel.value, options);
          if (!re->ok()) {
            return error("bad regular expression: " + re->error());
          }
          sel.re = std::move(re);
        }
        skipSpace();
      }
      out.push_back(std::move(sel));
      if (atEnd()) {
        return out;
      }
      if (peek() != ',') {
        return error("expected ','");
      }
      ++pos_;
    }
  }

 private:
  bool atEnd() const { return pos_ >= in_.size(); }
  char peek() const { return in_[pos_]; }
  void skipSpace() {
    while (!atEnd() && std::isspace(static_cast<unsigned char>(peek()))) {
      ++pos_;
    }
  }
  Status error(std::string_view what) const {
    return invalidArgument("parsing filter \"" + std::string(in_) + "\" at " +
                           std::to_string(pos_) + ": " + std::string(what));
  }

  Status fieldpath(std::vector<std::string>& out) {
    while (true) {
      std::string f;
      if (!atEnd() && (peek() == '"' || peek() == '/')) {
        NIXSNAP_RETURN_IF_ERROR(quoted(f));
      } else {
        if (atEnd() || !std::isalpha(static_cast<unsigned char>(peek()))) {
          return error("expected field name");
        }
        while (!atEnd() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')) {
          f += in_[pos_++];
        }
      }
      out.push_back(std::move(f));
      if (atEnd() || peek() != '.') {
        return Status::ok();
      }
      ++pos_;
    }
  }

  Status op(Filter::Op& out) {
    std::string_view rest = in_.substr(pos_);
    if (rest.substr(0, 2) == "==") {
      out = Filter::Op::Equal;
    } else if (rest.substr(0, 2) == "!=") {
      out = Filter::Op::NotEqual;
    } else if (rest.substr(0, 2) == "~=") {
      out = Filter::Op::Matches;
    } else {
      return error("expected operator");
    }
    pos_ += 2;
    return Status::ok();
  }

  Status value(std::string& out) {
    if (!atEnd() && (peek() == '"' || peek() == '/')) {
      return quoted(out);
    }
    size_t start = pos_;
    while (!atEnd() && peek() != ',' && !std::isspace(static_cast<unsigned char>(peek()))) {
      out += in_[pos_++];
    }
    if (pos_ == start) {
      return error("expected value");
    }
    return Status::ok();
  }

  Status quoted(std::string& out) {
    char q = in_[pos_++];
    while (!atEnd()) {
      char c = in_[pos_++];
      if (c == q) {
        return Status::ok();
      }
      if (c == '\\' && !atEnd()) {
        char e = in_[pos_++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '\\': out += '\\'; break;
          case '"': out += '"'; break;
          case '/': out += (q == '/' ? "/" : "\\/"); break;
          default:
            if (q == '/') {  // regex escapes pass through
              out += '\\';
              out += e;
            } else {
              return error("unknown escape");
            }
        }
        continue;
      }
      out += c;
    }
    return error("unterminated quoted string");
  }

  std::string_view in_;
  Filter::Budget& budget_;
  size_t pos_ = 0;
};

const char* kindName(Kind k) {
  switch (k) {
    case Kind::Active: return "active";
    case Kind::View: return "view";
    case Kind::Committed: return "committed";
    default: return nullptr;
  }
}

/// The adaptor: value of `fieldpath` on `info`, and whether it is present.
bool field(const Info& info, const std::vector<std::string>& path, std::string& out) {
  if (path.empty()) {
    return false;
  }
  const std::string& f = path[0];
  if (f == "kind") {
    const char* n = kindName(info.kind);
    if (n == nullptr) {
      return false;
    }
    out = n;
    return true;
  }
  if (f == "name") {
    out = info.name;
    return true;
  }
  if (f == "parent") {
    out = info.parent;
    return true;
  }
  if (f == "labels") {
    if (info.labels.empty() || path.size() < 2) {
      return false;
    }
    std::string key = path[1];
    for (size_t i = 2; i < path.size(); ++i) {
      key += "." + path[i];
    }
    auto it = info.labels.find(key);
    if (it == info.labels.end()) {
      return false;
    }
    out = it->second;
    return true;
  }
  return false;
}

bool matchSelector(const Filter::Selector& s, const Info& info) {
  std::string v;
  bool present = field(info, s.fieldpath, v);
  switch (s.op) {
    case Filter::Op::Present: return present;
    case Filter::Op::Equal: return present && v == s.value;
    case Filter::Op::NotEqual: return v != s.value;
    case Filter::Op::Matches: return s.re && RE2::PartialMatch(v, *s.re);
  }
  return false;
}

}  // namespace

Result<Filter> Filter::parse(const std::vector<std::string>& filters) {
  Filter f;
  Budget budget;
  for (const std::string& s : filters) {
    if (s.empty()) {
      f.always_ = true;
      continue;
    }
    Result<std::vector<Selector>> sels = Parser(s, budget).parse();
    if (!sels.isOk()) {
      return sels.status();
    }
    f.any_.push_back(std::move(*sels));
  }
  if (filters.empty()) {
    f.always_ = true;
  }
  return f;
}

bool Filter::match(const Info& info) const {
  if (always_) {
    return true;
  }
  for (const auto& all : any_) {
    bool ok = true;
    for (const Selector& s : all) {
      if (!matchSelector(s, info)) {
        ok = false;
        break;
      }
    }
    if (ok) {
      return true;
    }
  }
  return false;
}

}  // namespace nixsnap::snapshotter
