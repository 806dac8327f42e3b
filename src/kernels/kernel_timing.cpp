#include "kernels/kernel_timing.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "core/timer.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"

namespace hclip {

namespace {

bool float32_only(PackedType products) {
    return products == PackedType::kF32;
}

class PlainGemm final : public PreparedGemm {
  public:
    PlainGemm(const float* w, int n, int k) : w_(w), n_(n), k_(k) {}
    void run(const float* a, int m, float* c) const override {
        gemm_f32(
            {.m = m, .n = n_, .k = k_, .a = a, .lda = k_, .b = w_, .ldb = k_, .b_transposed = true, .c = c, .ldc = n_});
    }
    Result<std::unique_ptr<PreparedGemm>> copy(const float* w) const override {
        return std::unique_ptr<PreparedGemm>(new PlainGemm(w, n_, k_));
    }

  private:
    const float* w_;  // the caller's matrix, as the model's mapped weights are
    int n_, k_;
};

Result<std::unique_ptr<PreparedGemm>> prepare_plain(const float* w, int n, int k, PackedType) {
    return std::unique_ptr<PreparedGemm>(new PlainGemm(w, n, k));
}

class PackedGemm final : public PreparedGemm {
  public:
    PackedGemm(std::unique_ptr<const PackedWeights> w, bool panels) : w_(std::move(w)), panels_(panels) {}
    void run(const float* a, int m, float* c) const override {
        gemm_f32_packed({.m = m, .a = a, .lda = w_->k(), .b = w_.get(), .c = c, .ldc = w_->n(), .panels = panels_});
    }
    Result<std::unique_ptr<PreparedGemm>> copy(const float*) const override {
        HCLIP_ASSIGN_OR_RETURN(auto w, w_->copy());
        return std::unique_ptr<PreparedGemm>(new PackedGemm(std::move(w), panels_));
    }

  private:
    std::unique_ptr<const PackedWeights> w_;
    bool panels_;
};

bool packed_available(PackedType products) {
    return packed_gemm_available() && (products == PackedType::kF32 || packed_bf16_support().ok());
}

Result<std::unique_ptr<PreparedGemm>> prepare_packed(const float* w, int n, int k, PackedType products) {
    HCLIP_ASSIGN_OR_RETURN(auto packed, PackedWeights::pack(w, n, k, k, true, products));
    return std::unique_ptr<PreparedGemm>(new PackedGemm(std::move(packed), false));
}

bool panels_available(PackedType products) {
    return packed_available(products) && panel_kernel_available(products);
}

Result<std::unique_ptr<PreparedGemm>> prepare_panels(const float* w, int n, int k, PackedType products) {
    HCLIP_ASSIGN_OR_RETURN(auto packed, PackedWeights::pack(w, n, k, k, true, products, PackedLayout::kPanels));
    return std::unique_ptr<PreparedGemm>(new PackedGemm(std::move(packed), true));
}

constexpr GemmCandidate kCandidates[] = {
    {GemmKernel::kPlain, float32_only, prepare_plain},
    {GemmKernel::kPacked, packed_available, prepare_packed},
    {GemmKernel::kPanels, panels_available, prepare_panels},
};

// Products of up to this many rows are timed with their weights coming from memory, as in a tower pass of one
// image or one prompt (which streams hundreds of MB of weights, far more than any cache): the timer cycles
// through copies of the weights (gemm_timing_copies). Past it each weight serves enough arithmetic that where it
// comes from hardly matters, and the products are timed on one copy.
constexpr int kMaxRowsTimedFromMemory = 64;

// The last-level cache one core sees, from sysfs (per cache instance: an EPYC's L3 of one core complex, which is
// what a process on a few cores fills). glibc's sysconf is no help in virtual machines (it reported the host's
// whole 384 MB as one L3 on a 32 MB guest). Unknown: 32 MiB, a large L3.
std::size_t last_level_cache_bytes() {
    std::size_t bytes = 0;
    int best_level = 0;
    for (int index = 0; index < 8; ++index) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
        std::ifstream level_file(dir + "level"), size_file(dir + "size");
        int level = 0;
        std::string size;
        if (!(level_file >> level) || !(size_file >> size) || size.empty() || level < best_level) continue;
        std::size_t value = 0;
        std::size_t used = 0;
        try {
            value = std::stoul(size, &used);
        } catch (const std::exception&) {
            continue;
        }
        const char unit = used < size.size() ? size[used] : 'B';
        value <<= unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 0;
        if (value > 0) {
            best_level = level;
            bytes = value;
        }
    }
    return bytes > 0 ? bytes : std::size_t{32} << 20;
}

}  // namespace

int gemm_timing_copies(GemmShape shape, PackedType products, std::size_t cache_bytes) {
    const std::size_t element = products == PackedType::kBf16 ? 2 : sizeof(float);
    const std::size_t bytes = static_cast<std::size_t>(shape.n) * static_cast<std::size_t>(shape.k) * element;
    const std::size_t past_cache = (3 * cache_bytes / 2 + bytes - 1) / bytes;
    const std::size_t most = std::clamp<std::size_t>(kMaxTimingCopyBytes / bytes, 1, 48);
    return static_cast<int>(std::clamp<std::size_t>(past_cache, 1, most));
}

namespace {

// At least this many timed runs, and more (up to kMaxRuns) while they add up to less than kMinSeconds: a
// sub-millisecond product needs many runs before its fastest one means something.
constexpr int kMinRuns = 2, kMaxRuns = 50;
constexpr double kMinSeconds = 0.0005;

}  // namespace

std::span<const GemmCandidate> gemm_candidates() {
    return kCandidates;
}

std::vector<GemmKernel> available_gemm_kernels(PackedType products) {
    std::vector<GemmKernel> kernels;
    for (const GemmCandidate& c : gemm_candidates()) {
        if (c.available(products)) kernels.push_back(c.kernel);
    }
    return kernels;
}

struct GemmKernelTimer::Operands {
    GemmShape shape;
    int copies = 1;              // of the weights, for timing from memory
    std::vector<float> a, w, c;  // w: `copies` copies of one random matrix
    // Per kernel, one prepared matrix per copy of w (made as timings need them).
    std::vector<std::pair<GemmKernel, std::vector<std::unique_ptr<PreparedGemm>>>> prepared;
};

GemmKernelTimer::GemmKernelTimer(PackedType products) : products_(products) {}
GemmKernelTimer::~GemmKernelTimer() = default;

Result<double> GemmKernelTimer::seconds(GemmShape shape, int m, GemmKernel kernel) {
    if (shape.n <= 0 || shape.k <= 0 || m <= 0) return invalid_argument("gemm timing: bad shape");
    const auto rows = static_cast<std::size_t>(std::max(m, gemm_row_buckets().back()));
    const auto n = static_cast<std::size_t>(shape.n), k = static_cast<std::size_t>(shape.k);
    if (!operands_ || operands_->shape != shape || operands_->a.size() < rows * k) {
        operands_ = std::make_unique<Operands>();
        operands_->shape = shape;
        operands_->copies = gemm_timing_copies(shape, products_, last_level_cache_bytes());
        std::mt19937 rng(12345);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        operands_->a.resize(rows * k);
        operands_->w.resize(n * k * static_cast<std::size_t>(operands_->copies));
        operands_->c.resize(rows * n);
        for (float& x : operands_->a)
            x = dist(rng);
        for (std::size_t i = 0; i < n * k; ++i)
            operands_->w[i] = dist(rng);
        for (int copy = 1; copy < operands_->copies; ++copy)
            std::memcpy(operands_->w.data() + n * k * static_cast<std::size_t>(copy), operands_->w.data(),
                        n * k * sizeof(float));
    }
    const int copies = m <= kMaxRowsTimedFromMemory ? operands_->copies : 1;
    const auto* candidate =
        std::find_if(kCandidates, std::end(kCandidates), [&](const GemmCandidate& c) { return c.kernel == kernel; });
    if (candidate == std::end(kCandidates) || !candidate->available(products_)) {
        return unsupported("gemm kernel " + std::string(gemm_kernel_name(kernel)) + " is not in this build" +
                           (products_ == PackedType::kBf16 ? " for bf16 products" : ""));
    }
    std::vector<std::unique_ptr<PreparedGemm>>* prepared = nullptr;
    for (auto& [id, p] : operands_->prepared) {
        if (id == kernel) prepared = &p;
    }
    if (prepared == nullptr) {
        prepared = &operands_->prepared.emplace_back(kernel, std::vector<std::unique_ptr<PreparedGemm>>{}).second;
    }
    if (prepared->empty()) {
        HCLIP_ASSIGN_OR_RETURN(auto first, candidate->prepare(operands_->w.data(), shape.n, shape.k, products_));
        prepared->push_back(std::move(first));
    }
    while (static_cast<int>(prepared->size()) < copies) {
        HCLIP_ASSIGN_OR_RETURN(auto next, prepared->front()->copy(operands_->w.data() + n * k * prepared->size()));
        prepared->push_back(std::move(next));
    }
    const auto pass = [&] {
        for (int copy = 0; copy < copies; ++copy)
            (*prepared)[static_cast<std::size_t>(copy)]->run(operands_->a.data(), m, operands_->c.data());
    };
    prepared->front()->run(operands_->a.data(), m, operands_->c.data());  // warm-up: JIT, scratch
    double fastest = 1e30, total = 0.0;
    for (int run = 0; run < kMaxRuns && (run < kMinRuns || total < kMinSeconds); ++run) {
        Stopwatch sw;
        pass();
        const double s = sw.elapsed_ms() / 1000.0;
        fastest = std::min(fastest, s / copies);
        total += s;
    }
    return fastest;
}

}  // namespace hclip
