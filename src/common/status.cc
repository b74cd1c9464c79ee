#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace nixsnap {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok: return "ok";
    case ErrorCode::Unknown: return "unknown";
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::AlreadyExists: return "already exists";
    case ErrorCode::FailedPrecondition: return "failed precondition";
    case ErrorCode::PermissionDenied: return "permission denied";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Unimplemented: return "unimplemented";
    case ErrorCode::Internal: return "internal";
    case ErrorCode::Canceled: return "canceled";
    case ErrorCode::DeadlineExceeded: return "deadline exceeded";
  }
  return "unknown";
}

Status Status::wrap(std::string_view context) const {
  if (isOk()) {
    return *this;
  }
  std::string m(context);
  m += ": ";
  m += message_;
  return {code_, std::move(m)};
}

std::string Status::toString() const {
  if (isOk()) {
    return "ok";
  }
  return std::string(errorCodeName(code_)) + ": " + message_;
}

ErrorCode errorCodeFromErrno(int err) {
  switch (err) {
    case ENOENT: return ErrorCode::NotFound;
    case EEXIST: return ErrorCode::AlreadyExists;
    case EACCES:
    case EPERM: return ErrorCode::PermissionDenied;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP: return ErrorCode::InvalidArgument;
    case ENOTEMPTY:
    case EBUSY: return ErrorCode::FailedPrecondition;
    default: return ErrorCode::Internal;
  }
}

Status errnoStatus(int err, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  return {errorCodeFromErrno(err), std::move(m)};
}

}  // namespace nixsnap
