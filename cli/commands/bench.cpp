// hailo-clip bench --model-dir DIR [--image FILE] [--iterations N] [--batch N] [--threads N]
// Per-stage times (median of N runs after a warm-up) and, for the towers, achieved GFLOP/s next to the GEMM
// peak measured on this machine in the same run.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <span>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/engine_setup.h"
#include "cli/json_output.h"
#include "cli/synthetic_jpeg.h"
#include "core/mapped_file.h"
#include "core/timer.h"
#include "engine/embedding.h"
#include "image/preprocess.h"
#include "kernels/gemm.h"
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
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

double gemm_gflops(int m, int n, int k, int iterations) {
    std::vector<float> a(static_cast<std::size_t>(m) * k, 0.5f), b(static_cast<std::size_t>(n) * k, 0.25f),
        c(static_cast<std::size_t>(m) * n);
    const double ms = median_ms(iterations, [&] {
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

}  // namespace

int run_bench(const Argv& argv) {
    auto flags = engine_value_flags();
    flags.insert({"--image", "--iterations"});
    auto args = Args::parse(argv, flags, {});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    auto iterations = args->int_value("--iterations", 10, 1, 100000);
    if (!iterations.ok()) return fail(iterations.status().message(), kExitUsage);
    auto engine_r = engine_from_args(*args);
    if (!engine_r.ok()) return fail(engine_r.status().to_string());
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

    // Peak: a large square product, and the shape of a ViT MLP layer at the configured batch.
    const int peak_iters = std::max(3, n / 2);
    const double peak_square = gemm_gflops(1024, 1024, 1024, peak_iters);
    const int vit_rows = cfg.vision.num_tokens() * engine.options().max_batch;
    const double peak_vit = gemm_gflops(vit_rows, cfg.vision.mlp_width, cfg.vision.width, peak_iters);
    const double peak = std::max(peak_square, peak_vit);

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
    PreprocessSpec spec;
    spec.image_size = s;
    spec.mean = cfg.image_mean;
    spec.std = cfg.image_std;
    const double preprocess_ms = median_ms(n, [&] {
        (void)resize_crop_to_rgb8(decoded, s, rgb);
        normalize_rgb8_to_chw(rgb, s, spec, chw);
    });

    auto image_encoder = engine.create_image_encoder();
    auto text_encoder = engine.create_text_encoder();
    const auto e = static_cast<std::size_t>(cfg.embed_dim);
    const int batch = engine.options().max_batch;
    std::vector<float> out(e * static_cast<std::size_t>(batch));
    const double image_ms = median_ms(n, [&] { (void)image_encoder->encode(rgb, 1, std::span(out).first(e)); });
    std::vector<std::uint8_t> rgb_batch;
    for (int i = 0; i < batch; ++i)
        rgb_batch.insert(rgb_batch.end(), rgb.begin(), rgb.end());
    const double image_batch_ms =
        median_ms(std::max(1, n / 2), [&] { (void)image_encoder->encode(rgb_batch, batch, out); });

    const std::vector<std::vector<std::int32_t>> short_text = {engine.tokenize("a photo of a cat").ids};
    // Over 77 tokens: truncated to the full context, the text tower's worst case.
    std::string long_prompt;
    while (engine.tokenize(long_prompt).full_length <= 80) long_prompt += "a photo of a cat on a shelf, ";
    const std::vector<std::int32_t> long_ids = engine.tokenize(long_prompt).ids;
    const std::vector<std::vector<std::int32_t>> long_text = {long_ids};
    const double short_ms = median_ms(n, [&] { (void)text_encoder->encode(short_text, std::span(out).first(e)); });
    const double long_ms = median_ms(n, [&] { (void)text_encoder->encode(long_text, std::span(out).first(e)); });
    const std::vector<std::vector<std::int32_t>> short_batch(static_cast<std::size_t>(batch), short_text[0]);
    const double short_batch_ms = median_ms(n, [&] { (void)text_encoder->encode(short_batch, out); });

    const auto gflops = [](double flops, double ms) { return flops / (ms * 1e6); };
    const double img_flops = vision_flops(cfg);
    const int short_tokens = static_cast<int>(short_text[0].size());
    const int long_tokens = static_cast<int>(long_ids.size());

    std::printf("hailo-clip bench: %s\n", cfg.summary().c_str());
    std::printf("gemm: %s, %d thread(s); image: %s; median of %d runs\n", std::string(gemm_backend_name()).c_str(),
                gemm_threads(), image_label.c_str(), n);
    std::printf("%-34s %10s %12s %10s\n", "stage", "ms", "GFLOP/s", "% of peak");
    const auto row = [&](const char* name, double ms, double flops) {
        if (flops > 0) {
            std::printf("%-34s %10.2f %12.1f %9.0f%%\n", name, ms, gflops(flops, ms), 100.0 * gflops(flops, ms) / peak);
        } else {
            std::printf("%-34s %10.2f %12s %10s\n", name, ms, "-", "-");
        }
    };
    row("decode", decode_ms, 0);
    row("preprocess (resize, crop, norm)", preprocess_ms, 0);
    row("image tower, batch 1", image_ms, img_flops);
    char label[64];
    std::snprintf(label, sizeof label, "image tower, batch %d (per image)", batch);
    row(label, image_batch_ms / batch, img_flops);
    std::snprintf(label, sizeof label, "text tower, %d tokens", short_tokens);
    row(label, short_ms, text_flops(cfg, short_tokens));
    std::snprintf(label, sizeof label, "text tower, %d tokens, batch %d (per text)", short_tokens, batch);
    row(label, short_batch_ms / batch, text_flops(cfg, short_tokens));
    std::snprintf(label, sizeof label, "text tower, %d tokens", long_tokens);
    row(label, long_ms, text_flops(cfg, long_tokens));
    std::printf("gemm peak: %.1f GFLOP/s (1024^3: %.1f; %dx%dx%d: %.1f)\n", peak, peak_square, vit_rows,
                cfg.vision.mlp_width, cfg.vision.width, peak_vit);
    std::printf("throughput: %.1f images/s (batch %d), %.1f short texts/s (batch %d)\n",
                1000.0 * batch / image_batch_ms, batch, 1000.0 * batch / short_batch_ms, batch);
    return 0;
}

}  // namespace hclip::cli
