// The service half of `hailo-clip bench`: the REST service started in this process on loopback, driven over HTTP
// on kept-alive connections, next to the image tower alone, in one run.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace hclip::cli {

struct ServiceBenchOptions {
    std::string model_dir;
    int embedding_dimension = 0;  // the model's, so the service's checks pass
    int image_size = 0;
    int iterations = 10;
    int workers = 2;                   // performance.worker_threads
    int batch = 8;                     // clip.batch_size
    int gemm_threads = 0;              // performance.gemm_threads
    std::string weights = "fp32";      // clip.weights
    std::string compute = "fp32";      // clip.compute
    std::vector<std::uint8_t> image;   // the encoded picture every request sends
    std::function<void()> tower_pass;  // one image through the bench's own image tower, batch 1
    // Any prepared picture (image_size x image_size RGB) through the same tower, for the request profile.
    std::function<void(std::span<const std::uint8_t> rgb)> tower_rgb;
    bool profile = true;  // also take one /v1/classify request apart (bench_profile.h)
    // The towers' best throughput in this run (batch 1 or the configured batch, whichever was faster), printed
    // next to the service's throughput under load.
    double tower_images_per_s = 0.0;
    double tower_texts_per_s = 0.0;
    // One pass of the configured batch through the bench's own image / text tower (7-token texts), returning
    // items per second: taken again right before each load row, so that row's ratio shares the machine's state.
    std::function<double()> image_batch_rate;
    std::function<double()> text_batch_rate;
};

// Prints the comparison and, for images and for short texts, the throughput under 1, 2, 4 and 8 concurrent
// clients, and (with `profile`) the breakdown of one classify request with a photo-sized JPEG. Returns false (after
// printing why on stderr) when the service cannot start or a request fails.
bool run_service_bench(const ServiceBenchOptions& options);

}  // namespace hclip::cli
