// Counters and histograms for GET /metrics, in the Prometheus text exposition format (version 0.0.4). Recording
// is a short lock per request or tower pass; rendering copies the numbers under the same lock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace hclip::server {

// The numbers that live elsewhere (the pool, the cache, the backend), read when /metrics is asked for.
struct MetricsGauges {
    std::size_t queue_depth = 0;
    int busy_workers = 0;
    int workers = 0;
    std::uint64_t inferences = 0;
    std::uint64_t failed_inferences = 0;
    std::uint64_t text_cache_hits = 0;
    std::uint64_t text_cache_misses = 0;
    std::string backend;
    std::uint64_t npu_errors = 0;
    bool healthy = false;
};

class Metrics {
  public:
    // `endpoint` is the request path; paths the service does not serve are counted as "other" and
    // /v1/prompt-sets/NAME as "/v1/prompt-sets/{name}", so clients cannot grow the label set.
    void observe_request(const std::string& path, int status, double seconds);
    // tower: "image" or "text"; seconds of one tower pass on a worker.
    void observe_inference(const std::string& tower, double seconds);

    std::string render(const MetricsGauges& gauges) const;

    static std::string endpoint_label(const std::string& path);

  private:
    static constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                        0.25,  0.5,    1.0,   2.5,  5.0,   10.0, 30.0};
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> counts{};  // per bucket (not cumulative)
        std::uint64_t count = 0;
        double sum = 0.0;
        void observe(double seconds);
    };
    static void render_histogram(std::string& out, const std::string& name, const std::string& label,
                                 const std::map<std::string, Histogram>& series);

    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::uint64_t> requests_;
    std::map<std::string, Histogram> request_seconds_;
    std::map<std::string, Histogram> inference_seconds_;
};

}  // namespace hclip::server
