#include "nix/worker_protocol.h"

namespace nixsnap::nix::worker {

void putU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

void putString(std::string& out, std::string_view s) {
  putU64(out, s.size());
  out.append(s);
  out.append((8 - s.size() % 8) % 8, '\0');
}

std::string clientHello() {
  std::string out;
  putU64(out, kMagic1);
  putU64(out, kClientVersion);
  putU64(out, 0);  // no CPU affinity (since 1.14)
  putU64(out, 0);  // reserveSpace, obsolete (since 1.11)
  return out;
}

Result<uint64_t> Reader::u64() {
  if (data_.size() - pos_ < 8) {
    truncated_ = true;
    return internalError("reading nix daemon reply: truncated at byte " + std::to_string(pos_));
  }
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(data_[pos_ + static_cast<size_t>(i)]);
  }
  pos_ += 8;
  return v;
}

Result<std::string> Reader::str() {
  Result<uint64_t> n = u64();
  if (!n.isOk()) {
    return n.status();
  }
  uint64_t padded = *n + (8 - *n % 8) % 8;
  if (*n > data_.size() || padded > data_.size() - pos_) {
    truncated_ = *n <= (uint64_t{1} << 32);  // a hostile length never completes
    return internalError("reading nix daemon reply: truncated string at byte " +
                         std::to_string(pos_));
  }
  std::string s(data_.substr(pos_, *n));
  pos_ += padded;
  return s;
}

Result<uint64_t> Reader::hello() {
  Result<uint64_t> magic = u64();
  if (!magic.isOk()) {
    return magic.status();
  }
  if (*magic != kMagic2) {
    return internalError("nix daemon protocol mismatch: greeting " + std::to_string(*magic));
  }
  return u64();
}

Status Reader::skipActivityFields() {
  Result<uint64_t> n = u64();
  NIXSNAP_RETURN_IF_ERROR(n.status());
  for (uint64_t i = 0; i < *n; ++i) {
    Result<uint64_t> type = u64();
    NIXSNAP_RETURN_IF_ERROR(type.status());
    Status st = *type == 0 ? u64().status() : str().status();
    NIXSNAP_RETURN_IF_ERROR(st);
  }
  return Status::ok();
}

Status Reader::endOfWork() {
  while (true) {
    Result<uint64_t> msg = u64();
    NIXSNAP_RETURN_IF_ERROR(msg.status());
    switch (*msg) {
      case kStderrLast: return Status::ok();
      case kStderrNext: NIXSNAP_RETURN_IF_ERROR(str().status()); break;
      case kStderrError: {
        Result<std::string> text = str();
        NIXSNAP_RETURN_IF_ERROR(text.status());
        NIXSNAP_RETURN_IF_ERROR(u64().status());  // exit status
        std::string t = *text;
        while (!t.empty() && t.back() == '\n') {
          t.pop_back();
        }
        ErrorCode code = t.find("Permission denied") != std::string::npos
                             ? ErrorCode::PermissionDenied
                             : ErrorCode::Internal;
        return Status(code, t);
      }
      case kStderrStartActivity:  // id, level, type, text, fields, parent
        for (int i = 0; i < 3; ++i) {
          NIXSNAP_RETURN_IF_ERROR(u64().status());
        }
        NIXSNAP_RETURN_IF_ERROR(str().status());
        NIXSNAP_RETURN_IF_ERROR(skipActivityFields());
        NIXSNAP_RETURN_IF_ERROR(u64().status());
        break;
      case kStderrStopActivity: NIXSNAP_RETURN_IF_ERROR(u64().status()); break;
      case kStderrResult:  // id, type, fields
        NIXSNAP_RETURN_IF_ERROR(u64().status());
        NIXSNAP_RETURN_IF_ERROR(u64().status());
        NIXSNAP_RETURN_IF_ERROR(skipActivityFields());
        break;
      default:
        return internalError("reading nix daemon reply: unknown message " + std::to_string(*msg) +
                             " at byte " + std::to_string(pos_ - 8));
    }
  }
}

}  // namespace nixsnap::nix::worker
