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
};

struct InferenceOutput {
    std::vector<float> image_embeddings;  // images.size() x dim, L2-normalized
    std::vector<float> text_embeddings;   // texts.size() x dim, L2-normalized
};

// Creates one worker's encoders (the CPU backend today; an NPU backend later).
struct EncoderFactory {
    std::function<Result<std::unique_ptr<ImageEncoder>>()> image;
    std::function<Result<std::unique_ptr<TextEncoder>>()> text;
};

struct PoolHealth {
    bool last_inference_ok = false;
    std::string last_error;
    std::uint64_t completed = 0;
    std::uint64_t failed = 0;
    std::uint64_t rejected = 0;
    std::size_t waiting = 0;
    int busy_workers = 0;
};

class InferencePool {
  public:
    InferencePool(int embed_dim, int workers, int max_queue_size, int batch_size);
    ~InferencePool();
    InferencePool(const InferencePool&) = delete;
    InferencePool& operator=(const InferencePool&) = delete;

    // Called after every tower pass with "image" or "text" and its seconds (for /metrics). Set before start().
    using TowerObserver = std::function<void(const char* tower, double seconds)>;
    void set_tower_observer(TowerObserver observer) { observer_ = std::move(observer); }

    // Creates every worker's encoders, then starts the workers. Fails if any encoder cannot be created.
    Status start(const EncoderFactory& factory);

    // kUnavailable at once when the queue is full or the pool is shutting down.
    Result<std::future<Result<InferenceOutput>>> submit(InferenceInput input, Clock::time_point deadline);

    // Stops accepting, lets the workers finish what is queued until `deadline`, fails the rest, joins.
    void shutdown(Clock::time_point deadline);

    PoolHealth health() const;
    int workers() const { return worker_count_; }

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
    };

    void worker_loop(Worker& worker);
    void run_batch(Worker& worker, std::vector<std::unique_ptr<Job>>& batch);
    void record(bool ok, const std::string& error);

    const int dim_, worker_count_, max_queue_size_, batch_size_;
    std::vector<std::unique_ptr<Worker>> workers_;
    TowerObserver observer_;

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
