// result.h — Status and Result<T>: expected errors as values.
//
// slogate's error policy: an error that a caller can act on (bad input, an
// unreachable server, a conflict) travels as a value; only broken invariants
// inside slogate itself may abort. No exception crosses a module boundary:
// modules that wrap throwing libraries (yaml-cpp, cpprestsdk) catch and convert
// at their edge. The codes are few on purpose; `httpStatus()` maps them to HTTP
// in one place.
//
//   Result<Fixed> r = Fixed::parse("99.9");
//   if (!r) return r.status();          // propagate
//   Fixed f = *r;
//
// Thread safety: value types; distinct objects may be used from any thread.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace slogate {

// The handful of error kinds slogate distinguishes.
enum class Code {
  kOk,
  kInvalidArgument,   // the input is wrong; retrying will not help (CLI exit 2)
  kNotFound,          // the named thing does not exist
  kConflict,          // optimistic-concurrency conflict; re-read and retry
  kUnavailable,       // a dependency could not be reached; retry later (CLI exit 1)
  kDeadline,          // a dependency was too slow
  kInternal,          // slogate or a dependency broke a contract
  kExpired,           // a resourceVersion too old to watch from (HTTP 410): relist
  kPermissionDenied,  // not authenticated or not allowed (HTTP 401/403)
};

// Name of a code, for logs ("invalid argument").
const char* codeName(Code code);

// HTTP status for a code: the one mapping used by every server surface.
int httpStatus(Code code);

// An error code with a one-line, human-readable message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid argument: <message>"
  std::string toString() const;

  // A copy whose message is prefixed with `context + ": "`.
  Status withContext(const std::string& context) const;

 private:
  Code code_ = Code::kOk;  // kOk means success
  std::string message_;    // empty on success
};

inline Status invalidArgument(std::string message) {
  return {Code::kInvalidArgument, std::move(message)};
}
inline Status unavailable(std::string message) {
  return {Code::kUnavailable, std::move(message)};
}
inline Status internalError(std::string message) {
  return {Code::kInternal, std::move(message)};
}
inline Status notFound(std::string message) {
  return {Code::kNotFound, std::move(message)};
}

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.isOk() && "Result constructed from an OK status without a value");
    if (status_.isOk()) status_ = internalError("Result built from OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }

  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;  // set on success
  Status status_;           // non-OK on failure
};

}  // namespace slogate
