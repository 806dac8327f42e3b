// Direct convolutions over oneDNN's convolution primitive (Debian's libdnnl). Measured choices
// (docs/performance.md, "RN50x4"):
//
// - Activations stay NHWC, as the towers keep them: source and destination are plain nhwc, for which oneDNN
//   2.6 picks its brgemm convolutions ("brgconv:avx512_core"). Its blocked layouts were no faster on RN50x4's
//   shapes (within 2-3% either way), and would need reorders around every other operation.
// - Weights are reordered once into the layout the library prefers (format_tag::any).
// - Threads: every primitive runs single-threaded (onednn_support.h) and a convolution is split by output rows
//   across the compute pool. Band b of B computes output rows [oh * b / B, oh * (b + 1) / B) from exactly the
//   input rows they read, padded only where the band meets the picture's edge; so each band is a primitive of its
//   own, compiled at load. All bands share one packed weight layout.
// - Per thread: a stream, a user-provided scratchpad, and the memory objects each band's arguments are bound
//   through (data handles set per call), cached by the convolution's process-unique id.
// - bf16 (PackedType::kBf16): weights stored as bf16; each band's input rows are rounded to bf16 into a
//   per-thread buffer and the bf16 x bf16 -> f32 primitive runs on them.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernels/bf16_convert.h"
#include "kernels/compute_pool.h"
#include "kernels/onednn_support.h"
#include "kernels/packed_conv.h"

namespace hclip {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;
using onednn::AlignedBuffer;
using onednn::cpu_engine;

struct Band {
    int out_row0 = 0, in_row0 = 0, in_rows = 0;
    dnnl::convolution_forward primitive;
    memory::desc src, dst, scratchpad;
};

constexpr int kMaxBands = 64;

}  // namespace

struct PackedConv::Impl {
    std::uint64_t id = 0;  // unique for the process's lifetime: keys the per-thread bindings
    Conv2dShape shape;     // as compiled: a pointwise convolution's pixels as one column (see create)
    memory::desc weights_layout;
    AlignedBuffer weights;
    std::vector<float> bias;  // empty: no bias
    std::vector<Band> bands;
};

PackedConv::PackedConv(const PackedConvSpec& spec, std::size_t bytes, std::string implementation,
                       std::unique_ptr<Impl> impl)
    : spec_(spec), bytes_(bytes), implementation_(std::move(implementation)), impl_(std::move(impl)) {}

PackedConv::~PackedConv() = default;

namespace {

// One band's primitive: input rows [in_row0, in_row0 + in_rows) with pad_top / pad_bottom zero rows around them.
dnnl::convolution_forward::primitive_desc band_desc(const PackedConvSpec& spec, const Conv2dShape& s, int in_rows,
                                                    int out_rows, int pad_top, int pad_bottom,
                                                    const memory::desc& weights, bool bias) {
    const DataType type = spec.type == PackedType::kBf16 ? DataType::bf16 : DataType::f32;
    const int pad_right = std::max(0, (s.out_width() - 1) * s.stride - s.padding + s.kernel - s.width);
    const memory::desc src({1, s.in_channels, in_rows, s.width}, type, Tag::nhwc);
    const memory::desc dst({1, s.out_channels, out_rows, s.out_width()}, DataType::f32, Tag::nhwc);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops post;
    if (spec.accumulate) post.append_sum(1.0f);
    if (spec.relu) post.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(post);
    const memory::dims strides{s.stride, s.stride}, left{pad_top, s.padding}, right{pad_bottom, pad_right};
    const auto kind = dnnl::prop_kind::forward_inference;
    const auto algorithm = dnnl::algorithm::convolution_direct;
    if (bias) {
        const memory::desc bias_md({s.out_channels}, DataType::f32, Tag::a);
        return {dnnl::convolution_forward::desc(kind, algorithm, src, weights, bias_md, dst, strides, left, right),
                attr, cpu_engine()};
    }
    return {dnnl::convolution_forward::desc(kind, algorithm, src, weights, dst, strides, left, right), attr,
            cpu_engine()};
}

}  // namespace

Result<std::unique_ptr<const PackedConv>> PackedConv::create(const float* weight, const float* bias,
                                                             const PackedConvSpec& spec) {
    const Conv2dShape& given = spec.shape;
    if (weight == nullptr || given.height <= 0 || given.width <= 0 || given.in_channels <= 0 ||
        given.out_channels <= 0 || given.kernel <= 0 || given.stride <= 0 || given.padding < 0 ||
        given.out_height() <= 0 || given.out_width() <= 0) {
        return invalid_argument("direct convolution: bad shape");
    }
    // A pointwise convolution treats every pixel alike: compiled over a [height * width, 1] picture, its bands cut
    // between pixels instead of rows, so they stay even where the rows cannot (9 rows on 2 cores).
    Conv2dShape s = given;
    if (s.is_pointwise()) {
        s.height *= s.width;
        s.width = 1;
    }
    static std::atomic<std::uint64_t> next_id{1};
    try {
        onednn::keep_single_threaded();
        auto impl = std::make_unique<Impl>();
        impl->id = next_id.fetch_add(1);
        impl->shape = s;
        if (bias != nullptr) impl->bias.assign(bias, bias + s.out_channels);
        const DataType type = spec.type == PackedType::kBf16 ? DataType::bf16 : DataType::f32;
        const memory::desc any({s.out_channels, s.in_channels, s.kernel, s.kernel}, type, Tag::any);
        const int oh = s.out_height(), bands = std::clamp(machine_cores(), 1, std::min(oh, kMaxBands));
        std::string implementation;
        for (int b = 0; b < bands; ++b) {
            const int r0 = oh * b / bands, r1 = oh * (b + 1) / bands;
            const int first = r0 * s.stride - s.padding, end = (r1 - 1) * s.stride - s.padding + s.kernel;
            const int in0 = std::max(0, first), in1 = std::min(s.height, end);
            const auto pd = band_desc(spec, s, in1 - in0, r1 - r0, in0 - first, end - in1,
                                      b == 0 ? any : impl->weights_layout, bias != nullptr);
            // Its im2col + GEMM convolution ("gemm:jit") would only redo what conv2d_nhwc does.
            if (onednn::is_reference_impl(pd) || std::string_view(pd.impl_info_str()).starts_with("gemm")) {
                return unsupported(std::string("direct convolution: oneDNN has no optimised kernel for ") +
                                   std::to_string(s.in_channels) + "->" + std::to_string(s.out_channels) + " " +
                                   std::to_string(s.kernel) + "x" + std::to_string(s.kernel) + " on this CPU (" +
                                   pd.impl_info_str() + ")");
            }
            if (b == 0) {
                impl->weights_layout = pd.weights_desc();
                implementation = pd.impl_info_str();
            } else if (pd.weights_desc() != impl->weights_layout) {
                return unsupported("direct convolution: oneDNN wants a different weight layout per row band");
            }
            impl->bands.push_back({.out_row0 = r0,
                                   .in_row0 = in0,
                                   .in_rows = in1 - in0,
                                   .primitive = dnnl::convolution_forward(pd),
                                   .src = pd.src_desc(),
                                   .dst = pd.dst_desc(),
                                   .scratchpad = pd.scratchpad_desc()});
        }
        // The user's weights as oneDNN sees them: [out, in, ky, kx] stored [out][ky][kx][in] (ohwi).
        dnnl::stream stream(cpu_engine());
        const memory::desc user_md({s.out_channels, s.in_channels, s.kernel, s.kernel}, DataType::f32, Tag::ohwi);
        memory user(user_md, cpu_engine(), const_cast<float*>(weight));  // only read by the reorder
        impl->weights = onednn::aligned_buffer(impl->weights_layout.get_size());
        memory packed(impl->weights_layout, cpu_engine(), impl->weights.get());
        dnnl::reorder(user, packed).execute(stream, user, packed);
        stream.wait();
        const std::size_t bytes = impl->weights_layout.get_size() + impl->bias.size() * sizeof(float);
        return std::unique_ptr<const PackedConv>(new PackedConv(spec, bytes, implementation, std::move(impl)));
    } catch (const std::bad_alloc&) {
        return resource_exhausted("direct convolution: out of memory packing its weights");
    } catch (const std::exception& e) {
        return internal_error(std::string("direct convolution: oneDNN: ") + e.what());
    }
}

namespace {

// One band's arguments, bound once per thread (the data handles of input, output and scratchpad set per call).
struct Bound {
    memory src, dst, scratchpad;
    std::unordered_map<int, memory> args;
};

// Models come and go (tests load many); past this many bands the bindings start again rather than grow.
constexpr std::size_t kMaxBoundPerThread = 4096;

struct ThreadState {
    dnnl::stream stream{cpu_engine()};
    AlignedBuffer scratchpad;
    std::size_t scratchpad_bytes = 0;
    std::vector<std::uint16_t> staged_bf16;
    std::unordered_map<std::uint64_t, Bound> bound;

    void* scratchpad_of_size(std::size_t bytes) {
        if (bytes > scratchpad_bytes || !scratchpad) {
            scratchpad = onednn::aligned_buffer(bytes);
            scratchpad_bytes = bytes;
        }
        return scratchpad.get();
    }

    Bound& bind(const PackedConv::Impl& impl, int b) {
        const std::uint64_t key = impl.id * kMaxBands + static_cast<std::uint64_t>(b);
        if (auto it = bound.find(key); it != bound.end()) return it->second;
        if (bound.size() >= kMaxBoundPerThread) bound.clear();
        const Band& band = impl.bands[static_cast<std::size_t>(b)];
        Bound bd{memory(band.src, cpu_engine(), nullptr),
                 memory(band.dst, cpu_engine(), nullptr),
                 memory(band.scratchpad, cpu_engine(), nullptr),
                 {}};
        bd.args = {{DNNL_ARG_SRC, bd.src},
                   {DNNL_ARG_WEIGHTS, memory(impl.weights_layout, cpu_engine(), impl.weights.get())},
                   {DNNL_ARG_DST, bd.dst},
                   {DNNL_ARG_SCRATCHPAD, bd.scratchpad}};
        if (!impl.bias.empty()) {
            const memory::desc bias_md({static_cast<memory::dim>(impl.bias.size())}, DataType::f32, Tag::a);
            bd.args.emplace(DNNL_ARG_BIAS,
                            memory(bias_md, cpu_engine(), const_cast<float*>(impl.bias.data())));  // only read
        }
        return bound.emplace(key, std::move(bd)).first->second;
    }
};

ThreadState& thread_state() {
    thread_local ThreadState state;
    return state;
}

// Only out of memory gets here: create() already compiled every band. A tower pass has no error path, and a
// wrong embedding is worse than stopping, so stop loudly.
[[noreturn]] void fail(const Conv2dShape& s, const char* what) {
    std::fprintf(stderr, "hailo-clip: direct convolution %d->%d %dx%d failed: %s\n", s.in_channels, s.out_channels,
                 s.kernel, s.kernel, what);
    std::abort();
}

}  // namespace

void PackedConv::run(const float* input, float* output) const {
    const Conv2dShape& s = impl_->shape;
    const std::size_t in_row = static_cast<std::size_t>(s.width) * static_cast<std::size_t>(s.in_channels);
    const std::size_t out_row = static_cast<std::size_t>(s.out_width()) * static_cast<std::size_t>(s.out_channels);
    const auto band = [&](int b) {
        try {
            onednn::keep_single_threaded();
            ThreadState& ts = thread_state();
            const Band& bd = impl_->bands[static_cast<std::size_t>(b)];
            const float* rows = input + static_cast<std::size_t>(bd.in_row0) * in_row;
            const void* src = rows;
            if (spec_.type == PackedType::kBf16) {
                const std::size_t size = static_cast<std::size_t>(bd.in_rows) * in_row;
                if (ts.staged_bf16.size() < size) ts.staged_bf16.resize(size);
                f32_to_bf16_rows(rows, bd.in_rows, static_cast<int>(in_row), static_cast<int>(in_row),
                                 ts.staged_bf16.data());
                src = ts.staged_bf16.data();
            }
            Bound& bound = ts.bind(*impl_, b);
            bound.src.set_data_handle(const_cast<void*>(src));  // only read
            bound.dst.set_data_handle(output + static_cast<std::size_t>(bd.out_row0) * out_row);
            bound.scratchpad.set_data_handle(ts.scratchpad_of_size(bd.scratchpad.get_size()));
            bd.primitive.execute(ts.stream, bound.args);
            ts.stream.wait();
        } catch (const std::exception& e) {
            fail(s, e.what());
        }
    };
    const auto bands = static_cast<int>(impl_->bands.size());
    const double multiply_adds = static_cast<double>(out_row) * s.out_height() * s.kernel * s.kernel * s.in_channels;
    if (bands == 1 || multiply_adds < kMinSplitMultiplyAdds) {
        for (int b = 0; b < bands; ++b)
            band(b);
        return;
    }
    try {
        parallel_for(bands, band);
    } catch (const std::exception& e) {  // starting a pool thread failed
        fail(s, e.what());
    }
}

bool packed_conv_available() {
    return true;
}

}  // namespace hclip
