// Status and Result<T>: how every reckondb module reports success or a precise error.
//
// Errors are values, never exceptions, at module boundaries. Each error carries a code that the
// wire layers map in exactly one place (gRPC status + trailers, CLI exit codes) and a message
// for people. Some codes carry machine-readable details (WrongExpectedVersion, NotLeader).
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace reckon {

enum class ErrorCode : uint8_t {
  kOk = 0,
  kInvalidArgument,       // malformed input: bad UUID, invalid JSON, empty type, bad name...
  kLimitExceeded,         // an event, append, id or tag list larger than the configured limit
  kWrongExpectedVersion,  // optimistic concurrency check failed; details: expected/current
  kStreamNotFound,        // the stream has never been written (or holds no event)
  kStreamDeleted,         // the stream was soft-deleted or tombstoned
  kConditionFailed,       // a conditional (DCB) append found a matching event after P
  kIdempotencyConflict,   // some event ids of an append already exist, but not as a retry
  kNotFound,              // a snapshot or other non-stream object does not exist
  kAlreadyExists,         // e.g. a store id registered twice
  kNotLeader,             // cluster mode: this node cannot accept writes; details: leader
  kUnavailable,           // the store is shutting down or refuses writes after an I/O error
  kTimeout,               // deadline passed before the operation completed
  kCancelled,             // the caller gave up
  kIoError,               // the disk failed (full, read-only, EIO)
  kCorruption,            // stored bytes do not decode; the store refuses to guess
  kUnimplemented,         // this Store implementation does not offer the call (yet)
  kInternal,              // a bug: an invariant did not hold (keep last: code loops end here)
};

// Stable, machine-readable name of a code ("WrongExpectedVersion"); used by the CLI and logs.
std::string_view error_code_name(ErrorCode code);

struct WrongExpectedVersionInfo {
  std::string stream_id;
  int64_t expected = 0;  // as requested: N, or -1/-2/-4 for the special expectations
  int64_t current = 0;   // the stream's current last version, -1 if it has none
};

struct NotLeaderInfo {
  uint64_t leader_id = 0;  // 0 = unknown
  std::string address;     // client (gRPC) address of the leader, empty if unknown
};

class Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
  static Status limit_exceeded(std::string m) { return {ErrorCode::kLimitExceeded, std::move(m)}; }
  static Status stream_not_found(std::string_view stream);
  static Status stream_deleted(std::string_view stream);
  static Status not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status io_error(std::string m) { return {ErrorCode::kIoError, std::move(m)}; }
  static Status corruption(std::string m) { return {ErrorCode::kCorruption, std::move(m)}; }
  static Status internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
  static Status unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Status unimplemented(std::string m) { return {ErrorCode::kUnimplemented, std::move(m)}; }
  static Status wrong_expected_version(std::string stream, int64_t expected, int64_t current);
  static Status not_leader(uint64_t leader_id, std::string address);

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  const WrongExpectedVersionInfo* wrong_expected_version_info() const {
    return std::get_if<WrongExpectedVersionInfo>(&details_);
  }
  const NotLeaderInfo* not_leader_info() const { return std::get_if<NotLeaderInfo>(&details_); }

  // "WrongExpectedVersion: stream 'x' expected 3, current 5"
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::variant<std::monostate, WrongExpectedVersionInfo, NotLeaderInfo> details_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                     // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}             // NOLINT: implicit by design
  Result(ErrorCode code, std::string message) : status_(code, std::move(message)) {}

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  ErrorCode code() const { return status_.code(); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T value_or(T fallback) const& { return value_ ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;  // OK when value_ is set
};

}  // namespace reckon

// Propagate a non-OK Status from an expression returning Status.
#define RECKON_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::reckon::Status _st = (expr);            \
    if (!_st.is_ok()) return _st;             \
  } while (0)

#define RECKON_CONCAT_INNER(a, b) a##b
#define RECKON_CONCAT(a, b) RECKON_CONCAT_INNER(a, b)
// Declare `lhs` from a Result<T> expression, returning its Status on error.
#define RECKON_ASSIGN_OR_RETURN(lhs, expr) \
  RECKON_ASSIGN_OR_RETURN_IMPL(RECKON_CONCAT(_result_, __LINE__), lhs, expr)
#define RECKON_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
