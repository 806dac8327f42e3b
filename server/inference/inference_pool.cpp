#include "server/inference/inference_pool.h"

#include "engine/zero_shot.h"

namespace hclip::server {

InferencePool::InferencePool(int embed_dim, int workers, int max_queue_size, int batch_size)
    : dim_(embed_dim), worker_count_(workers), max_queue_size_(max_queue_size), batch_size_(batch_size) {}

InferencePool::~InferencePool() {
    shutdown(Clock::now());
}

Status InferencePool::start(const EncoderFactory& factory) {
    for (int i = 0; i < worker_count_; ++i) {
        auto w = std::make_unique<Worker>();
        HCLIP_ASSIGN_OR_RETURN(w->image, factory.image());
        HCLIP_ASSIGN_OR_RETURN(w->text, factory.text());
        workers_.push_back(std::move(w));
    }
    {
        std::lock_guard lock(mutex_);
        accepting_ = true;
    }
    for (auto& w : workers_)
        w->thread = std::thread([this, &w] { worker_loop(*w); });
    return {};
}

Result<std::future<Result<InferenceOutput>>> InferencePool::submit(InferenceInput input, Clock::time_point deadline) {
    auto job = std::make_unique<Job>();
    job->input = std::move(input);
    job->deadline = deadline;
    auto future = job->promise.get_future();
    {
        std::lock_guard lock(mutex_);
        if (!accepting_) return unavailable("the service is shutting down");
        // An idle worker takes a job at once, so it does not occupy a queue place.
        if (queue_.size() >= static_cast<std::size_t>(max_queue_size_ + idle_workers_)) {
            ++stats_.rejected;
            return unavailable("the service is busy: " + std::to_string(worker_count_) + " workers are busy and " +
                               std::to_string(queue_.size()) + " requests are waiting; retry shortly");
        }
        queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return future;
}

void InferencePool::worker_loop(Worker& worker) {
    std::vector<std::unique_ptr<Job>> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            ++idle_workers_;
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            --idle_workers_;
            if (queue_.empty()) return;                               // stopping and nothing left
            if (stopping_ && Clock::now() > drain_deadline_) return;  // shutdown fails what is left
            // Take up to batch_size waiting jobs: one tower pass serves them all.
            std::size_t images = 0;
            while (!queue_.empty() && static_cast<int>(batch.size()) < batch_size_) {
                const std::size_t more = queue_.front()->input.images.size();
                if (!batch.empty() && images + more > static_cast<std::size_t>(batch_size_)) break;
                images += more;
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            ++stats_.busy_workers;
        }
        run_batch(worker, batch);
        batch.clear();
        std::lock_guard lock(mutex_);
        --stats_.busy_workers;
    }
}

void InferencePool::run_batch(Worker& worker, std::vector<std::unique_ptr<Job>>& batch) {
    // Answer expired jobs without computing them.
    const auto now = Clock::now();
    std::erase_if(batch, [&](std::unique_ptr<Job>& job) {
        if (now <= job->deadline) return false;
        job->promise.set_value(deadline_exceeded("the request waited longer than request_timeout for a worker"));
        return true;
    });
    if (batch.empty()) return;

    std::vector<std::uint8_t> rgb;
    std::vector<std::vector<std::int32_t>> texts;
    int image_count = 0;
    for (const auto& job : batch) {
        for (const auto& img : job->input.images) {
            rgb.insert(rgb.end(), img.rgb.begin(), img.rgb.end());
            ++image_count;
        }
        texts.insert(texts.end(), job->input.texts.begin(), job->input.texts.end());
    }
    const auto d = static_cast<std::size_t>(dim_);
    std::vector<float> image_out(static_cast<std::size_t>(image_count) * d), text_out(texts.size() * d);
    Status status;
    const auto timed = [this](const char* tower, auto&& pass) {
        const auto start = Clock::now();
        Status result = pass();
        if (observer_) observer_(tower, std::chrono::duration<double>(Clock::now() - start).count());
        return result;
    };
    if (image_count > 0) status = timed("image", [&] { return worker.image->encode(rgb, image_count, image_out); });
    if (status.ok() && !texts.empty()) status = timed("text", [&] { return worker.text->encode(texts, text_out); });
    if (!status.ok()) {
        record(false, status.to_string());
        // Inputs were validated before queueing, so a failure here is the model's or the device's.
        const Status failure = status.code() == StatusCode::kUnavailable
                                   ? status
                                   : internal_error("inference failed: " + status.message());
        for (auto& job : batch)
            job->promise.set_value(failure);
        return;
    }
    l2_normalize_rows(image_out, d);
    l2_normalize_rows(text_out, d);
    // Recorded before any answer is released, so a caller that checks /health right after its answer sees it.
    record(true, "");
    std::size_t img_at = 0, txt_at = 0;
    for (auto& job : batch) {
        InferenceOutput out;
        const std::size_t ni = job->input.images.size() * d, nt = job->input.texts.size() * d;
        out.image_embeddings.assign(image_out.begin() + static_cast<std::ptrdiff_t>(img_at),
                                    image_out.begin() + static_cast<std::ptrdiff_t>(img_at + ni));
        out.text_embeddings.assign(text_out.begin() + static_cast<std::ptrdiff_t>(txt_at),
                                   text_out.begin() + static_cast<std::ptrdiff_t>(txt_at + nt));
        img_at += ni;
        txt_at += nt;
        job->promise.set_value(std::move(out));
    }
}

void InferencePool::record(bool ok, const std::string& error) {
    std::lock_guard lock(mutex_);
    stats_.last_inference_ok = ok;
    if (ok) {
        ++stats_.completed;
        stats_.last_error.clear();
    } else {
        ++stats_.failed;
        stats_.last_error = error;
    }
}

void InferencePool::shutdown(Clock::time_point deadline) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && workers_.empty()) return;
        accepting_ = false;
        stopping_ = true;
        drain_deadline_ = deadline;
    }
    cv_.notify_all();
    for (auto& w : workers_) {
        if (w->thread.joinable()) w->thread.join();
    }
    std::lock_guard lock(mutex_);
    for (auto& job : queue_)
        job->promise.set_value(unavailable("the service is shutting down"));
    queue_.clear();
    workers_.clear();
}

PoolHealth InferencePool::health() const {
    std::lock_guard lock(mutex_);
    PoolHealth h = stats_;
    h.waiting = queue_.size();
    return h;
}

}  // namespace hclip::server
