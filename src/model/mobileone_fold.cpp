#include "model/mobileone_fold.h"

#include <cmath>

namespace hclip {

namespace {

std::size_t sz(int a) {
    return static_cast<std::size_t>(a);
}

double bn_scale(const BatchNormStats& bn, std::size_t o, double eps) {
    return static_cast<double>(bn.gamma[o]) / std::sqrt(static_cast<double>(bn.running_var[o]) + eps);
}

}  // namespace

RepKernel RepKernel::zeros(int out, int in_per_group, int kernel) {
    RepKernel k;
    k.out = out;
    k.in_per_group = in_per_group;
    k.kernel = kernel;
    k.weight.assign(sz(out) * sz(in_per_group) * sz(kernel) * sz(kernel), 0.0);
    k.bias.assign(sz(out), 0.0);
    return k;
}

void add_conv_bn(RepKernel& k, std::span<const float> w, int branch_kernel, const BatchNormStats& bn, double eps) {
    const int pad = (k.kernel - branch_kernel) / 2;
    for (int o = 0; o < k.out; ++o) {
        const double s = bn_scale(bn, sz(o), eps);
        k.bias[sz(o)] += static_cast<double>(bn.beta[sz(o)]) - static_cast<double>(bn.running_mean[sz(o)]) * s;
        for (int c = 0; c < k.in_per_group; ++c) {
            for (int y = 0; y < branch_kernel; ++y) {
                for (int x = 0; x < branch_kernel; ++x) {
                    const std::size_t src =
                        ((sz(o) * sz(k.in_per_group) + sz(c)) * sz(branch_kernel) + sz(y)) * sz(branch_kernel) + sz(x);
                    k.at(o, c, y + pad, x + pad) += static_cast<double>(w[src]) * s;
                }
            }
        }
    }
}

void add_identity_bn(RepKernel& k, const BatchNormStats& bn, double eps) {
    const int centre = k.kernel / 2;
    for (int o = 0; o < k.out; ++o) {
        const double s = bn_scale(bn, sz(o), eps);
        k.at(o, o % k.in_per_group, centre, centre) += s;
        k.bias[sz(o)] += static_cast<double>(bn.beta[sz(o)]) - static_cast<double>(bn.running_mean[sz(o)]) * s;
    }
}

void add_identity(RepKernel& k, double scale) {
    const int centre = k.kernel / 2;
    for (int o = 0; o < k.out; ++o)
        k.at(o, o % k.in_per_group, centre, centre) += scale;
}

void add_conv(RepKernel& k, std::span<const float> w, std::span<const float> b) {
    for (std::size_t i = 0; i < k.weight.size(); ++i)
        k.weight[i] += static_cast<double>(w[i]);
    for (std::size_t o = 0; o < k.bias.size(); ++o)
        k.bias[o] += static_cast<double>(b[o]);
}

RepKernel combine_scaled_difference(const RepKernel& a, const RepKernel& b, const RepKernel& c,
                                    std::span<const float> scale) {
    RepKernel r = a;
    const std::size_t per_out = r.weight.size() / sz(r.out);
    for (std::size_t o = 0; o < sz(r.out); ++o) {
        const double s = static_cast<double>(scale[o]);
        for (std::size_t i = o * per_out; i < (o + 1) * per_out; ++i)
            r.weight[i] += s * (b.weight[i] - c.weight[i]);
        r.bias[o] += s * (b.bias[o] - c.bias[o]);
    }
    return r;
}

void scale_outputs(RepKernel& k, std::span<const float> scale) {
    const std::size_t per_out = k.weight.size() / sz(k.out);
    for (std::size_t o = 0; o < sz(k.out); ++o) {
        const double s = static_cast<double>(scale[o]);
        for (std::size_t i = o * per_out; i < (o + 1) * per_out; ++i)
            k.weight[i] *= s;
        k.bias[o] *= s;
    }
}

FoldedConv to_dense_conv(const RepKernel& k, int stride) {
    FoldedConv f;
    f.in = k.in_per_group;
    f.out = k.out;
    f.kernel = k.kernel;
    f.stride = stride;
    f.weight.assign(k.weight.size(), 0.0f);
    f.bias.assign(sz(k.out), 0.0f);
    for (int o = 0; o < k.out; ++o) {
        f.bias[sz(o)] = static_cast<float>(k.bias[sz(o)]);
        for (int y = 0; y < k.kernel; ++y)
            for (int x = 0; x < k.kernel; ++x)
                for (int c = 0; c < k.in_per_group; ++c)
                    f.weight[((sz(o) * sz(k.kernel) + sz(y)) * sz(k.kernel) + sz(x)) * sz(f.in) + sz(c)] =
                        static_cast<float>(k.at(o, c, y, x));
    }
    return f;
}

DepthwiseConv to_depthwise_conv(const RepKernel& k, int in, int stride) {
    DepthwiseConv d;
    d.in = in;
    d.out = k.out;
    d.kernel = k.kernel;
    d.stride = stride;
    d.weight.assign(k.weight.size(), 0.0f);
    d.bias.assign(sz(k.out), 0.0f);
    for (int o = 0; o < k.out; ++o) {
        d.bias[sz(o)] = static_cast<float>(k.bias[sz(o)]);
        for (int y = 0; y < k.kernel; ++y)
            for (int x = 0; x < k.kernel; ++x)
                d.weight[(sz(y) * sz(k.kernel) + sz(x)) * sz(k.out) + sz(o)] = static_cast<float>(k.at(o, 0, y, x));
    }
    return d;
}

}  // namespace hclip
