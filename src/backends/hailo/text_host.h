// The host side of the Hailo CLIP text encoder, around the HEF: the token-embedding rows fed in, and the
// projection of the row at the first end-of-text token that comes out. Free functions, so tests can check each
// against the CPU tower and prove the comparison catches a known mistake (tests/unit/hailo_backend_test.cpp).
#pragma once

#include <cstdint>
#include <span>

#include "io/npy.h"
#include "model/clip_config.h"

namespace hclip::hailo {

// rows: [context_length, width] from `lut` ([vocab, width]). Rows up to `eot` are the ids' rows; rows after it
// repeat the end-of-text token's row, as the HEF's calibration data did (attention is causal, so they cannot
// change the pooled row).
void gather_token_rows(std::span<const std::int32_t> ids, int eot, const TextConfig& config, const NpyArray& lut,
                       std::span<float> rows);

// out[i] = sum_j row[j] * projection[j][i], with projection [width, embed] row-major, accumulated in double.
void project_pooled_row(std::span<const float> row, const NpyArray& projection, std::span<float> out);

}  // namespace hclip::hailo
