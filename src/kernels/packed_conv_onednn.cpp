// Direct convolutions over oneDNN's convolution primitive (Debian's libdnnl). Measured choices
// (docs/performance.md, "RN50x4"):
//
// - Activations stay NHWC, as the towers keep them: source and destination are plain nhwc, for which oneDNN
//   2.6 picks its brgemm convolutions ("brgconv:avx512_core"). Its blocked layouts were no faster on RN50x4's
//   shapes (within 2-3% either way), and would need reorders around every other operation.
// - Weights are reordered once into the layout the library prefers (format_tag::any).
// - Threads: every primitive runs single-threaded (onednn_support.h) and a convolution is split into one task per
//   core, each a primitive of its own compiled at load, in one of two ways:
//   - by output rows, where the picture is large: band b of B computes rows [oh * b / B, oh * (b + 1) / B) from
//     exactly the input rows they read, padded only where the band meets the picture's edge. All bands share one
//     packed copy of the weights. A pointwise convolution's pixels are compiled as one column, so its bands cut
//     between pixels and stay even where rows cannot (9 rows on 2 cores).
//   - by output channels, where row bands would be thin (under 64 pixels: a ResNet's last stage, 9x9 pixels with
//     up to 15 MB of weights): each task reads only its own channels' weights, as the packed GEMM's column parts
//     do, and writes them through a per-thread staging buffer (oneDNN's fast kernels want a dense destination).
// - Per thread: a stream, a user-provided scratchpad, and the memory objects each task's arguments are bound
//   through (data handles set per call), cached by the convolution's process-unique id.
// - bf16 (PackedType::kBf16): weights stored as bf16; each task's input rows are rounded to bf16 into a
//   per-thread buffer and the bf16 x bf16 -> f32 primitive runs on them. With bf16_output the primitive writes
//   bf16 itself (its rounding is to nearest even, as f32_to_bf16_rows), and a next bf16 convolution reads that
//   as its input directly.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// One primitive: a band of output rows, or a part of the output channels over the whole picture.
struct Task {
    int out_row0 = 0, in_row0 = 0, in_rows = 0;
    int channel0 = 0, channels = 0;  // of the output; fewer than all: computed into a staging buffer
    int weights = 0;                 // index into Impl::weights
    dnnl::convolution_forward primitive;
    memory::desc src, dst, scratchpad;
};

struct PackedCopy {
    memory::desc layout;
    AlignedBuffer data;
};

constexpr int kMaxTasks = 64;
constexpr int kMinPixelsPerBand = 64;

}  // namespace

struct PackedConv::Impl {
    std::uint64_t id = 0;  // unique for the process's lifetime: keys the per-thread bindings
    Conv2dShape shape;     // as compiled: a pointwise convolution's pixels as one column (see create)
    bool by_channels = false;
    std::vector<PackedCopy> weights;  // one for all row bands, one per channel part
    std::vector<float> bias;          // empty: no bias
    std::vector<Task> tasks;
};

PackedConv::PackedConv(const PackedConvSpec& spec, std::size_t bytes, std::string implementation,
                       std::unique_ptr<Impl> impl)
    : spec_(spec), bytes_(bytes), implementation_(std::move(implementation)), impl_(std::move(impl)) {}

PackedConv::~PackedConv() = default;

namespace {

// One task's primitive: input rows [in_row0, in_row0 + in_rows) with pad_top / pad_bottom zero rows around them,
// out_channels of the output's.
dnnl::convolution_forward::primitive_desc task_desc(const PackedConvSpec& spec, const Conv2dShape& s, int in_rows,
                                                    int out_rows, int out_channels, int pad_top, int pad_bottom,
                                                    const memory::desc& weights, bool bias) {
    const DataType type = spec.type == PackedType::kBf16 ? DataType::bf16 : DataType::f32;
    const int pad_right = std::max(0, (s.out_width() - 1) * s.stride - s.padding + s.kernel - s.width);
    const memory::desc src({1, s.in_channels, in_rows, s.width}, type, Tag::nhwc);
    const memory::desc dst({1, out_channels, out_rows, s.out_width()},
                           spec.bf16_output ? DataType::bf16 : DataType::f32, Tag::nhwc);
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
        const memory::desc bias_md({out_channels}, DataType::f32, Tag::a);
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
    if (spec.bf16_output && (spec.type != PackedType::kBf16 || spec.accumulate)) {
        return invalid_argument("direct convolution: a bf16 output needs bf16 products and no residual sum");
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
        const int oh = s.out_height(), cores = std::min(machine_cores(), kMaxTasks);
        // Row bands of fewer than 64 pixels are thin products (RN50x4's 9x9 stage: 41 and 40 pixels), which ran
        // 10-20% slower than channel parts over all 81 pixels; larger bands measured the same either way.
        const int pixels_per_band = s.out_height() * s.out_width() / std::max(cores, 1);
        impl->by_channels = cores > 1 && pixels_per_band < kMinPixelsPerBand && s.out_channels >= 16 * cores;
        // Tasks: (output rows [r0, r1), output channels [c0, c1)).
        std::vector<std::array<int, 4>> cuts;
        if (impl->by_channels) {
            const int blocks = s.out_channels / 16;  // whole 16-channel blocks, the last part takes the rest
            for (int p = 0; p < cores; ++p) {
                cuts.push_back(
                    {0, oh, blocks * p / cores * 16, p + 1 == cores ? s.out_channels : blocks * (p + 1) / cores * 16});
            }
        } else {
            const int bands = std::clamp(cores, 1, oh);
            for (int b = 0; b < bands; ++b)
                cuts.push_back({oh * b / bands, oh * (b + 1) / bands, 0, s.out_channels});
        }
        std::string implementation;
        dnnl::stream stream(cpu_engine());
        std::size_t bytes = impl->bias.size() * sizeof(float);
        for (const auto& [r0, r1, c0, c1] : cuts) {
            const int first = r0 * s.stride - s.padding, end = (r1 - 1) * s.stride - s.padding + s.kernel;
            const int in0 = std::max(0, first), in1 = std::min(s.height, end);
            const bool new_weights = impl->weights.empty() || impl->by_channels;
            const memory::desc weights_md =
                new_weights ? memory::desc({c1 - c0, s.in_channels, s.kernel, s.kernel}, type, Tag::any)
                            : impl->weights.front().layout;
            const auto pd =
                task_desc(spec, s, in1 - in0, r1 - r0, c1 - c0, in0 - first, end - in1, weights_md, bias != nullptr);
            // Its im2col + GEMM convolution ("gemm:jit") would only redo what conv2d_nhwc does.
            if (onednn::is_reference_impl(pd) || std::string_view(pd.impl_info_str()).starts_with("gemm")) {
                return unsupported(std::string("direct convolution: oneDNN has no optimised kernel for ") +
                                   std::to_string(s.in_channels) + "->" + std::to_string(s.out_channels) + " " +
                                   std::to_string(s.kernel) + "x" + std::to_string(s.kernel) + " on this CPU (" +
                                   pd.impl_info_str() + ")");
            }
            if (implementation.empty()) implementation = pd.impl_info_str();
            if (new_weights) {
                // The user's weights [c1 - c0 of out, ky, kx, in] as oneDNN sees them: [out, in, ky, kx] ohwi.
                PackedCopy copy{pd.weights_desc(), onednn::aligned_buffer(pd.weights_desc().get_size())};
                const memory::desc user_md({c1 - c0, s.in_channels, s.kernel, s.kernel}, DataType::f32, Tag::ohwi);
                const float* first_weight = weight + static_cast<std::size_t>(c0) * s.kernel * s.kernel * s.in_channels;
                memory user(user_md, cpu_engine(), const_cast<float*>(first_weight));  // only read by the reorder
                memory packed(copy.layout, cpu_engine(), copy.data.get());
                dnnl::reorder(user, packed).execute(stream, user, packed);
                bytes += copy.layout.get_size();
                impl->weights.push_back(std::move(copy));
            } else if (pd.weights_desc() != impl->weights.front().layout) {
                return unsupported("direct convolution: oneDNN wants a different weight layout per row band");
            }
            impl->tasks.push_back({.out_row0 = r0,
                                   .in_row0 = in0,
                                   .in_rows = in1 - in0,
                                   .channel0 = c0,
                                   .channels = c1 - c0,
                                   .weights = static_cast<int>(impl->weights.size()) - 1,
                                   .primitive = dnnl::convolution_forward(pd),
                                   .src = pd.src_desc(),
                                   .dst = pd.dst_desc(),
                                   .scratchpad = pd.scratchpad_desc()});
        }
        stream.wait();
        return std::unique_ptr<const PackedConv>(new PackedConv(spec, bytes, implementation, std::move(impl)));
    } catch (const std::bad_alloc&) {
        return resource_exhausted("direct convolution: out of memory packing its weights");
    } catch (const std::exception& e) {
        return internal_error(std::string("direct convolution: oneDNN: ") + e.what());
    }
}

namespace {

// One task's arguments, bound once per thread (the data handles of input, output and scratchpad set per call).
struct Bound {
    memory src, dst, scratchpad;
    std::unordered_map<int, memory> args;
};

// Models come and go (tests load many); past this many tasks the bindings start again rather than grow.
constexpr std::size_t kMaxBoundPerThread = 4096;

struct ThreadState {
    dnnl::stream stream{cpu_engine()};
    onednn::Scratchpad scratchpad;
    std::vector<std::uint16_t> staged_bf16;
    std::vector<char> staged_output;  // a channel part's output (and its residual), float32 or bf16
    std::unordered_map<std::uint64_t, Bound> bound;

    Bound& bind(const PackedConv::Impl& impl, int t) {
        const std::uint64_t key = impl.id * kMaxTasks + static_cast<std::uint64_t>(t);
        if (auto it = bound.find(key); it != bound.end()) return it->second;
        if (bound.size() >= kMaxBoundPerThread) bound.clear();
        const Task& task = impl.tasks[static_cast<std::size_t>(t)];
        const PackedCopy& weights = impl.weights[static_cast<std::size_t>(task.weights)];
        Bound bd{memory(task.src, cpu_engine(), nullptr),
                 memory(task.dst, cpu_engine(), nullptr),
                 memory(task.scratchpad, cpu_engine(), nullptr),
                 {}};
        bd.args = {{DNNL_ARG_SRC, bd.src},
                   {DNNL_ARG_WEIGHTS, memory(weights.layout, cpu_engine(), weights.data.get())},
                   {DNNL_ARG_DST, bd.dst},
                   {DNNL_ARG_SCRATCHPAD, bd.scratchpad}};
        if (!impl.bias.empty()) {
            const memory::desc bias_md({task.channels}, DataType::f32, Tag::a);
            float* first = const_cast<float*>(impl.bias.data()) + task.channel0;  // only read
            bd.args.emplace(DNNL_ARG_BIAS, memory(bias_md, cpu_engine(), first));
        }
        return bound.emplace(key, std::move(bd)).first->second;
    }
};

ThreadState& thread_state() {
    thread_local ThreadState state;
    return state;
}

// Only out of memory gets here: create() already compiled every task. A tower pass has no error path, and a
// wrong embedding is worse than stopping, so stop loudly.
[[noreturn]] void fail(const Conv2dShape& s, const char* what) {
    std::fprintf(stderr, "hailo-clip: direct convolution %d->%d %dx%d failed: %s\n", s.in_channels, s.out_channels,
                 s.kernel, s.kernel, what);
    std::abort();
}

// Copies `channels` channels of every pixel between a [pixels, ld_from] and a [pixels, ld_to] tensor whose
// elements are `element` bytes.
void copy_channels(const void* from, int ld_from, void* to, int ld_to, int pixels, int channels, std::size_t element) {
    const auto* src = static_cast<const char*>(from);
    auto* dst = static_cast<char*>(to);
    for (int p = 0; p < pixels; ++p) {
        std::memcpy(dst + static_cast<std::size_t>(p) * static_cast<std::size_t>(ld_to) * element,
                    src + static_cast<std::size_t>(p) * static_cast<std::size_t>(ld_from) * element,
                    element * static_cast<std::size_t>(channels));
    }
}

}  // namespace

void PackedConv::run(const void* input, void* output, ConvInput input_type) const {
    const Conv2dShape& s = impl_->shape;
    const bool bf16_input = input_type == ConvInput::kBf16;
    if (bf16_input && spec_.type != PackedType::kBf16) fail(s, "a bf16 input for a float32 convolution");
    const std::size_t in_row = static_cast<std::size_t>(s.width) * static_cast<std::size_t>(s.in_channels);
    const std::size_t out_row = static_cast<std::size_t>(s.out_width()) * static_cast<std::size_t>(s.out_channels);
    const std::size_t in_element = bf16_input ? sizeof(std::uint16_t) : sizeof(float);
    const std::size_t out_element = spec_.bf16_output ? sizeof(std::uint16_t) : sizeof(float);
    const auto run_task = [&](int t) {
        try {
            onednn::keep_single_threaded();
            ThreadState& ts = thread_state();
            const Task& task = impl_->tasks[static_cast<std::size_t>(t)];
            const void* src =
                static_cast<const char*>(input) + static_cast<std::size_t>(task.in_row0) * in_row * in_element;
            if (spec_.type == PackedType::kBf16 && !bf16_input) {
                const std::size_t size = static_cast<std::size_t>(task.in_rows) * in_row;
                if (ts.staged_bf16.size() < size) ts.staged_bf16.resize(size);
                f32_to_bf16_rows(static_cast<const float*>(src), task.in_rows, static_cast<int>(in_row),
                                 static_cast<int>(in_row), ts.staged_bf16.data());
                src = ts.staged_bf16.data();
            }
            void* dst = static_cast<char*>(output) + static_cast<std::size_t>(task.out_row0) * out_row * out_element;
            const bool staged = task.channels < s.out_channels;
            const int pixels = s.out_height() * s.out_width();
            char* const first_channel =
                static_cast<char*>(output) + static_cast<std::size_t>(task.channel0) * out_element;
            if (staged) {  // a channel part: the whole picture, its channels only
                const std::size_t size =
                    static_cast<std::size_t>(pixels) * static_cast<std::size_t>(task.channels) * out_element;
                if (ts.staged_output.size() < size) ts.staged_output.resize(size);
                if (spec_.accumulate) {
                    copy_channels(first_channel, s.out_channels, ts.staged_output.data(), task.channels, pixels,
                                  task.channels, out_element);
                }
                dst = ts.staged_output.data();
            }
            Bound& bound = ts.bind(*impl_, t);
            bound.src.set_data_handle(const_cast<void*>(src));  // only read
            bound.dst.set_data_handle(dst);
            bound.scratchpad.set_data_handle(ts.scratchpad.of_size(task.scratchpad.get_size()));
            task.primitive.execute(ts.stream, bound.args);
            ts.stream.wait();
            if (staged) {
                copy_channels(ts.staged_output.data(), task.channels, first_channel, s.out_channels, pixels,
                              task.channels, out_element);
            }
        } catch (const std::exception& e) {
            fail(s, e.what());
        }
    };
    const auto tasks = static_cast<int>(impl_->tasks.size());
    const double multiply_adds = static_cast<double>(out_row) * s.out_height() * s.kernel * s.kernel * s.in_channels;
    if (tasks == 1 || multiply_adds < kMinSplitMultiplyAdds) {
        for (int t = 0; t < tasks; ++t)
            run_task(t);
        return;
    }
    try {
        parallel_for(tasks, run_task);
    } catch (const std::exception& e) {  // starting a pool thread failed
        fail(s, e.what());
    }
}

int PackedConv::tasks() const {
    return static_cast<int>(impl_->tasks.size());
}

bool PackedConv::split_by_channels() const {
    return impl_->by_channels;
}

bool packed_conv_available() {
    return true;
}

}  // namespace hclip
