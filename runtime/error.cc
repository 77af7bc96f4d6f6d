#include "error.h"

namespace sluice {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "InvalidArgument";
    case ErrorCode::not_found: return "NotFound";
    case ErrorCode::already_exists: return "AlreadyExists";
    case ErrorCode::failed_precondition: return "FailedPrecondition";
    case ErrorCode::out_of_range: return "OutOfRange";
    case ErrorCode::resource_exhausted: return "ResourceExhausted";
    case ErrorCode::data_loss: return "DataLoss";
    case ErrorCode::unimplemented: return "Unimplemented";
    case ErrorCode::internal: return "Internal";
  }
  return "Unknown";
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

void throw_error(ErrorCode code, const std::string& message) {
  switch (code) {
    case ErrorCode::invalid_argument: throw InvalidArgument(message);
    case ErrorCode::not_found: throw NotFound(message);
    case ErrorCode::already_exists: throw AlreadyExists(message);
    case ErrorCode::failed_precondition: throw FailedPrecondition(message);
    case ErrorCode::out_of_range: throw OutOfRange(message);
    case ErrorCode::resource_exhausted: throw ResourceExhausted(message);
    case ErrorCode::data_loss: throw DataLoss(message);
    case ErrorCode::unimplemented: throw Unimplemented(message);
    case ErrorCode::internal: throw Internal(message);
  }
  throw Internal(message);
}

}  // namespace sluice
