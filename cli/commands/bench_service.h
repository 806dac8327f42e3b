// The service half of `hailo-clip bench`: the REST service started in this process on loopback, driven over HTTP
// on kept-alive connections, next to the image tower alone, in one run.
#pragma once

#include <cstdint>
#include <functional>
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
    std::vector<std::uint8_t> image;   // the encoded picture every request sends
    std::function<void()> tower_pass;  // one image through the bench's own image tower, batch 1
};

// Prints the comparison and the throughput under 1, 2 and 8 concurrent clients. Returns false (after printing
// why on stderr) when the service cannot start or a request fails.
bool run_service_bench(const ServiceBenchOptions& options);

}  // namespace hclip::cli
