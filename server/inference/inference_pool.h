// The inference workers. Each worker owns its own encoder sessions (no sharing, no locks around the model); a
// bounded queue holds requests waiting for a worker. A worker takes up to `batch_size` waiting requests at once
// and runs their images, and their texts, through one tower pass each (batching across requests).
//
// Every accepted request gets exactly one answer through its future: its embeddings, or an error. A request whose
// deadline passes while it waits is answered with kDeadlineExceeded without being computed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "engine/clip_engine.h"
#include "engine/encoder.h"

namespace hclip::server {

using Clock = std::chrono::steady_clock;

struct InferenceInput {
    std::vector<PreparedImage> images;
    std::vector<std::vector<std::int32_t>> texts;
    // The warm-up asks for the projections as the encoders made them, to check them before normalization.
    bool raw_projections = false;
};

struct InferenceOutput {
    std::vector<float> image_embeddings;  // images.size() x dim, L2-normalized (unless raw_projections)
    std::vector<float> text_embeddings;   // texts.size() x dim, L2-normalized (unless raw_projections)
};

// Told the outcome of every batch a worker ran (from the worker's thread), e.g. by the health monitor.
using BatchObserver = std::function<void(bool ok, const std::string& error)>;

// Creates one worker's encoders (the CPU backend today; an NPU backend later).
struct EncoderFactory {
    std::function<Result<std::unique_ptr<ImageEncoder>>()> image;
    std::function<Result<std::unique_ptr<TextEncoder>>()> text;
};

struct PoolHealth {
    bool last_inference_ok = false;
    std::string last_error;
    std::uint64_t completed = 0;  // batches that succeeded
    std::uint64_t failed = 0;     // batches that failed
    std::uint64_t expired = 0;    // requests whose deadline passed before their answer (dropped, or answered late)
    std::uint64_t rejected = 0;
    std::size_t waiting = 0;
    int busy_workers = 0;
    // How long the longest-running batch now in flight has been running (0 when every worker is idle): a worker
    // stuck inside an encoder never returns, so only its age can tell.
    double oldest_batch_seconds = 0.0;
};

class InferencePool {
  public:
    InferencePool(int embed_dim, int workers, int max_queue_size, int batch_size, BatchObserver observer = {});
    ~InferencePool();
    InferencePool(const InferencePool&) = delete;
    InferencePool& operator=(const InferencePool&) = delete;

    // Called after every tower pass with "image" or "text" and its seconds (for /metrics). Set before start().
    using TowerObserver = std::function<void(const char* tower, double seconds)>;
    void set_tower_observer(TowerObserver observer) { tower_observer_ = std::move(observer); }

    // Creates every worker's encoders, then starts the workers. Fails if any encoder cannot be created.
    Status start(const EncoderFactory& factory);

    // kUnavailable at once when the queue is full or the pool is shutting down.
    Result<std::future<Result<InferenceOutput>>> submit(InferenceInput input, Clock::time_point deadline);

    // Stops accepting, lets the workers finish what is queued until `deadline`, fails the rest, joins.
    void shutdown(Clock::time_point deadline);

    PoolHealth health() const;
    int workers() const { return worker_count_; }
    // True between a successful start() and shutdown(): the workers hold their encoders.
    bool running() const;

  private:
    struct Job {
        InferenceInput input;
        Clock::time_point deadline;
        std::promise<Result<InferenceOutput>> promise;
    };
    struct Worker {
        std::unique_ptr<ImageEncoder> image;
        std::unique_ptr<TextEncoder> text;
        std::thread thread;
        Clock::time_point busy_since{};  // when the batch in flight was taken (guarded by mutex_); {} when idle
    };
    struct BatchOutput {
        std::vector<float> image, text;
    };

    void worker_loop(Worker& worker);
    void mark_idle(Worker& worker);
    void run_batch(Worker& worker, std::vector<std::unique_ptr<Job>>& batch);
    Result<BatchOutput> encode_batch(Worker& worker, const std::vector<std::unique_ptr<Job>>& batch) const;
    void record(bool ok, const std::string& error);
    void count_expired(std::uint64_t n);

    const int dim_, worker_count_, max_queue_size_, batch_size_;
    const BatchObserver observer_;
    std::vector<std::unique_ptr<Worker>> workers_;
    TowerObserver tower_observer_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Job>> queue_;
    bool accepting_ = false;
    bool stopping_ = false;
    Clock::time_point drain_deadline_{};
    int idle_workers_ = 0;
    PoolHealth stats_;
};

}  // namespace hclip::server
