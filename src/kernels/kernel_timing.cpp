#include "kernels/kernel_timing.h"

#include <algorithm>
#include <random>

#include "core/timer.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"

namespace hclip {

namespace {

bool always() {
    return true;
}

class PlainGemm final : public PreparedGemm {
  public:
    PlainGemm(const float* w, int n, int k) : w_(w), n_(n), k_(k) {}
    void run(const float* a, int m, float* c) const override {
        gemm_f32(
            {.m = m, .n = n_, .k = k_, .a = a, .lda = k_, .b = w_, .ldb = k_, .b_transposed = true, .c = c, .ldc = n_});
    }

  private:
    const float* w_;  // the caller's matrix, as the model's mapped weights are
    int n_, k_;
};

Result<std::unique_ptr<PreparedGemm>> prepare_plain(const float* w, int n, int k) {
    return std::unique_ptr<PreparedGemm>(new PlainGemm(w, n, k));
}

class PackedGemm final : public PreparedGemm {
  public:
    explicit PackedGemm(std::unique_ptr<const PackedWeights> w) : w_(std::move(w)) {}
    void run(const float* a, int m, float* c) const override {
        gemm_f32_packed({.m = m, .a = a, .lda = w_->k(), .b = w_.get(), .c = c, .ldc = w_->n()});
    }

  private:
    std::unique_ptr<const PackedWeights> w_;
};

Result<std::unique_ptr<PreparedGemm>> prepare_packed(const float* w, int n, int k) {
    HCLIP_ASSIGN_OR_RETURN(auto packed, PackedWeights::pack(w, n, k, k, true));
    return std::unique_ptr<PreparedGemm>(new PackedGemm(std::move(packed)));
}

constexpr GemmCandidate kCandidates[] = {
    {GemmKernel::kPlain, always, prepare_plain},
    {GemmKernel::kPacked, packed_gemm_available, prepare_packed},
};

// At least this many timed runs, and more (up to kMaxRuns) while they add up to less than kMinSeconds: a
// sub-millisecond product needs many runs before its fastest one means something.
constexpr int kMinRuns = 2, kMaxRuns = 50;
constexpr double kMinSeconds = 0.0005;

}  // namespace

std::span<const GemmCandidate> gemm_candidates() {
    return kCandidates;
}

std::vector<GemmKernel> available_gemm_kernels() {
    std::vector<GemmKernel> kernels;
    for (const GemmCandidate& c : gemm_candidates()) {
        if (c.available()) kernels.push_back(c.kernel);
    }
    return kernels;
}

struct GemmKernelTimer::Operands {
    GemmShape shape;
    std::vector<float> a, w, c;
    std::vector<std::pair<GemmKernel, std::unique_ptr<PreparedGemm>>> prepared;
};

GemmKernelTimer::GemmKernelTimer() = default;
GemmKernelTimer::~GemmKernelTimer() = default;

Result<double> GemmKernelTimer::seconds(GemmShape shape, int m, GemmKernel kernel) {
    if (shape.n <= 0 || shape.k <= 0 || m <= 0) return invalid_argument("gemm timing: bad shape");
    const auto rows = static_cast<std::size_t>(std::max(m, gemm_row_buckets().back()));
    const auto n = static_cast<std::size_t>(shape.n), k = static_cast<std::size_t>(shape.k);
    if (!operands_ || operands_->shape != shape || operands_->a.size() < rows * k) {
        operands_ = std::make_unique<Operands>();
        operands_->shape = shape;
        std::mt19937 rng(12345);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        operands_->a.resize(rows * k);
        operands_->w.resize(n * k);
        operands_->c.resize(rows * n);
        for (float& x : operands_->a)
            x = dist(rng);
        for (float& x : operands_->w)
            x = dist(rng);
    }
    const PreparedGemm* gemm = nullptr;
    for (const auto& [id, p] : operands_->prepared) {
        if (id == kernel) gemm = p.get();
    }
    if (gemm == nullptr) {
        const auto* candidate = std::find_if(kCandidates, std::end(kCandidates),
                                             [&](const GemmCandidate& c) { return c.kernel == kernel; });
        if (candidate == std::end(kCandidates) || !candidate->available()) {
            return unsupported("gemm kernel " + std::string(gemm_kernel_name(kernel)) + " is not in this build");
        }
        HCLIP_ASSIGN_OR_RETURN(auto prepared, candidate->prepare(operands_->w.data(), shape.n, shape.k));
        gemm = prepared.get();
        operands_->prepared.emplace_back(kernel, std::move(prepared));
    }
    gemm->run(operands_->a.data(), m, operands_->c.data());  // warm-up: JIT, scratch, caches
    double fastest = 1e30, total = 0.0;
    for (int run = 0; run < kMaxRuns && (run < kMinRuns || total < kMinSeconds); ++run) {
        Stopwatch sw;
        gemm->run(operands_->a.data(), m, operands_->c.data());
        const double s = sw.elapsed_ms() / 1000.0;
        fastest = std::min(fastest, s);
        total += s;
    }
    return fastest;
}

}  // namespace hclip
