// Errors as values: every recoverable failure inside the engine is a Status or a Result<T>.
// Exceptions never cross the library boundary; the CLI and server map Status to exit codes / HTTP.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace hclip {

enum class StatusCode {
    kOk = 0,
    kInvalidArgument,    // the caller's input is wrong (bad image, bad text, bad option)
    kNotFound,           // a file or tensor does not exist
    kUnsupported,        // recognised but not implemented (e.g. ResNet checkpoints)
    kDataLoss,           // a file is truncated or malformed
    kResourceExhausted,  // over a configured limit (pixels, size)
    kUnavailable,        // a device or service is not ready
    kDeadlineExceeded,
    kInternal,  // a bug or an unexpected library failure
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok_status() { return {}; }
    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    const std::string& message() const { return message_; }
    // "invalid argument: <message>", for logs and CLI output.
    std::string to_string() const;

    // Adds outer context: "loading model: <inner message>".
    Status with_context(std::string_view context) const;

  private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
};

inline Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status not_found(std::string m) {
    return {StatusCode::kNotFound, std::move(m)};
}
inline Status unsupported(std::string m) {
    return {StatusCode::kUnsupported, std::move(m)};
}
inline Status data_loss(std::string m) {
    return {StatusCode::kDataLoss, std::move(m)};
}
inline Status resource_exhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status unavailable(std::string m) {
    return {StatusCode::kUnavailable, std::move(m)};
}
inline Status deadline_exceeded(std::string m) {
    return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status internal_error(std::string m) {
    return {StatusCode::kInternal, std::move(m)};
}

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
    Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
        if (std::get<Status>(data_).ok()) data_ = Status(StatusCode::kInternal, "Result built from an OK status");
    }

    bool ok() const { return std::holds_alternative<T>(data_); }
    const Status& status() const {
        static const Status kOk;
        return ok() ? kOk : std::get<Status>(data_);
    }
    T& value() & { return std::get<T>(data_); }
    const T& value() const& { return std::get<T>(data_); }
    T&& value() && { return std::get<T>(std::move(data_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

  private:
    std::variant<T, Status> data_;
};

}  // namespace hclip

#define HCLIP_CONCAT_INNER(a, b) a##b
#define HCLIP_CONCAT(a, b) HCLIP_CONCAT_INNER(a, b)

#define HCLIP_RETURN_IF_ERROR(expr)                    \
    do {                                               \
        ::hclip::Status hclip_status_ = (expr);        \
        if (!hclip_status_.ok()) return hclip_status_; \
    } while (0)

#define HCLIP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
    auto tmp = (expr);                              \
    if (!tmp.ok()) return tmp.status();             \
    lhs = std::move(tmp).value()

// HCLIP_ASSIGN_OR_RETURN(auto x, make_x());
#define HCLIP_ASSIGN_OR_RETURN(lhs, expr) HCLIP_ASSIGN_OR_RETURN_IMPL(HCLIP_CONCAT(hclip_result_, __LINE__), lhs, expr)
