#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nixsnap {

/// Error classes. They mirror containerd's errdefs so they map one to one onto gRPC
/// codes at the service edge (see toGrpc in common/grpc_status.h).
enum class ErrorCode {
  Ok,
  Unknown,
  InvalidArgument,
  NotFound,
  AlreadyExists,
  FailedPrecondition,
  PermissionDenied,
  Unavailable,
  Unimplemented,
  Internal,
  Canceled,
  DeadlineExceeded,
};

/// Lower-case name of a code, e.g. "not found"; used in log fields and messages.
std::string_view errorCodeName(ErrorCode code);

/// Outcome of an operation: Ok, or an error class with a message shaped
/// "verb-ing object: cause". Component interfaces return Status or Result<T>; they do
/// not throw.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == ErrorCode::Ok; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// Prefixes context and keeps the class: wrap("preparing gc roots") turns
  /// "nix-store exited 1" into "preparing gc roots: nix-store exited 1".
  Status wrap(std::string_view context) const;

  /// "<code name>: <message>", for logs and CLI errors.
  std::string toString() const;

  /// Explicitly drops a status whose failure the caller has already handled.
  void ignore() const {}

 private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

inline Status invalidArgument(std::string m) { return {ErrorCode::InvalidArgument, std::move(m)}; }
inline Status notFound(std::string m) { return {ErrorCode::NotFound, std::move(m)}; }
inline Status alreadyExists(std::string m) { return {ErrorCode::AlreadyExists, std::move(m)}; }
inline Status failedPrecondition(std::string m) {
  return {ErrorCode::FailedPrecondition, std::move(m)};
}
inline Status unavailable(std::string m) { return {ErrorCode::Unavailable, std::move(m)}; }
inline Status internalError(std::string m) { return {ErrorCode::Internal, std::move(m)}; }
inline Status unimplemented(std::string m) { return {ErrorCode::Unimplemented, std::move(m)}; }

/// Maps an errno value to the error class containerd would use for it
/// (ENOENT -> NotFound, EEXIST -> AlreadyExists, EACCES/EPERM -> PermissionDenied,
/// EINVAL -> InvalidArgument, ENOTEMPTY/EBUSY -> FailedPrecondition, else Internal).
ErrorCode errorCodeFromErrno(int err);

/// Status for a failed system call: "<what>: <strerror(err)>".
Status errnoStatus(int err, std::string_view what);

/// A value or an error Status. Accessing value() of an error is a programming error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool isOk() const { return std::holds_alternative<T>(v_); }
  /// Ok for a value, otherwise the error.
  Status status() const { return isOk() ? Status::ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace nixsnap

/// Returns early with the status of `expr` when it is an error.
#define NIXSNAP_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::nixsnap::Status nixsnap_st_ = (expr);      \
    if (!nixsnap_st_.isOk()) return nixsnap_st_; \
  } while (0)
