// The one place where engine and service errors become HTTP status codes.
#pragma once

#include "core/status.h"

namespace hclip::server {

// kInvalidArgument/kUnsupported/kDataLoss -> 400, kNotFound -> 404, kResourceExhausted -> 413,
// kUnavailable -> 503, kDeadlineExceeded -> 504, everything else -> 500.
int http_status_for(const Status& status);

}  // namespace hclip::server
