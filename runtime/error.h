// Errors: every failure a user can cause is a typed exception derived from sluice::Error,
// carrying a code and a message that names the node, op, dtypes and shapes involved.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace sluice {

enum class ErrorCode {
  invalid_argument,     // bad shapes, dtypes, attrs, values
  not_found,            // unknown op, tensor, variable or file
  already_exists,       // a name or registration that must be unique is taken
  failed_precondition,  // e.g. reading an uninitialised variable
  out_of_range,         // index past the end (gather indices, file offsets)
  resource_exhausted,   // allocation larger than the process may make
  data_loss,            // corrupt or truncated files, checksum mismatch
  unimplemented,        // a valid request this build cannot do
  internal,             // a broken invariant inside Sluice (a bug)
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

#define SLUICE_DEFINE_ERROR(Name, code_value)                                     \
  class Name : public Error {                                                     \
   public:                                                                        \
    explicit Name(const std::string& message) : Error(code_value, message) {}    \
  };
SLUICE_DEFINE_ERROR(InvalidArgument, ErrorCode::invalid_argument)
SLUICE_DEFINE_ERROR(NotFound, ErrorCode::not_found)
SLUICE_DEFINE_ERROR(AlreadyExists, ErrorCode::already_exists)
SLUICE_DEFINE_ERROR(FailedPrecondition, ErrorCode::failed_precondition)
SLUICE_DEFINE_ERROR(OutOfRange, ErrorCode::out_of_range)
SLUICE_DEFINE_ERROR(ResourceExhausted, ErrorCode::resource_exhausted)
SLUICE_DEFINE_ERROR(DataLoss, ErrorCode::data_loss)
SLUICE_DEFINE_ERROR(Unimplemented, ErrorCode::unimplemented)
SLUICE_DEFINE_ERROR(Internal, ErrorCode::internal)
#undef SLUICE_DEFINE_ERROR

// Throws the Error subclass that matches `code` (used to re-throw with added context
// while keeping the type).
[[noreturn]] void throw_error(ErrorCode code, const std::string& message);

namespace detail {
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace sluice

// SLUICE_REQUIRE(cond, ErrorType, message parts...): the one way kernels, shape functions
// and readers validate their input. Message parts are streamed together.
#define SLUICE_REQUIRE(cond, ErrorType, ...)                              \
  do {                                                                    \
    if (!(cond)) throw ::sluice::ErrorType(::sluice::detail::str_cat(__VA_ARGS__)); \
  } while (0)
