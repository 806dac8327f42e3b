#include "model/batch_norm_fold.h"

#include <cmath>

namespace hclip {

void fold_batch_norm(std::span<const float> w, const BatchNormStats& bn, double eps, FoldedConv& dst) {
    const auto out = static_cast<std::size_t>(dst.out), in = static_cast<std::size_t>(dst.in),
               k = static_cast<std::size_t>(dst.kernel);
    dst.weight.assign(out * k * k * in, 0.0f);
    dst.bias.assign(out, 0.0f);
    for (std::size_t o = 0; o < out; ++o) {
        const double scale = static_cast<double>(bn.gamma[o]) / std::sqrt(static_cast<double>(bn.running_var[o]) + eps);
        dst.bias[o] =
            static_cast<float>(static_cast<double>(bn.beta[o]) - static_cast<double>(bn.running_mean[o]) * scale);
        for (std::size_t c = 0; c < in; ++c) {
            for (std::size_t ky = 0; ky < k; ++ky) {
                for (std::size_t kx = 0; kx < k; ++kx) {
                    const float v = w[((o * in + c) * k + ky) * k + kx];
                    dst.weight[((o * k + ky) * k + kx) * in + c] = static_cast<float>(static_cast<double>(v) * scale);
                }
            }
        }
    }
}

}  // namespace hclip
