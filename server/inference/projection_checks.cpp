#include "server/inference/projection_checks.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace hclip::server {

namespace {

double row_norm(std::span<const float> row) {
    double sq = 0.0;
    for (float x : row)
        sq += static_cast<double>(x) * static_cast<double>(x);
    return std::sqrt(sq);
}

}  // namespace

Status check_raw_projections(std::span<const float> rows, std::size_t dim, const char* what) {
    if (dim == 0 || rows.size() < 2 * dim) return internal_error(std::string("two ") + what + "s were expected");
    const auto a = rows.first(dim), b = rows.subspan(dim, dim);
    for (float x : rows) {
        if (!std::isfinite(x)) return internal_error(std::string("the model produced a non-finite ") + what);
    }
    const double na = row_norm(a), nb = row_norm(b);
    if (!(na > 1e-6 && nb > 1e-6)) return internal_error(std::string("the model produced an all-zero ") + what);
    double diff_sq = 0.0;
    for (std::size_t i = 0; i < dim; ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        diff_sq += d * d;
    }
    // A tower that ignores its input (a constant or bias-only output, pixels or tokens that never reach it) gives the
    // same vector bit for bit. Any difference counts: small random-weight models legitimately separate a grey square
    // from a pattern by as little as 1e-7 of the norm (the tiny ResNet fixture), so a relative bound would refuse them.
    if (diff_sq == 0.0) {
        return internal_error(std::string("the model produced the same ") + what +
                              " for two different inputs: it ignores its input");
    }
    return {};
}

}  // namespace hclip::server
