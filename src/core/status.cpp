#include "core/status.h"

namespace hclip {

std::string_view status_code_name(StatusCode code) {
    switch (code) {
        case StatusCode::kOk:
            return "ok";
        case StatusCode::kInvalidArgument:
            return "invalid argument";
        case StatusCode::kNotFound:
            return "not found";
        case StatusCode::kUnsupported:
            return "unsupported";
        case StatusCode::kDataLoss:
            return "data loss";
        case StatusCode::kResourceExhausted:
            return "resource exhausted";
        case StatusCode::kUnavailable:
            return "unavailable";
        case StatusCode::kDeadlineExceeded:
            return "deadline exceeded";
        case StatusCode::kInternal:
            return "internal error";
    }
    return "unknown";
}

std::string Status::to_string() const {
    if (ok()) return "ok";
    std::string out(status_code_name(code_));
    out += ": ";
    out += message_;
    return out;
}

Status Status::with_context(std::string_view context) const {
    if (ok()) return *this;
    std::string m(context);
    m += ": ";
    m += message_;
    return {code_, std::move(m)};
}

}  // namespace hclip
