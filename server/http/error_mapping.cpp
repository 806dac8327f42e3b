#include "server/http/error_mapping.h"

namespace hclip::server {

int http_status_for(const Status& status) {
    switch (status.code()) {
        case StatusCode::kOk:
            return 200;
        case StatusCode::kInvalidArgument:
        case StatusCode::kUnsupported:  // e.g. an image variant we do not decode: the client can send another
        case StatusCode::kDataLoss:
            return 400;
        case StatusCode::kNotFound:
            return 404;
        case StatusCode::kResourceExhausted:
            return 413;
        case StatusCode::kUnavailable:
            return 503;
        case StatusCode::kDeadlineExceeded:
            return 504;
        case StatusCode::kInternal:
            return 500;
    }
    return 500;
}

}  // namespace hclip::server
