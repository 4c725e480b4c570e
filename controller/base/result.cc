#include "base/result.h"

namespace slogate {

const char* codeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kConflict:
      return "conflict";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kDeadline:
      return "deadline exceeded";
    case Code::kInternal:
      return "internal error";
    case Code::kExpired:
      return "expired";
    case Code::kPermissionDenied:
      return "permission denied";
  }
  return "unknown";
}

int httpStatus(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 400;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kUnavailable:
      return 503;
    case Code::kDeadline:
      return 504;
    case Code::kInternal:
      return 500;
    case Code::kExpired:
      return 410;
    case Code::kPermissionDenied:
      return 403;
  }
  return 500;
}

std::string Status::toString() const {
  if (isOk()) return "ok";
  return std::string(codeName(code_)) + ": " + message_;
}

Status Status::withContext(const std::string& context) const {
  if (isOk()) return *this;
  return {code_, context + ": " + message_};
}

}  // namespace slogate
