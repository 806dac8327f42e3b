#include "server/inference/inference_pool.h"

#include <algorithm>
#include <new>

#include "engine/zero_shot.h"

namespace hclip::server {

namespace {

// A worker thread is the edge where an exception would end the process (std::terminate), so the few that can come
// out of a batch become an answer: out of memory (oneDNN scratch, a large batch) is 503, the request may be retried.
Status out_of_memory(const char* while_doing) {
    return unavailable(std::string("out of memory while ") + while_doing + "; retry shortly");
}

}  // namespace

InferencePool::InferencePool(int embed_dim, int workers, int max_queue_size, int batch_size, BatchObserver observer)
    : dim_(embed_dim),
      worker_count_(workers),
      max_queue_size_(max_queue_size),
      batch_size_(batch_size),
      observer_(std::move(observer)) {}

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
            worker.busy_since = Clock::now();
        }
        run_batch(worker, batch);  // marks the worker idle
        batch.clear();
    }
}

void InferencePool::mark_idle(Worker& worker) {
    std::lock_guard lock(mutex_);
    --stats_.busy_workers;
    worker.busy_since = {};
}

void InferencePool::run_batch(Worker& worker, std::vector<std::unique_ptr<Job>>& batch) {
    // Answer expired jobs without computing them (counted first, so whoever sees the answer sees the count).
    const auto now = Clock::now();
    std::vector<std::unique_ptr<Job>> expired;
    std::erase_if(batch, [&](std::unique_ptr<Job>& job) {
        if (now <= job->deadline) return false;
        expired.push_back(std::move(job));
        return true;
    });
    count_expired(expired.size());
    for (auto& job : expired)
        job->promise.set_value(deadline_exceeded("the request waited longer than request_timeout for a worker"));
    if (batch.empty()) {
        mark_idle(worker);
        return;
    }

    Result<BatchOutput> out = encode_batch(worker, batch);
    // Idle before any answer is released, so a caller that reads the gauges right after its answer sees it so.
    mark_idle(worker);
    if (!out.ok()) {
        const Status& status = out.status();
        record(false, status.to_string());
        // Inputs were validated before queueing, so a failure here is the model's, the device's or the memory's.
        const Status failure = status.code() == StatusCode::kUnavailable
                                   ? status
                                   : internal_error("inference failed: " + status.message());
        for (auto& job : batch)
            job->promise.set_value(failure);
        return;
    }
    // Recorded before any answer is released, so a caller that checks /health right after its answer sees it.
    record(true, "");
    // A caller whose deadline passed stopped waiting and answered 504: that request failed.
    const auto done = Clock::now();
    count_expired(static_cast<std::uint64_t>(
        std::count_if(batch.begin(), batch.end(), [&](const auto& job) { return done > job->deadline; })));
    const auto d = static_cast<std::size_t>(dim_);
    std::size_t img_at = 0, txt_at = 0;
    for (auto& job : batch) {
        const std::size_t ni = job->input.images.size() * d, nt = job->input.texts.size() * d;
        try {
            InferenceOutput result;
            result.image_embeddings.assign(out->image.begin() + static_cast<std::ptrdiff_t>(img_at),
                                           out->image.begin() + static_cast<std::ptrdiff_t>(img_at + ni));
            result.text_embeddings.assign(out->text.begin() + static_cast<std::ptrdiff_t>(txt_at),
                                          out->text.begin() + static_cast<std::ptrdiff_t>(txt_at + nt));
            if (!job->input.raw_projections) {
                l2_normalize_rows(result.image_embeddings, d);
                l2_normalize_rows(result.text_embeddings, d);
            }
            job->promise.set_value(std::move(result));
        } catch (const std::bad_alloc&) {
            job->promise.set_value(out_of_memory("copying a request's embeddings"));
        }
        img_at += ni;
        txt_at += nt;
    }
}

Result<InferencePool::BatchOutput> InferencePool::encode_batch(Worker& worker,
                                                               const std::vector<std::unique_ptr<Job>>& batch) const {
    try {
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
        BatchOutput out;
        out.image.resize(static_cast<std::size_t>(image_count) * d);
        out.text.resize(texts.size() * d);
        const auto timed = [this](const char* tower, auto&& pass) {
            const auto start = Clock::now();
            Status result = pass();
            if (tower_observer_) tower_observer_(tower, std::chrono::duration<double>(Clock::now() - start).count());
            return result;
        };
        if (image_count > 0)
            HCLIP_RETURN_IF_ERROR(timed("image", [&] { return worker.image->encode(rgb, image_count, out.image); }));
        if (!texts.empty()) HCLIP_RETURN_IF_ERROR(timed("text", [&] { return worker.text->encode(texts, out.text); }));
        return out;
    } catch (const std::bad_alloc&) {
        return out_of_memory("running a batch");
    } catch (const std::exception& e) {
        return internal_error(std::string("the encoder threw: ") + e.what());
    }
}

void InferencePool::count_expired(std::uint64_t n) {
    if (n == 0) return;
    std::lock_guard lock(mutex_);
    stats_.expired += n;
}

void InferencePool::record(bool ok, const std::string& error) {
    {
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
    if (observer_) observer_(ok, error);  // outside the lock: the observer may ask for health()
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
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    PoolHealth h = stats_;
    h.waiting = queue_.size();
    for (const auto& w : workers_) {
        if (w->busy_since == Clock::time_point{}) continue;
        h.oldest_batch_seconds =
            std::max(h.oldest_batch_seconds, std::chrono::duration<double>(now - w->busy_since).count());
    }
    return h;
}

bool InferencePool::running() const {
    std::lock_guard lock(mutex_);
    return accepting_ && !stopping_;
}

}  // namespace hclip::server
