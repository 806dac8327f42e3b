// hailo-clip bench --model-dir DIR [--image FILE] [--iterations N] [--batch N] [--threads N]
//                  [--packing both|on|off] [--weights fp32|bf16|fp16] [--compute fp32|bf16]
//                  [--gemm-kernel auto|packed|panels|plain]
//                  [--service on|off] [--workers N]
// Per-stage times (median of N runs after a warm-up) and, for the towers, achieved GFLOP/s next to the GEMM
// peak measured on this machine in the same run. With packing "both" (the default where the build packs
// weights) the towers run with packed weights and with the plain GEMM in the same run, case by case, so the
// ratio holds on a noisy machine; "on" or "off" load one model only, for the memory figures. The packed model
// uses the GEMM kernel chosen per weight shape at load (bench_kernels.h prints the choice and every candidate's
// GFLOP/s, timed again in this run). Then (unless
// --service off) the REST service is started in this process and timed over HTTP next to the image tower.
// With --weights bf16 or fp16 the comparison column is the float32 model (packed where the build packs) instead
// of the plain one, so the 16-bit/float32 ratio comes from one run; the memory figures are the 16-bit model's.
// --compute bf16 (bf16 products) likewise compares with the packed float32 model.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "backends/cpu/cpu_encoders.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/commands/bench_kernels.h"
#include "cli/commands/bench_pool.h"
#include "cli/commands/bench_service.h"
#include "cli/commands/bench_stats.h"
#include "cli/engine_setup.h"
#include "cli/json_output.h"
#include "cli/synthetic_jpeg.h"
#include "core/mapped_file.h"
#include "core/timer.h"
#include "engine/embedding.h"
#include "image/preprocess.h"
#include "kernels/blas_core.h"
#include "kernels/compute_pool.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"
#include "model/flops.h"

namespace hclip::cli {

namespace {

double median_ms(int iterations, const std::function<void()>& fn) {
    fn();  // warm-up: page in weights, size caches
    std::vector<double> times;
    for (int i = 0; i < iterations; ++i) {
        Stopwatch sw;
        fn();
        times.push_back(sw.elapsed_ms());
    }
    return median(std::move(times));
}

// GFLOP/s of one [m, k] x [n, k]^T product through the plain GEMM, or through a packed copy of B.
double gemm_gflops(int m, int n, int k, int iterations, bool packed) {
    std::vector<float> a(static_cast<std::size_t>(m) * k, 0.5f), b(static_cast<std::size_t>(n) * k, 0.25f),
        c(static_cast<std::size_t>(m) * n);
    std::unique_ptr<const PackedWeights> pw;
    if (packed) {
        auto r = PackedWeights::pack(b.data(), n, k, k, true);
        if (!r.ok()) return 0.0;
        pw = std::move(r).value();
    }
    const double ms = median_ms(iterations, [&] {
        if (pw) {
            gemm_f32_packed({.m = m, .a = a.data(), .lda = k, .b = pw.get(), .c = c.data(), .ldc = n});
            return;
        }
        gemm_f32({.m = m,
                  .n = n,
                  .k = k,
                  .a = a.data(),
                  .lda = k,
                  .b = b.data(),
                  .ldb = k,
                  .b_transposed = true,
                  .c = c.data(),
                  .ldc = n});
    });
    return 2.0 * m * n * k / (ms * 1e6);
}

struct GemmShape {
    int m = 0, n = 0, k = 0;
};

// The GEMM peak: the fastest of a large square product and the tower's typical shape, each through the plain GEMM
// and, where there is one, the packed one (median of `iterations` each). `detail`, if given, gets every figure.
double measure_peak(const GemmShape& tower, int iterations, std::string* detail) {
    double peak = 0.0;
    for (bool packed : {false, true}) {
        if (packed && !packed_gemm_available()) continue;
        const double square = gemm_gflops(1024, 1024, 1024, iterations, packed);
        const double shaped = gemm_gflops(tower.m, tower.n, tower.k, iterations, packed);
        peak = std::max({peak, square, shaped});
        if (detail == nullptr) continue;
        char text[160];
        std::snprintf(text, sizeof text, "%s%s 1024^3: %.1f, %dx%dx%d: %.1f", detail->empty() ? "" : "; ",
                      packed ? "packed" : "plain", square, tower.m, tower.n, tower.k, shaped);
        *detail += text;
    }
    return peak;
}

// The image tower's share of the peak with the two measured in turn, `pairs` times: each pair's peak and tower
// medians lie a fraction of a second apart, so a machine whose speed drifts over seconds (a shared host: the peak
// moved from 240 to 173 GFLOP/s between two runs of the same bench here) moves both figures of a pair alike.
// Prints the median of the pairs' ratios, their range, and the medians of the two figures.
void print_tower_beside_peak(const GemmShape& tower, double tower_flops, int pairs,
                             const std::function<void()>& tower_pass) {
    std::vector<double> ratios, peaks, times;
    for (int i = 0; i < pairs; ++i) {
        const double peak = measure_peak(tower, 3, nullptr);
        const double ms = median_ms(3, tower_pass);
        ratios.push_back(100.0 * tower_flops / (ms * 1e6) / peak);
        peaks.push_back(peak);
        times.push_back(ms);
    }
    const auto [low, high] = std::minmax_element(ratios.begin(), ratios.end());
    std::printf(
        "image tower, batch 1, beside the gemm peak (%d pairs, measured in turn): %.0f%% of the peak (pairs "
        "%.0f-%.0f%%); tower %.2f ms, peak %.1f GFLOP/s (medians)\n",
        pairs, median(ratios), *low, *high, median(times), median(peaks));
}

// Resident set size of this process in MB (Linux; 0 where /proc is not there).
double rss_mb(const char* field = "VmRSS:") {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::string(field).size())) / 1024.0;
    }
    return 0.0;
}

// One model's towers, as a worker has them.
struct Towers {
    std::unique_ptr<ImageEncoder> image;
    std::unique_ptr<TextEncoder> text;
};

}  // namespace

int run_bench(const Argv& argv) {
    auto flags = engine_value_flags();
    flags.insert({"--image", "--iterations", "--packing", "--service", "--workers"});
    auto args = Args::parse(argv, flags, {});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    auto iterations = args->int_value("--iterations", 10, 1, 100000);
    if (!iterations.ok()) return fail(iterations.status().message(), kExitUsage);
    const std::string packing = args->value("--packing").value_or(packed_gemm_available() ? "both" : "off");
    if (packing != "both" && packing != "on" && packing != "off") {
        return fail("--packing must be both, on or off", kExitUsage);
    }
    if (packing != "off" && !packed_gemm_available()) {
        return fail("--packing " + packing + ": this build has no packed gemm (configured without oneDNN)", kExitUsage);
    }
    const std::string service = args->value("--service").value_or("on");
    if (service != "on" && service != "off") return fail("--service must be on or off", kExitUsage);
    auto workers = args->int_value("--workers", 2, 1, 256);
    if (!workers.ok()) return fail(workers.status().message(), kExitUsage);
    const bool primary_packed = packing != "off";
    const double rss_start = rss_mb();
    Stopwatch load_sw;
    auto engine_r = engine_from_args(*args, primary_packed);
    if (!engine_r.ok()) return fail(engine_r.status().to_string());
    const double load_ms = load_sw.elapsed_ms();
    const double rss_loaded = rss_mb();
    ClipEngine& engine = **engine_r;
    const ClipConfig& cfg = engine.model().config();
    const int n = *iterations;

    std::vector<std::uint8_t> image_bytes;
    std::string image_label = "synthetic 640x480 JPEG";
    if (auto file = args->value("--image")) {
        auto bytes = read_file(*file);
        if (!bytes.ok()) return fail(bytes.status().to_string());
        image_bytes.assign(bytes->begin(), bytes->end());
        image_label = *file;
    } else {
        image_bytes = make_synthetic_jpeg(640, 480);
    }

    Image decoded;
    bool decode_failed = false;
    const double decode_ms = median_ms(n, [&] {
        auto r = decode_image(image_bytes, engine.options().decode);
        if (r.ok())
            decoded = std::move(r).value();
        else
            decode_failed = true;
    });
    if (decode_failed) return fail("cannot decode the benchmark image " + image_label);
    const int s = engine.image_size();
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(s) * s * 3u);
    std::vector<float> chw(static_cast<std::size_t>(s) * s * 3u);
    const PreprocessSpec spec = cfg.preprocess_spec();
    const double preprocess_ms = median_ms(n, [&] {
        (void)resize_crop_to_rgb8(decoded, spec, rgb);
        normalize_rgb8_to_chw(rgb, s, spec, chw);
    });

    const auto e = static_cast<std::size_t>(cfg.embed_dim);
    const int batch = engine.options().max_batch;
    std::vector<float> out(e * static_cast<std::size_t>(batch));
    std::vector<std::uint8_t> rgb_batch;
    for (int i = 0; i < batch; ++i)
        rgb_batch.insert(rgb_batch.end(), rgb.begin(), rgb.end());
    const std::vector<std::vector<std::int32_t>> short_text = {engine.tokenize("a photo of a cat").ids};
    // Over 77 tokens: truncated to the full context, the text tower's worst case.
    std::string long_prompt;
    while (engine.tokenize(long_prompt).full_length <= 80)
        long_prompt += "a photo of a cat on a shelf, ";
    const std::vector<std::int32_t> long_ids = engine.tokenize(long_prompt).ids;
    const std::vector<std::vector<std::int32_t>> long_text = {long_ids};
    const std::vector<std::vector<std::int32_t>> short_batch(static_cast<std::size_t>(batch), short_text[0]);

    // The engine's towers, run once at full batch so the memory figure is the steady state; then, to compare,
    // a second model without packing (its own mapping: the memory figures are those of a one-model run).
    std::vector<Towers> towers;
    auto image_encoder = engine.create_image_encoder();
    if (!image_encoder.ok()) return fail(image_encoder.status().to_string());
    auto text_encoder = engine.create_text_encoder();
    if (!text_encoder.ok()) return fail(text_encoder.status().to_string());
    towers.push_back({std::move(image_encoder).value(), std::move(text_encoder).value()});
    (void)towers[0].image->encode(rgb_batch, batch, out);
    (void)towers[0].text->encode(long_text, std::span(out).first(e));
    const double rss_ran = rss_mb();
    const double rss_peak = rss_mb("VmHWM:");
    const bool bf16_products = engine.model().compute() == ComputePrecision::kBf16;
    // 16-bit weights alone: with bf16 products they change nothing (docs/configuration.md).
    const bool half_weights = !bf16_products && engine.options().weights != WeightStorage::kF32;
    if (half_weights || bf16_products) {
        auto fp32 = ClipModel::load(engine.model().model_dir(), {.pack_weights = packed_gemm_available()});
        if (!fp32.ok()) return fail(fp32.status().to_string());
        towers.push_back({make_cpu_image_encoder(*fp32, batch), make_cpu_text_encoder(*fp32, batch)});
    } else if (packing == "both") {
        auto plain = ClipModel::load(engine.model().model_dir(), {.pack_weights = false});
        if (!plain.ok()) return fail(plain.status().to_string());
        towers.push_back({make_cpu_image_encoder(*plain, batch), make_cpu_text_encoder(*plain, batch)});
    }

    // Peak: a large square product, and the tower's own typical GEMM shape (a ViT MLP layer at the configured
    // batch; a ResNet's first-stage 3x3 convolution as im2col, one image; a FastViT's first-stage MLP, one image),
    // through the plain GEMM and, where there is one, the packed one.
    const int peak_iters = std::max(3, n / 2);
    int tower_m = cfg.vision.num_tokens() * batch, tower_n = cfg.vision.mlp_width, tower_k = cfg.vision.width;
    if (cfg.vision.kind == VisionKind::kResNet) {
        const int grid = cfg.vision.image_size / 4;
        tower_m = grid * grid;
        tower_n = cfg.vision.width;
        tower_k = 9 * cfg.vision.width;
    } else if (cfg.vision.kind == VisionKind::kFastVit) {  // the first stage's MLP expansion, one image
        const int grid = cfg.vision.image_size / 4;
        tower_m = grid * grid;
        tower_n = cfg.vision.fastvit.stages.front().mlp_width;
        tower_k = cfg.vision.fastvit.stages.front().width;
    }
    const GemmShape tower_shape{tower_m, tower_n, tower_k};
    std::string peak_detail;
    const double peak = measure_peak(tower_shape, peak_iters, &peak_detail);

    // Each case runs on every model back to back, so the packed/plain ratio shares the machine's state.
    struct Case {
        std::string name;
        double flops = 0.0;
        int per = 1;  // items per call: times are reported per item
        std::function<void(Towers&)> run;
        std::vector<double> ms;
    };
    const int short_tokens = static_cast<int>(short_text[0].size());
    const int long_tokens = static_cast<int>(long_ids.size());
    const auto item_runs = [&](int per) { return per > 1 ? std::max(1, n / 2) : n; };
    std::vector<Case> cases;
    cases.push_back({"image tower, batch 1",
                     vision_flops(cfg),
                     1,
                     [&](Towers& t) { (void)t.image->encode(rgb, 1, std::span(out).first(e)); },
                     {}});
    cases.push_back({"image tower, batch " + std::to_string(batch) + " (per image)",
                     vision_flops(cfg),
                     batch,
                     [&](Towers& t) { (void)t.image->encode(rgb_batch, batch, out); },
                     {}});
    cases.push_back({"text tower, " + std::to_string(short_tokens) + " tokens",
                     text_flops(cfg, short_tokens),
                     1,
                     [&](Towers& t) { (void)t.text->encode(short_text, std::span(out).first(e)); },
                     {}});
    cases.push_back(
        {"text tower, " + std::to_string(short_tokens) + " tokens, batch " + std::to_string(batch) + " (per text)",
         text_flops(cfg, short_tokens),
         batch,
         [&](Towers& t) { (void)t.text->encode(short_batch, out); },
         {}});
    cases.push_back({"text tower, " + std::to_string(long_tokens) + " tokens",
                     text_flops(cfg, long_tokens),
                     1,
                     [&](Towers& t) { (void)t.text->encode(long_text, std::span(out).first(e)); },
                     {}});
    for (Case& c : cases) {
        for (Towers& t : towers)
            c.ms.push_back(median_ms(item_runs(c.per), [&] { c.run(t); }) / c.per);
    }

    const auto gflops = [](double flops, double ms) { return flops / (ms * 1e6); };
    std::printf("hailo-clip bench: %s\n", cfg.summary().c_str());
    std::printf("backend: %s\n", engine.backend_name().c_str());
    std::printf("gemm: %s with %s, packed gemm: %s, %d thread(s); image: %s; median of %d runs\n",
                std::string(gemm_backend_name()).c_str(), blas_core_summary().c_str(),
                std::string(packed_gemm_backend_name()).c_str(), compute_threads(), image_label.c_str(), n);
    std::printf("%-40s %10.2f ms\n", "decode", decode_ms);
    std::printf("%-40s %10.2f ms\n", "preprocess (resize, crop, norm)", preprocess_ms);
    const std::string weights_name(weight_storage_name(engine.options().weights));
    // "packed" when the loaded choice packs every shape, "chosen" when some shapes or row counts stay plain.
    bool all_packed = primary_packed;
    for (const GemmChoice& c : engine.model().gemm_plan().choices)
        all_packed = all_packed && !c.uses(GemmKernel::kPlain);
    const char* first = bf16_products    ? "bf16-prod"
                        : half_weights   ? weights_name.c_str()
                        : all_packed     ? "packed"
                        : primary_packed ? "chosen"
                                         : "plain";
    std::printf("%-40s %10s %8s %6s", "tower", first, "GFLOP/s", "%peak");
    if (towers.size() > 1) {
        std::printf(" %10s %8s %6s %8s", half_weights || bf16_products ? "fp32" : "plain", "GFLOP/s", "%peak",
                    "speed-up");
    }
    std::printf("\n");
    for (const Case& c : cases) {
        std::printf("%-40s %7.2f ms %8.1f %5.0f%%", c.name.c_str(), c.ms[0], gflops(c.flops, c.ms[0]),
                    100.0 * gflops(c.flops, c.ms[0]) / peak);
        if (c.ms.size() > 1) {
            std::printf(" %7.2f ms %8.1f %5.0f%% %7.2fx", c.ms[1], gflops(c.flops, c.ms[1]),
                        100.0 * gflops(c.flops, c.ms[1]) / peak, c.ms[1] / c.ms[0]);
        }
        std::printf("\n");
    }
    std::printf("gemm peak: %.1f GFLOP/s (%s)\n", peak, peak_detail.c_str());
    print_tower_beside_peak(tower_shape, vision_flops(cfg), std::max(5, n / 2), [&] { cases[0].run(towers[0]); });
    print_pool_handoff();
    if (primary_packed || bf16_products) {
        const double kernel_best = print_gemm_kernel_table(engine.model(), peak);
        // bf16 products run up to twice as fast as the float32 peak: no surprise there.
        if (kernel_best > peak && !bf16_products)
            std::printf("note: a weight shape above ran faster than the peak products\n");
    } else {
        // Nothing to choose from, but say so: the same section in every build.
        std::printf("gemm kernels at load:\n  %s\n",
                    half_weights              ? "the 16-bit weight kernel for the large matrices (clip.weights)"
                    : packed_gemm_available() ? "plain for every shape (weights not packed)"
                                              : "plain for every shape (this build has no packed GEMM)");
    }
    std::printf("throughput (%s): %.1f images/s (batch %d), %.1f short texts/s (batch %d)\n", first,
                1000.0 / cases[1].ms[0], batch, 1000.0 / cases[3].ms[0], batch);
    std::printf(
        "memory (%s): load %.0f ms; RSS %.0f MB after load, %.0f MB after both towers ran, peak %.0f MB "
        "(process start %.0f MB); packed weights %.0f MB, plain kept next to packed %.0f MB, converted %.0f MB\n",
        first, load_ms, rss_loaded, rss_ran, rss_peak, rss_start,
        static_cast<double>(engine.model().packed_bytes()) / (1024.0 * 1024.0),
        static_cast<double>(engine.model().plain_kept_bytes()) / (1024.0 * 1024.0),
        static_cast<double>(engine.model().converted_bytes()) / (1024.0 * 1024.0));
    // The figure to compare between weight storages: the one-model process with both towers warm.
    std::printf("rss after warm-up: %.0f MiB (weights %s, %.0f MiB of them 16-bit), products %s (%.0f MiB packed)\n",
                rss_ran, weights_name.c_str(), static_cast<double>(engine.model().half_bytes()) / (1024.0 * 1024.0),
                std::string(compute_precision_name(engine.model().compute())).c_str(),
                static_cast<double>(engine.model().packed_bytes()) / (1024.0 * 1024.0));
    if (service == "off") return 0;
    std::fflush(stdout);  // the service logs on stderr
    // The service packs its weights where the build can; with --packing off on such a build the comparison is
    // with the plain tower, and says so.
    if (primary_packed != packed_gemm_available()) std::printf("note: the tower runs plain, the service packed\n");
    Towers& same_as_service = towers[0];
    ServiceBenchOptions so;
    so.model_dir = engine.model().model_dir();
    so.embedding_dimension = cfg.embed_dim;
    so.image_size = s;
    so.iterations = n;
    so.workers = *workers;
    so.batch = batch;
    so.gemm_threads = engine.options().gemm_threads;
    so.weights = weights_name;
    so.compute = std::string(compute_precision_name(engine.model().compute()));
    so.image = image_bytes;
    so.tower_pass = [&] { (void)same_as_service.image->encode(rgb, 1, std::span(out).first(e)); };
    so.tower_rgb = [&](std::span<const std::uint8_t> picture) {
        (void)same_as_service.image->encode(picture, 1, std::span(out).first(e));
    };
    const auto items_per_s = [&](Case& c) {
        Stopwatch sw;
        c.run(same_as_service);
        return 1000.0 * c.per / sw.elapsed_ms();
    };
    so.image_batch_rate = [&] { return items_per_s(cases[1]); };
    so.text_batch_rate = [&] { return items_per_s(cases[3]); };
    so.tower_images_per_s = 1000.0 / std::min(cases[0].ms[0], cases[1].ms[0]);
    so.tower_texts_per_s = 1000.0 / std::min(cases[2].ms[0], cases[3].ms[0]);
    return run_service_bench(so) ? 0 : 1;
}

}  // namespace hclip::cli
