// Packed GEMM over oneDNN's matmul primitive (Debian's libdnnl). Measured choices (docs/performance.md):
//
// - Weights are reordered once into the blocked layout the library prefers (format_tag::any). The layout
//   depends on N and K only, so it is fixed at pack time and every primitive is created for it.
// - A primitive is compiled for one M. Primitives with a run-time M exist, but oneDNN 2.6 then falls back to
//   its plain-layout GEMM, which re-packs the weights on every call again (2x slower for 7-token texts).
//   So each thread keeps a small cache of primitives keyed by shape (M, N, K); the weights are a run-time
//   argument, so all layers of a tower share one primitive per M. A miss costs ~5 us when oneDNN's own
//   primitive cache already has it, ~0.2 ms of JIT compilation otherwise.
// - A layer's bias, activation and residual add run in the primitive's epilogue (bias argument, eltwise and sum
//   post-ops: QuickGELU is oneDNN's swish with alpha 1.702), on the values while they are still in registers.
// - Scratchpads are user-provided, one per thread, so concurrent executions share nothing mutable.
// - The blocked kernels want dense operands (strided ones fall to oneDNN's reference code), so strided A or C
//   go through a per-thread contiguous staging buffer.
// - Threads: Debian builds oneDNN on OpenMP, whose threads busy-wait between products and can only be told
//   otherwise through the environment before the process starts. On a busy 2-core machine that made a 2-thread
//   product 5x slower than a 1-thread one. So oneDNN always runs single-threaded here, and a product is split
//   by columns: the weights are packed as up to one column part per core, and the process-wide compute pool
//   (kernels/compute_pool.h, whose idle threads sleep) computes the parts.
// - bf16 products (PackedType::kBf16): oneDNN 2.6 has no matmul with float32 A and bf16 B, so A is rounded to
//   bf16 per call, into the per-thread staging buffer, and the bf16 x bf16 -> f32 primitive runs on it
//   ("brg:avx512_core_bf16" on AVX512-BF16 CPUs). Everything else is as for float32.
// - Weights packed in 64-column panels (oneDNN's BA16a64b for float32, BA16a64b2a for bf16: its choices on
//   AVX-512 CPUs) can also be computed by the panel kernel (kernels/panel_gemm.h), which reads float32 A and
//   writes C in place, with no staging (bf16 A is still rounded into the staging buffer, rows of even length).
//   PackedLayout::kPanels asks for that layout by name: on AVX2 CPUs oneDNN packs float32 weights plainly ([k, n]
//   for its jit GEMM) and has only reference code for panels, so such a copy is computed by the panel kernel alone.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/bf16_convert.h"
#include "kernels/compute_pool.h"
#include "kernels/onednn_support.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"

namespace hclip {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;
using onednn::aligned_buffer;
using onednn::AlignedBuffer;
using onednn::cpu_engine;
using onednn::is_reference_impl;
using onednn::keep_single_threaded;

// What a primitive does after the product: the parts of an Epilogue that oneDNN runs itself.
struct FusedEpilogue {
    bool bias = false;
    EpilogueActivation activation = EpilogueActivation::kNone;
    bool sum = false;  // C += result (C's old values are read back)
    bool operator==(const FusedEpilogue&) const = default;
};

// A has the weights' data type (f32, or bf16 for bf16 products); C is always f32.
dnnl::matmul::primitive_desc matmul_desc(int m, int n, int k, const memory::desc& weights,
                                         const FusedEpilogue& epilogue = {}) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops post;
    if (epilogue.activation == EpilogueActivation::kQuickGelu)
        post.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.702f, 0.0f);  // x * sigmoid(1.702 x)
    if (epilogue.activation == EpilogueActivation::kGelu)
        post.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    if (epilogue.activation == EpilogueActivation::kRelu)
        post.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    if (epilogue.sum) post.append_sum(1.0f);
    attr.set_post_ops(post);
    const memory::desc a({m, k}, weights.data_type(), Tag::ab);
    const memory::desc c({m, n}, DataType::f32, Tag::ab);
    if (epilogue.bias) {
        const memory::desc bias({1, n}, DataType::f32, Tag::ab);
        return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, weights, bias, c), attr, cpu_engine());
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, weights, c), attr, cpu_engine());
}

// The column parts a matrix is packed as: one per core, in whole 64-column blocks (the library's N block).
int column_parts(int n) {
    return std::clamp((n + 63) / 64, 1, std::min(machine_cores(), 8));
}

}  // namespace

struct PackedWeights::Impl {
    struct Part {
        int n0 = 0, n = 0;  // columns [n0, n0 + n) of B
        memory::desc layout;
        AlignedBuffer data;
        int k_padded = 0;     // rows of a panel, when the layout is panels
        bool panels = false;  // the layout is 64-column panels (kernels/panel_gemm.h)
    };
    std::vector<Part> parts;
    bool panels = false;       // every part's layout is panels
    bool library_runs = true;  // oneDNN has an optimised kernel for the layout (PackedWeights::library_runs)
};

namespace {

// Whether oneDNN chose 64-column panels for weights [k, n]: for float32 BA16a64b, blocks of 16 rows x 64
// columns; for bf16 BA16a64b2a, blocks of 32 rows x 64 columns stored as 16 row pairs; k blocks consecutive
// within a 64-column panel either way. Any other layout leaves the library's kernel as the only one.
bool is_panel_layout(const memory::desc& layout, int k, int n) {
    const dnnl_memory_desc_t& d = layout.data;
    if (d.format_kind != dnnl_blocked || d.ndims != 2 || d.offset0 != 0) return false;
    if (d.padded_dims[0] < k || d.padded_dims[1] < n || d.padded_dims[1] % 64 != 0) return false;
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    const bool f32 = d.data_type == dnnl_f32 && b.inner_nblks == 2 && b.inner_blks[0] == 16 && b.inner_idxs[0] == 0 &&
                     b.inner_blks[1] == 64 && b.inner_idxs[1] == 1 && b.strides[0] == 16 * 64;
    const bool bf16 = d.data_type == dnnl_bf16 && b.inner_nblks == 3 && b.inner_blks[0] == 16 && b.inner_idxs[0] == 0 &&
                      b.inner_blks[1] == 64 && b.inner_idxs[1] == 1 && b.inner_blks[2] == 2 && b.inner_idxs[2] == 0 &&
                      b.strides[0] == 32 * 64;
    return (f32 || bf16) && b.strides[1] == d.padded_dims[0] * 64;
}

// The panel layout asked for by name (PackedLayout::kPanels).
memory::desc panel_layout(int k, int n, DataType type) {
    return memory::desc({k, n}, type, type == DataType::bf16 ? Tag::BA16a64b2a : Tag::BA16a64b);
}

}  // namespace

bool PackedWeights::has_panels() const {
    return impl_->panels && panel_kernel_available(type_);
}

bool PackedWeights::library_runs() const {
    return impl_->library_runs;
}

PackedWeights::PackedWeights(int n, int k, std::size_t bytes, PackedType type, std::unique_ptr<Impl> impl)
    : n_(n), k_(k), bytes_(bytes), type_(type), impl_(std::move(impl)) {}

PackedWeights::~PackedWeights() = default;

Result<std::unique_ptr<const PackedWeights>> PackedWeights::pack(const float* b, int n, int k, int ldb,
                                                                 bool b_transposed, PackedType type,
                                                                 PackedLayout layout) {
    if (b == nullptr || n <= 0 || k <= 0 || ldb < (b_transposed ? k : n)) {
        return invalid_argument("packed gemm: bad weight shape " + std::to_string(n) + "x" + std::to_string(k));
    }
    if (type == PackedType::kBf16) {
        // Where oneDNN has no bf16 matmul at all, asking it for a layout throws: say why instead.
        if (Status support = packed_bf16_support(); !support.ok()) return support;
    }
    if (layout == PackedLayout::kPanels && !panel_kernel_available(type)) {
        return unsupported(std::string("packed gemm: the panel kernel does not run ") +
                           (type == PackedType::kBf16 ? "bf16 products " : "") + "on this CPU");
    }
    try {
        keep_single_threaded();
        auto impl = std::make_unique<Impl>();
        // Panels by name are the library's own layout where it packs as panels itself, and have only its
        // reference code elsewhere.
        impl->library_runs = layout == PackedLayout::kLibrary || packed_library_layout_is_panels(type);
        std::size_t bytes = 0;
        const int blocks = (n + 63) / 64, parts = column_parts(n);
        dnnl::stream stream(cpu_engine());
        const DataType packed_type = type == PackedType::kBf16 ? DataType::bf16 : DataType::f32;
        for (int p = 0; p < parts; ++p) {
            Impl::Part part;
            part.n0 = std::min(n, blocks * p / parts * 64);
            part.n = std::min(n, blocks * (p + 1) / parts * 64) - part.n0;
            if (layout == PackedLayout::kPanels) {
                part.layout = panel_layout(k, part.n, packed_type);
            } else {
                // The layout the library picks for a typical activation height; it is the same for every M
                // (checked for M = 1, the one most likely to differ).
                const auto probe = matmul_desc(64, part.n, k, memory::desc({k, part.n}, packed_type, Tag::any));
                part.layout = probe.weights_desc();
                if (is_reference_impl(probe) || is_reference_impl(matmul_desc(1, part.n, k, part.layout))) {
                    return unsupported(std::string("packed gemm: oneDNN has no optimised ") +
                                       (type == PackedType::kBf16 ? "bf16 " : "") + "matmul for " + std::to_string(n) +
                                       "x" + std::to_string(k) + " weights on this CPU (" + probe.impl_info_str() +
                                       ")");
                }
            }
            part.panels = is_panel_layout(part.layout, k, part.n);
            part.k_padded = static_cast<int>(part.layout.data.padded_dims[0]);
            part.data = aligned_buffer(part.layout.get_size());
            bytes += part.layout.get_size();
            // B as oneDNN sees it: logical [k, n]; stored [n, k] means strides (1, ldb). For bf16 the reorder
            // rounds to nearest even.
            const float* first = b + static_cast<std::ptrdiff_t>(part.n0) * (b_transposed ? ldb : 1);
            const memory::desc user_md({k, part.n}, DataType::f32,
                                       b_transposed ? memory::dims{1, ldb} : memory::dims{ldb, 1});
            memory user(user_md, cpu_engine(), const_cast<float*>(first));  // only read by the reorder
            memory packed(part.layout, cpu_engine(), part.data.get());
            dnnl::reorder(user, packed).execute(stream, user, packed);
            impl->parts.push_back(std::move(part));
        }
        stream.wait();
        impl->panels =
            std::all_of(impl->parts.begin(), impl->parts.end(), [](const Impl::Part& p) { return p.panels; });
        // Widest first: gemm_f32_packed hands out its tasks in this order (see row_chunks).
        std::stable_sort(impl->parts.begin(), impl->parts.end(),
                         [](const Impl::Part& x, const Impl::Part& y) { return x.n > y.n; });
        return std::unique_ptr<const PackedWeights>(new PackedWeights(n, k, bytes, type, std::move(impl)));
    } catch (const std::bad_alloc&) {
        return resource_exhausted("packed gemm: out of memory packing " + std::to_string(n) + "x" + std::to_string(k) +
                                  " weights");
    } catch (const std::exception& e) {
        return internal_error(std::string("packed gemm: oneDNN: ") + e.what());
    }
}

Result<std::unique_ptr<const PackedWeights>> PackedWeights::copy() const {
    try {
        auto impl = std::make_unique<Impl>();
        impl->panels = impl_->panels;
        impl->library_runs = impl_->library_runs;
        for (const Impl::Part& part : impl_->parts) {
            Impl::Part c{part.n0,       part.n,     part.layout, aligned_buffer(part.layout.get_size()),
                         part.k_padded, part.panels};
            std::memcpy(c.data.get(), part.data.get(), part.layout.get_size());
            impl->parts.push_back(std::move(c));
        }
        return std::unique_ptr<const PackedWeights>(new PackedWeights(n_, k_, bytes_, type_, std::move(impl)));
    } catch (const std::bad_alloc&) {
        return resource_exhausted("packed gemm: out of memory copying packed weights");
    }
}

namespace {

struct ShapeKey {
    int m, n, k;
    FusedEpilogue epilogue;
    DataType type;  // of A and B
    bool operator==(const ShapeKey&) const = default;
};
struct ShapeKeyHash {
    std::size_t operator()(const ShapeKey& s) const {
        const std::size_t epilogue = (s.epilogue.bias ? 1u : 0u) | (s.epilogue.sum ? 2u : 0u) |
                                     (static_cast<std::size_t>(s.epilogue.activation) << 2);
        return (static_cast<std::size_t>(s.m) * 0x9E3779B1u) ^ (static_cast<std::size_t>(s.n) << 20) ^
               static_cast<std::size_t>(s.k) ^ (epilogue << 40) ^ (static_cast<std::size_t>(s.type) << 48);
    }
};

// One compiled matmul and the memory objects its arguments are bound through (data handles set per call).
struct Compiled {
    dnnl::matmul primitive;
    memory a, b, c, bias, scratchpad;
    std::size_t scratchpad_bytes = 0;
    std::unordered_map<int, memory> args;  // the memory objects above by argument, built once
};

// Texts give many distinct M values; past this many shapes the cache starts again rather than grow unbounded.
constexpr std::size_t kMaxCompiledPerThread = 256;

// Everything one thread needs to execute; never shared.
struct ThreadState {
    dnnl::stream stream{cpu_engine()};
    std::unordered_map<ShapeKey, Compiled, ShapeKeyHash> compiled;
    onednn::Scratchpad scratchpad;  // oneDNN aligns its sub-buffers from the base
    std::vector<float> staged_a, staged_c;
    std::vector<std::uint16_t> staged_a_bf16;  // A rounded for bf16 products

    Compiled& compiled_for(int m, int n, int k, const memory::desc& layout, const FusedEpilogue& epilogue) {
        const ShapeKey key{m, n, k, epilogue, layout.data_type()};
        if (auto it = compiled.find(key); it != compiled.end()) return it->second;
        if (compiled.size() >= kMaxCompiledPerThread) compiled.clear();
        const auto pd = matmul_desc(m, n, k, layout, epilogue);
        Compiled c{dnnl::matmul(pd),
                   memory(pd.src_desc(), cpu_engine(), nullptr),
                   memory(pd.weights_desc(), cpu_engine(), nullptr),
                   memory(pd.dst_desc(), cpu_engine(), nullptr),
                   memory(memory::desc({1, n}, DataType::f32, Tag::ab), cpu_engine(), nullptr),
                   memory(pd.scratchpad_desc(), cpu_engine(), nullptr),
                   pd.scratchpad_desc().get_size(),
                   {}};
        c.args = {
            {DNNL_ARG_SRC, c.a}, {DNNL_ARG_WEIGHTS, c.b}, {DNNL_ARG_DST, c.c}, {DNNL_ARG_SCRATCHPAD, c.scratchpad}};
        if (epilogue.bias) c.args.emplace(DNNL_ARG_BIAS, c.bias);
        return compiled.emplace(key, std::move(c)).first->second;
    }
};

// Only out of memory gets here: pack() already compiled a kernel for this layout. A tower pass has no error
// path, and a wrong embedding is worse than stopping, so stop loudly.
[[noreturn]] void fail(int m, int n, int k, const char* what) {
    std::fprintf(stderr, "hailo-clip: packed gemm %dx%dx%d failed: %s\n", m, n, k, what);
    std::abort();
}

ThreadState& thread_state() {
    thread_local ThreadState state;
    return state;
}

// C[:, part] = A * B[:, part] with the epilogue, on the calling thread, single-threaded inside oneDNN. A part
// written through the staging buffer gets bias and activation in the primitive and the residual add (if any)
// on the way out. A is float32, or bf16 for bf16 products.
void run_part(const PackedWeights::Impl::Part& part, int m, int k, const void* a, float* c, int ldc,
              const Epilogue& epilogue) {
    try {
        keep_single_threaded();
        ThreadState& ts = thread_state();
        const bool direct = part.n0 == 0 && part.n == ldc;
        const FusedEpilogue fused{
            .bias = epilogue.bias != nullptr, .activation = epilogue.activation, .sum = direct && epilogue.accumulate};
        float* out = c + part.n0;
        if (!direct) {
            const std::size_t size = static_cast<std::size_t>(m) * static_cast<std::size_t>(part.n);
            if (ts.staged_c.size() < size) ts.staged_c.resize(size);
            out = ts.staged_c.data();
        }
        Compiled& cp = ts.compiled_for(m, part.n, k, part.layout, fused);
        void* scratchpad = ts.scratchpad.of_size(cp.scratchpad_bytes);
        cp.a.set_data_handle(const_cast<void*>(a));
        cp.b.set_data_handle(part.data.get());
        cp.c.set_data_handle(out);
        cp.scratchpad.set_data_handle(scratchpad);
        if (fused.bias) cp.bias.set_data_handle(const_cast<float*>(epilogue.bias + part.n0));
        cp.primitive.execute(ts.stream, cp.args);
        ts.stream.wait();
        if (!direct) apply_epilogue({.accumulate = epilogue.accumulate}, out, part.n, c + part.n0, ldc, m, part.n);
    } catch (const std::exception& e) {
        fail(m, part.n, k, e.what());
    }
}

// How many row chunks a product's column parts are cut into. One, unless the parts cannot keep every core busy:
// fewer parts than cores (up to 64 output columns: a convolution's few channels) or parts of uneven widths (80
// columns are parts of 64 and 16), where a product of many rows (a convolution's pixels) is also cut by rows.
// Balanced products (a transformer's: 768 columns are 6 + 6 blocks) keep whole columns: a row cut would stream
// each part's weights once per chunk. Depends on the shape and the machine only.
constexpr int kMinRowsPerChunk = 64;

int row_chunks(const PackedWeights::Impl& w, int m) {
    const int cores = machine_cores();
    const auto parts = static_cast<int>(w.parts.size());
    int widest = 0, narrowest = w.parts.front().n;
    for (const auto& part : w.parts) {
        widest = std::max(widest, part.n);
        narrowest = std::min(narrowest, part.n);
    }
    const bool balanced = parts >= cores && 4 * narrowest >= 3 * widest;
    if (cores <= 1 || balanced) return 1;
    const int wanted = (2 * cores + parts - 1) / parts;  // about two tasks per core
    return std::clamp(m / kMinRowsPerChunk, 1, wanted);
}

}  // namespace

void gemm_f32_packed(const PackedGemmArgs& g) {
    if (g.m <= 0) return;
    const PackedWeights::Impl& w = g.b->impl();
    const int k = g.b->k();
    const void* a = g.a;
    int lda = k;
    const bool panels = (g.panels || !w.library_runs) && g.b->has_panels();
    const bool bf16 = g.b->type() == PackedType::kBf16;
    if (panels && !bf16) {
        lda = g.lda;  // read in place
    } else if (bf16) {
        // The panel kernel reads rows in pairs: an even row length, with a zero after an odd k.
        if (panels) lda = (k + 1) / 2 * 2;
        try {
            std::vector<std::uint16_t>& staged = thread_state().staged_a_bf16;
            const std::size_t size = static_cast<std::size_t>(g.m) * static_cast<std::size_t>(lda);
            if (staged.size() < size) staged.resize(size);
            if (lda == k) {
                f32_to_bf16_rows(g.a, g.m, k, g.lda, staged.data());
            } else {
                for (int r = 0; r < g.m; ++r) {
                    std::uint16_t* row = staged.data() + static_cast<std::ptrdiff_t>(r) * lda;
                    f32_to_bf16_rows(g.a + static_cast<std::ptrdiff_t>(r) * g.lda, 1, k, k, row);
                    row[k] = 0;
                }
            }
            a = staged.data();
        } catch (const std::exception& e) {
            fail(g.m, g.b->n(), k, e.what());
        }
    } else if (g.lda != k) {
        try {
            std::vector<float>& staged = thread_state().staged_a;
            const std::size_t size = static_cast<std::size_t>(g.m) * static_cast<std::size_t>(k);
            if (staged.size() < size) staged.resize(size);
            for (int r = 0; r < g.m; ++r) {
                std::memcpy(staged.data() + static_cast<std::ptrdiff_t>(r) * k,
                            g.a + static_cast<std::ptrdiff_t>(r) * g.lda, sizeof(float) * static_cast<std::size_t>(k));
            }
            a = staged.data();
        } catch (const std::exception& e) {
            fail(g.m, g.b->n(), k, e.what());
        }
    }
    const auto parts = static_cast<int>(w.parts.size());
    const std::size_t a_element = g.b->type() == PackedType::kBf16 ? sizeof(std::uint16_t) : sizeof(float);
    const int chunks = row_chunks(w, g.m);
    // Task i: rows chunk i % chunks of the part i / chunks, the widest parts first so that the pool's threads,
    // claiming tasks in order, end about together.
    const auto run = [&](int i) {
        const auto& part = w.parts[static_cast<std::size_t>(i / chunks)];
        const int chunk = i % chunks;
        const int r0 = g.m * chunk / chunks, r1 = g.m * (chunk + 1) / chunks;
        const auto* rows = static_cast<const unsigned char*>(a) + static_cast<std::size_t>(r0) * lda * a_element;
        float* c = g.c + static_cast<std::ptrdiff_t>(r0) * g.ldc;
        if (panels) {
            Epilogue e = g.epilogue;
            if (e.bias != nullptr) e.bias += part.n0;
            if (bf16) {
                panel_gemm_bf16(r1 - r0, reinterpret_cast<const std::uint16_t*>(rows), lda,
                                {.data = static_cast<const std::uint16_t*>(part.data.get()),
                                 .n = part.n,
                                 .k = k,
                                 .k_padded = part.k_padded},
                                c + part.n0, g.ldc, e);
            } else {
                panel_gemm(r1 - r0, reinterpret_cast<const float*>(rows), lda,
                           {.data = static_cast<const float*>(part.data.get()),
                            .n = part.n,
                            .k = k,
                            .k_padded = part.k_padded},
                           c + part.n0, g.ldc, e);
            }
        } else {
            run_part(part, r1 - r0, k, rows, c, g.ldc, g.epilogue);
        }
    };
    const int tasks = parts * chunks;
    // Small products stay on the caller: waking a pool thread would cost more than it saves. The tasks are the
    // same either way, so the result does not depend on where they ran.
    if (tasks == 1 || static_cast<double>(g.m) * g.b->n() * k < kMinSplitMultiplyAdds) {
        for (int i = 0; i < tasks; ++i)
            run(i);
        return;
    }
    try {
        parallel_for(tasks, run);
    } catch (const std::exception& e) {  // starting a pool thread failed
        fail(g.m, g.b->n(), k, e.what());
    }
}

bool packed_gemm_available() {
    return true;
}

bool panel_kernel_available(PackedType type) {
    return type == PackedType::kBf16 ? panel_gemm_bf16_supported() : panel_gemm_supported();
}

bool packed_library_layout_is_panels(PackedType type) {
    const auto probe = [](DataType t) {
        try {
            keep_single_threaded();
            constexpr int kWidth = 768;  // a typical transformer width; the layout depends on the CPU, not the shape
            const auto pd = matmul_desc(64, kWidth, kWidth, memory::desc({kWidth, kWidth}, t, Tag::any));
            return !is_reference_impl(pd) && is_panel_layout(pd.weights_desc(), kWidth, kWidth);
        } catch (const std::exception&) {
            return false;
        }
    };
    static const bool f32 = probe(DataType::f32);
    static const bool bf16 = probe(DataType::bf16);
    return type == PackedType::kBf16 ? bf16 : f32;
}

Status packed_bf16_support() {
    static const Status support = [] {
        try {
            keep_single_threaded();
            // The plain product and the fullest epilogue the towers fuse (bias, GELU, residual add).
            const memory::desc weights({64, 64}, DataType::bf16, Tag::any);
            for (const FusedEpilogue& epilogue :
                 {FusedEpilogue{}, FusedEpilogue{.bias = true, .activation = EpilogueActivation::kGelu, .sum = true}}) {
                const auto pd = matmul_desc(64, 64, 64, weights, epilogue);
                if (is_reference_impl(pd)) {
                    return unsupported(
                        std::string("this CPU has no bf16 dot products oneDNN uses (its bf16 matmul is ") +
                        pd.impl_info_str() + ")");
                }
            }
            return Status{};
        } catch (const std::exception& e) {
            return unsupported(std::string("oneDNN has no bf16 matmul on this CPU (") + e.what() + ")");
        }
    }();
    return support;
}

std::string_view packed_gemm_backend_name() {
    return "onednn";
}

std::string packed_gemm_library_version() {
    const dnnl_version_t* v = dnnl_version();
    return "onednn " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           " (" + (v->hash != nullptr ? v->hash : "") + ")";
}

}  // namespace hclip
