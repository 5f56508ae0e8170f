#pragma once
// The one error style of fallible calls in the libraries: a Result<T> holds either a value or an
// Error, and the Error says which kind of failure it is, so that each caller decides once:
//   transient - may succeed later (a store or Stripe unreachable, Redis OOM or LOADING, ...):
//               retry with backoff, answer 503, commit nothing;
//   permanent - will never succeed as it is (a script error raised on the record's data,
//               WRONGTYPE on our key): dead-letter it, answer 4xx/5xx, do not retry;
//   bad_input - the caller's input is wrong (a malformed setting, request or answer).
// `code` is short, fixed and machine-readable (a metric label: "oom", "connection", ...);
// `message` is for people and never holds a secret.
#include <string>
#include <utility>
#include <variant>

namespace stripe_sync {

enum class ErrorClass { transient, permanent, bad_input };

struct Error {
  ErrorClass cls = ErrorClass::transient;
  std::string code;
  std::string message;
  bool transient() const { return cls == ErrorClass::transient; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit, as std::expected
  Result(Error e) : v_(std::move(e)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For calls that return nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace stripe_sync
