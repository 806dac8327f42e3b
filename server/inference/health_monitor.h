// Judges whether the service can answer, from evidence rather than from the last request that happened to run:
// - a worker inside one batch for longer than a bound is stuck (the service is no longer live);
// - a failed latest batch, when failed batches outnumber the successful ones over a recent window, makes it not
//   ready;
// - while the service is idle or failing, a periodic probe (a real inference of a small cached input whose answer
//   is checked) adds fresh evidence, so health recovers by itself once the cause goes away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/status.h"
#include "server/inference/inference_pool.h"

namespace hclip::server {

struct HealthOptions {
    Clock::duration hung_bound = std::chrono::seconds(90);      // a batch running longer means a stuck worker
    Clock::duration probe_interval = std::chrono::seconds(30);  // probe pace while idle or failing
    Clock::duration window = std::chrono::seconds(60);          // batches judged for the failure ratio
};

struct HealthVerdict {
    bool live = false;   // no worker stuck past the bound
    bool ready = false;  // live, one inference has succeeded, and not (latest failed and failures outnumber)
    std::string reason;  // why not ready, empty when ready
    int window_succeeded = 0, window_failed = 0;
    std::uint64_t probes = 0, failed_probes = 0;
};

// A real inference whose answer it checks: OK, a failure, or nullopt when it could not run now (no idle worker).
using HealthProbe = std::function<std::optional<Status>()>;

class HealthMonitor {
  public:
    explicit HealthMonitor(HealthOptions options);
    ~HealthMonitor();
    HealthMonitor(const HealthMonitor&) = delete;
    HealthMonitor& operator=(const HealthMonitor&) = delete;

    // The pool's BatchObserver: one batch's outcome. Thread-safe.
    void record(bool ok, const std::string& error);

    // Watches `pool` (for stuck workers) and runs `probe` from a thread of its own until stop(). `pool` must
    // outlive stop().
    void start(const InferencePool& pool, HealthProbe probe);
    void stop();

    HealthVerdict verdict() const;

  private:
    void probe_loop();
    void prune(Clock::time_point now) const;

    const HealthOptions options_;
    const InferencePool* pool_ = nullptr;
    HealthProbe probe_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
    mutable std::deque<std::pair<Clock::time_point, bool>> outcomes_;  // within options_.window
    bool ever_succeeded_ = false;
    bool last_ok_ = false;
    std::string last_error_;
    Clock::time_point last_outcome_{};
    Clock::time_point last_probe_{};
    std::optional<Status> probe_failure_;  // the last probe's failure, until a probe succeeds
    std::uint64_t probes_ = 0, failed_probes_ = 0;
};

}  // namespace hclip::server
