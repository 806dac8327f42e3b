#include "server/inference/health_monitor.h"

#include <algorithm>
#include <cstdio>

namespace hclip::server {

namespace {

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace

HealthMonitor::HealthMonitor(HealthOptions options) : options_(options) {}

HealthMonitor::~HealthMonitor() {
    stop();
}

void HealthMonitor::record(bool ok, const std::string& error) {
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    outcomes_.emplace_back(now, ok);
    prune(now);
    // Enough to judge a ratio; a burst of thousands of batches need not all be kept.
    while (outcomes_.size() > 4096)
        outcomes_.pop_front();
    ever_succeeded_ = ever_succeeded_ || ok;
    last_ok_ = ok;
    last_outcome_ = now;
    if (!ok) last_error_ = error;
}

void HealthMonitor::prune(Clock::time_point now) const {
    while (!outcomes_.empty() && now - outcomes_.front().first > options_.window)
        outcomes_.pop_front();
}

void HealthMonitor::start(const InferencePool& pool, HealthProbe probe) {
    pool_ = &pool;
    probe_ = std::move(probe);
    {
        std::lock_guard lock(mutex_);
        stop_ = false;
        last_probe_ = Clock::now();
    }
    thread_ = std::thread([this] { probe_loop(); });
}

void HealthMonitor::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void HealthMonitor::probe_loop() {
    // Wake often enough to start a due probe promptly, rarely enough to cost nothing.
    const auto tick =
        std::clamp<Clock::duration>(options_.probe_interval / 4, std::chrono::milliseconds(5), std::chrono::seconds(1));
    std::unique_lock lock(mutex_);
    while (!stop_) {
        cv_.wait_for(lock, tick, [this] { return stop_; });
        if (stop_) break;
        const auto now = Clock::now();
        const bool failing = !last_ok_ || probe_failure_.has_value();
        const bool idle = now - last_outcome_ >= options_.probe_interval;
        const bool due = now - last_probe_ >= options_.probe_interval;
        if (!due || !(failing || idle)) continue;
        last_probe_ = now;
        lock.unlock();
        // Only on an idle worker: under load the requests themselves are the evidence, and a stuck pool is
        // judged by the age of its batches, not by a probe queued behind them.
        const PoolHealth p = pool_->health();
        std::optional<Status> result;
        if (p.busy_workers < pool_->workers() && p.waiting == 0) result = probe_();
        lock.lock();
        if (!result) continue;
        ++probes_;
        if (result->ok()) {
            probe_failure_.reset();
        } else {
            ++failed_probes_;
            probe_failure_ = *result;
        }
    }
}

HealthVerdict HealthMonitor::verdict() const {
    // The pool's lock is taken first and never inside ours (the pool calls record() outside its own lock).
    const std::optional<PoolHealth> pool = pool_ != nullptr ? std::optional(pool_->health()) : std::nullopt;
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    prune(now);
    HealthVerdict v;
    for (const auto& [when, ok] : outcomes_)
        ++(ok ? v.window_succeeded : v.window_failed);
    v.probes = probes_;
    v.failed_probes = failed_probes_;
    char line[200];
    if (pool && pool->oldest_batch_seconds > seconds(options_.hung_bound)) {
        std::snprintf(line, sizeof line,
                      "an inference worker has been inside one batch for %.1f s, longer than the %.1f s bound "
                      "(performance.hung_worker_timeout): inference is stuck",
                      pool->oldest_batch_seconds, seconds(options_.hung_bound));
        v.reason = line;
        return v;
    }
    v.live = true;
    if (!ever_succeeded_) {
        v.reason = last_error_.empty() ? "no successful inference yet" : "no successful inference yet: " + last_error_;
    } else if (probe_failure_) {
        v.reason = "the health probe failed: " + probe_failure_->to_string();
    } else if (!last_ok_ && v.window_failed > v.window_succeeded) {
        // Both: a lone failure among successes does not flip health, and one success (a request's or a probe's)
        // after failures is evidence that the cause went away.
        std::snprintf(line, sizeof line,
                      "%d of the %d inferences of the last %.0f s failed; the latest: ", v.window_failed,
                      v.window_failed + v.window_succeeded, seconds(options_.window));
        v.reason = line + last_error_;
    } else {
        v.ready = true;
    }
    return v;
}

}  // namespace hclip::server
