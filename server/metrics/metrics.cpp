#include "server/metrics/metrics.h"

#include <cstdio>

namespace hclip::server {

namespace {

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, const std::string& value) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += " " + value + "\n";
}

}  // namespace

std::string Metrics::endpoint_label(const std::string& path) {
    static const char* const kKnown[] = {"/",
                                         "/health",
                                         "/health/live",
                                         "/health/ready",
                                         "/metrics",
                                         "/openapi.json",
                                         "/v1/classify",
                                         "/v1/embed/image",
                                         "/v1/embed/text",
                                         "/v1/embeddings",
                                         "/v1/prompt-sets"};
    for (const char* known : kKnown) {
        if (path == known) return path;
    }
    if (path.rfind("/v1/prompt-sets/", 0) == 0) return "/v1/prompt-sets/{name}";
    if (path.rfind("/static/", 0) == 0) return "/static/{file}";
    return "other";
}

void Metrics::Histogram::observe(double seconds) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) {
            ++counts[i];
            break;
        }
    }
    ++count;
    sum += seconds;
}

void Metrics::observe_request(const std::string& path, int status, double seconds) {
    const std::string endpoint = endpoint_label(path);
    std::lock_guard lock(mutex_);
    ++requests_[{endpoint, status}];
    request_seconds_[endpoint].observe(seconds);
}

void Metrics::observe_inference(const std::string& tower, double seconds) {
    std::lock_guard lock(mutex_);
    inference_seconds_[tower].observe(seconds);
}

void Metrics::render_histogram(std::string& out, const std::string& name, const std::string& label,
                               const std::map<std::string, Histogram>& series) {
    for (const auto& [value, h] : series) {
        const std::string base = label + "=\"" + value + "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            cumulative += h.counts[i];
            sample(out, name + "_bucket", base + ",le=\"" + number(kBuckets[i]) + "\"", std::to_string(cumulative));
        }
        sample(out, name + "_bucket", base + ",le=\"+Inf\"", std::to_string(h.count));
        sample(out, name + "_sum", base, number(h.sum));
        sample(out, name + "_count", base, std::to_string(h.count));
    }
}

std::string Metrics::render(const MetricsGauges& g) const {
    std::string out;
    {
        std::lock_guard lock(mutex_);
        header(out, "hailo_clip_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
        for (const auto& [key, count] : requests_) {
            sample(out, "hailo_clip_requests_total",
                   "endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"",
                   std::to_string(count));
        }
        header(out, "hailo_clip_request_duration_seconds", "histogram",
               "Time from the start of handling to the answer, by endpoint.");
        render_histogram(out, "hailo_clip_request_duration_seconds", "endpoint", request_seconds_);
        header(out, "hailo_clip_inference_duration_seconds", "histogram",
               "Time of one tower pass on a worker (a whole batch), by tower.");
        render_histogram(out, "hailo_clip_inference_duration_seconds", "tower", inference_seconds_);
    }
    header(out, "hailo_clip_queue_depth", "gauge", "Requests waiting for an inference worker.");
    sample(out, "hailo_clip_queue_depth", "", std::to_string(g.queue_depth));
    header(out, "hailo_clip_busy_workers", "gauge", "Inference workers running a batch.");
    sample(out, "hailo_clip_busy_workers", "", std::to_string(g.busy_workers));
    header(out, "hailo_clip_workers", "gauge", "Inference workers.");
    sample(out, "hailo_clip_workers", "", std::to_string(g.workers));
    header(out, "hailo_clip_inferences_total", "counter", "Batches run through the towers successfully.");
    sample(out, "hailo_clip_inferences_total", "", std::to_string(g.inferences));
    header(out, "hailo_clip_inference_failures_total", "counter", "Batches whose tower pass failed.");
    sample(out, "hailo_clip_inference_failures_total", "", std::to_string(g.failed_inferences));
    header(out, "hailo_clip_text_cache_hits_total", "counter", "Prompt embeddings served from the cache.");
    sample(out, "hailo_clip_text_cache_hits_total", "", std::to_string(g.text_cache_hits));
    header(out, "hailo_clip_text_cache_misses_total", "counter", "Prompt embeddings not in the cache.");
    sample(out, "hailo_clip_text_cache_misses_total", "", std::to_string(g.text_cache_misses));
    header(out, "hailo_clip_backend_info", "gauge", "The encoders serving (value 1, the backend as a label).");
    sample(out, "hailo_clip_backend_info", "backend=\"" + g.backend + "\"", "1");
    header(out, "hailo_clip_npu_errors_total", "counter",
           "Failed tower passes while a Hailo backend serves (0 on the CPU backend).");
    sample(out, "hailo_clip_npu_errors_total", "", std::to_string(g.npu_errors));
    header(out, "hailo_clip_healthy", "gauge", "1 when /health answers healthy.");
    sample(out, "hailo_clip_healthy", "", g.healthy ? "1" : "0");
    return out;
}

}  // namespace hclip::server
