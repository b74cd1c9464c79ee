#include "rpc/grpc_status.h"

namespace nixsnap::rpc {

grpc::Status toGrpc(const Status& status) {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (status.code()) {
    case ErrorCode::Ok: return grpc::Status::OK;
    case ErrorCode::InvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case ErrorCode::NotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case ErrorCode::AlreadyExists: code = grpc::StatusCode::ALREADY_EXISTS; break;
    case ErrorCode::FailedPrecondition: code = grpc::StatusCode::FAILED_PRECONDITION; break;
    case ErrorCode::PermissionDenied: code = grpc::StatusCode::PERMISSION_DENIED; break;
    case ErrorCode::Unavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    case ErrorCode::Unimplemented: code = grpc::StatusCode::UNIMPLEMENTED; break;
    case ErrorCode::Internal: code = grpc::StatusCode::INTERNAL; break;
    case ErrorCode::Canceled: code = grpc::StatusCode::CANCELLED; break;
    case ErrorCode::DeadlineExceeded: code = grpc::StatusCode::DEADLINE_EXCEEDED; break;
    case ErrorCode::Unknown: code = grpc::StatusCode::UNKNOWN; break;
  }
  const std::string& m = status.message();
  if (m.size() <= kMaxMessageBytes) {
    return {code, m};
  }
  return {code, m.substr(0, 1536) + "...(" + std::to_string(m.size()) + " bytes)..." +
                    m.substr(m.size() - 256)};
}

Status fromGrpc(const grpc::Status& status) {
  ErrorCode code = ErrorCode::Unknown;
  switch (status.error_code()) {
    case grpc::StatusCode::OK: return Status::ok();
    case grpc::StatusCode::INVALID_ARGUMENT: code = ErrorCode::InvalidArgument; break;
    case grpc::StatusCode::NOT_FOUND: code = ErrorCode::NotFound; break;
    case grpc::StatusCode::ALREADY_EXISTS: code = ErrorCode::AlreadyExists; break;
    case grpc::StatusCode::FAILED_PRECONDITION: code = ErrorCode::FailedPrecondition; break;
    case grpc::StatusCode::PERMISSION_DENIED: code = ErrorCode::PermissionDenied; break;
    case grpc::StatusCode::UNAVAILABLE: code = ErrorCode::Unavailable; break;
    case grpc::StatusCode::UNIMPLEMENTED: code = ErrorCode::Unimplemented; break;
    case grpc::StatusCode::INTERNAL: code = ErrorCode::Internal; break;
    case grpc::StatusCode::CANCELLED: code = ErrorCode::Canceled; break;
    case grpc::StatusCode::DEADLINE_EXCEEDED: code = ErrorCode::DeadlineExceeded; break;
    default: break;
  }
  return {code, status.error_message()};
}

}  // namespace nixsnap::rpc
