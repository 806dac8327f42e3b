#include "backends/hailo/text_host.h"

#include <cstring>

namespace hclip::hailo {

void gather_token_rows(std::span<const std::int32_t> ids, int eot, const TextConfig& config, const NpyArray& lut,
                       std::span<float> rows) {
    const std::size_t w = lut.shape[1];
    const auto ctx = static_cast<std::size_t>(config.context_length);
    for (std::size_t t = 0; t < ctx; ++t) {
        const std::int32_t id = t <= static_cast<std::size_t>(eot) && t < ids.size() ? ids[t] : config.eot_token;
        std::memcpy(rows.data() + t * w, lut.data.data() + static_cast<std::size_t>(id) * w, w * sizeof(float));
    }
}

void project_pooled_row(std::span<const float> row, const NpyArray& projection, std::span<float> out) {
    const std::size_t w = projection.shape[0], e = projection.shape[1];
    const float* p = projection.data.data();
    for (std::size_t i = 0; i < e; ++i) {
        double acc = 0.0;
        for (std::size_t j = 0; j < w; ++j)
            acc += static_cast<double>(row[j]) * static_cast<double>(p[j * e + i]);
        out[i] = static_cast<float>(acc);
    }
}

}  // namespace hclip::hailo
