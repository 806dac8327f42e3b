// The service's own self-test: the shipped checks (src/selftest) run through the inference workers, so what they
// judge is the encoders that answer requests (the NPU where it serves), not a second copy of the model.
#include <chrono>
#include <ctime>
#include <functional>
#include <thread>

#include "server/clip_service.h"

namespace hclip::server {

namespace {

std::string utc_now_iso8601() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// Submits one batch to the workers, waiting for room in the queue rather than failing when requests fill it: the
// self-test runs beside the traffic and must not turn a busy moment into a failed check. It gives up when the
// workers stop (shutdown) or the deadline passes.
using Submit = std::function<Result<InferenceOutput>(InferenceInput)>;
using StillRunning = std::function<bool()>;

Result<InferenceOutput> submit_when_there_is_room(const Submit& submit, const StillRunning& running,
                                                  InferenceInput input, Clock::time_point deadline) {
    for (;;) {
        auto out = submit(input);
        if (out.ok() || out.status().code() != StatusCode::kUnavailable || !running() || Clock::now() >= deadline) {
            return out;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// The encoder interfaces the self-test takes, answered by the service's workers. Raw projections: the self-test
// compares unnormalized embeddings with published ones.
class WorkerImageEncoder final : public ImageEncoder {
  public:
    WorkerImageEncoder(Submit submit, StillRunning running, std::string backend, int image_size, int max_batch,
                       Clock::time_point deadline)
        : submit_(std::move(submit)),
          running_(std::move(running)),
          backend_(std::move(backend)),
          image_size_(image_size),
          max_batch_(max_batch),
          deadline_(deadline) {}
    std::string_view backend_name() const override { return backend_; }
    int max_batch() const override { return max_batch_; }
    Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) override {
        const auto bytes = static_cast<std::size_t>(image_size_) * static_cast<std::size_t>(image_size_) * 3u;
        InferenceInput input;
        input.raw_projections = true;
        for (int i = 0; i < count; ++i) {
            PreparedImage image;
            image.size = image_size_;
            const auto first = rgb.begin() + static_cast<std::ptrdiff_t>(bytes * static_cast<std::size_t>(i));
            image.rgb.assign(first, first + static_cast<std::ptrdiff_t>(bytes));
            input.images.push_back(std::move(image));
        }
        HCLIP_ASSIGN_OR_RETURN(InferenceOutput answer,
                               submit_when_there_is_room(submit_, running_, std::move(input), deadline_));
        if (answer.image_embeddings.size() != out.size()) return internal_error("the workers answered a wrong size");
        std::copy(answer.image_embeddings.begin(), answer.image_embeddings.end(), out.begin());
        return {};
    }

  private:
    Submit submit_;
    StillRunning running_;
    std::string backend_;
    int image_size_, max_batch_;
    Clock::time_point deadline_;
};

class WorkerTextEncoder final : public TextEncoder {
  public:
    WorkerTextEncoder(Submit submit, StillRunning running, std::string backend, int max_batch,
                      Clock::time_point deadline)
        : submit_(std::move(submit)),
          running_(std::move(running)),
          backend_(std::move(backend)),
          max_batch_(max_batch),
          deadline_(deadline) {}
    std::string_view backend_name() const override { return backend_; }
    int max_batch() const override { return max_batch_; }
    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) override {
        InferenceInput input;
        input.raw_projections = true;
        input.texts.assign(texts.begin(), texts.end());
        HCLIP_ASSIGN_OR_RETURN(InferenceOutput answer,
                               submit_when_there_is_room(submit_, running_, std::move(input), deadline_));
        if (answer.text_embeddings.size() != out.size()) return internal_error("the workers answered a wrong size");
        std::copy(answer.text_embeddings.begin(), answer.text_embeddings.end(), out.begin());
        return {};
    }

  private:
    Submit submit_;
    StillRunning running_;
    std::string backend_;
    int max_batch_;
    Clock::time_point deadline_;
};

}  // namespace

Result<selftest::SelfTestReport> ClipService::run_self_test(const Result<selftest::Expectations>& expectations,
                                                            Clock::time_point deadline) {
    if (!expectations.ok()) {
        record_self_test({.time = utc_now_iso8601(),
                          .passed = false,
                          .verified = false,
                          .verdict = "FAIL: the self-test could not run: " + expectations.status().message()});
        return expectations.status();
    }
    const Submit submit = [this, deadline](InferenceInput input) { return infer(std::move(input), deadline); };
    const StillRunning running = [this] { return pool_->running(); };
    const int batch = config_.clip.batch_size;
    WorkerImageEncoder image(submit, running, engine_->image_backend(), engine_->image_size(), batch, deadline);
    WorkerTextEncoder text(submit, running, engine_->text_backend(), batch, deadline);
    selftest::SelfTestOptions options;
    options.model_names.push_back(config_.clip.model);
    auto report = selftest::run_selftest(*engine_, image, text, *expectations, options);
    SelfTestRecord record;
    record.time = utc_now_iso8601();
    if (report.ok()) {
        record.passed = report->passed;
        record.verified = report->verified;
        record.verdict = report->verdict;
    } else {
        record.verdict = "FAIL: the self-test could not run: " + report.status().message();
    }
    record_self_test(record);
    return report;
}

}  // namespace hclip::server
