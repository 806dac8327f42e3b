// The warm-up's check of raw projections (before L2 normalization), which normalizing would hide: a tower that
// outputs zeros (they stay zero, or become NaN) or that ignores its input (every row alike).
#pragma once

#include <cstddef>
#include <span>

#include "core/status.h"

namespace hclip::server {

// `rows` holds two projections of `dim` floats, made from two different inputs. OK when each is finite and
// non-zero and they are not the same vector; otherwise an internal error naming `what`.
Status check_raw_projections(std::span<const float> rows, std::size_t dim, const char* what);

}  // namespace hclip::server
