#include "kernels/compute_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace hclip {

namespace {

// How long a helper that finished a loop watches for the next one before it sleeps, and how long a caller
// watches for its helpers to finish before it sleeps. A tower pass starts a loop every few tens of
// microseconds, and waking a sleeping thread costs about as much (futex and scheduler, more in a VM), so
// a short watch keeps a lone request's loops on both cores without a wake-up each. Bounded, and never while
// every core has a caller, so an idle or busy service does not burn a core.
constexpr auto kSpinFor = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Polls `ready` for up to kSpinFor; true as soon as it holds, false if the time ran out or `give_up` holds.
template <typename Ready, typename GiveUp>
bool spin_until(Ready ready, GiveUp give_up) {
    const auto until = std::chrono::steady_clock::now() + kSpinFor;
    for (int i = 0;; ++i) {
        if (ready()) return true;
        if (give_up()) return false;
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
        cpu_relax();
    }
}

thread_local int t_scope_depth = 0;   // ComputeScope nesting on this thread
thread_local bool t_in_task = false;  // this thread is running a parallel_for task

// One parallel_for call; lives on its caller's stack until every task has finished and no helper holds it.
struct Loop {
    FunctionRef<void(int)> task;
    int count = 0;
    std::atomic<int> next{0};      // the next unclaimed iteration
    std::atomic<int> finished{0};  // iterations done
    // Pool threads working on it: changed under the pool's mutex, read by the caller without it while it watches
    // for them to finish.
    std::atomic<int> helpers{0};

    // Claims and runs iterations until none is left or `stop()` says this thread should leave.
    template <typename Stop>
    void work(Stop stop) {
        for (int i = next.fetch_add(1, std::memory_order_relaxed); i < count;
             i = next.fetch_add(1, std::memory_order_relaxed)) {
            task(i);
            finished.fetch_add(1, std::memory_order_release);
            if (stop()) return;
        }
    }
    bool open() const { return next.load(std::memory_order_relaxed) < count; }
};

class Pool {
  public:
    // Never destroyed: a static destructor joining threads could run while a detached caller still computes.
    static Pool& instance() {
        static Pool* pool = new Pool();
        return *pool;
    }

    void set_limit(int threads) { limit_.store(threads > 0 ? threads : machine_cores(), std::memory_order_relaxed); }
    int limit() const { return limit_.load(std::memory_order_relaxed); }

    void enter() {
        if (t_scope_depth++ == 0) busy_.fetch_add(1, std::memory_order_relaxed);
    }
    void leave() {
        if (--t_scope_depth != 0) return;
        busy_.fetch_sub(1, std::memory_order_relaxed);
        // A helper that found every core busy sleeps; wake one if some loop could use the core freed now.
        if (open_loops_.load(std::memory_order_relaxed) > 0) {
            std::lock_guard lock(mutex_);
            wake_.notify_one();
        }
    }

    void run(int count, FunctionRef<void(int)> task) {
        const int limit = this->limit();
        if (count <= 0) return;
        if (count == 1 || limit <= 1 || t_in_task) {
            for (int i = 0; i < count; ++i)
                task(i);
            return;
        }
        ComputeScope scope;
        Loop loop{.task = task, .count = count};
        {
            std::lock_guard lock(mutex_);
            start_helpers_locked(limit - 1);
            loops_.push_back(&loop);
            open_loops_.fetch_add(1, std::memory_order_relaxed);
            loops_started_.fetch_add(1, std::memory_order_relaxed);
        }
        // Wake no more helpers than there are free cores and iterations for the others; helpers still watching
        // for work find the loop without a wake-up (one that stops watching meanwhile sees it under the mutex).
        const int free_cores = limit - busy_.load(std::memory_order_relaxed);
        const int to_wake = std::min(free_cores, count - 1) - watching_.load(std::memory_order_relaxed);
        for (int i = 0; i < to_wake; ++i)
            wake_.notify_one();
        t_in_task = true;
        loop.work([] { return false; });
        t_in_task = false;
        spin_until([&] { return loop.finished.load(std::memory_order_acquire) == count; }, [] { return false; });
        {
            std::lock_guard lock(mutex_);
            std::erase(loops_, &loop);  // no helper joins it from now on
            open_loops_.fetch_sub(1, std::memory_order_relaxed);
        }
        // The helpers leave right after their last iteration: watch for that instead of sleeping until told (a
        // wake-up costs more than the wait, more so in a VM), then sleep if one is slow.
        const auto finished = [&] {
            return loop.helpers.load(std::memory_order_acquire) == 0 &&
                   loop.finished.load(std::memory_order_acquire) == count;
        };
        if (spin_until(finished, [] { return false; })) return;
        std::unique_lock lock(mutex_);
        done_.wait(lock, finished);
    }

  private:
    Pool() {
        set_limit(0);
        loops_.reserve(64);  // concurrent callers; more only costs an allocation
    }

    // A thread the system refuses only means less parallelism: the caller runs every iteration it has to.
    void start_helpers_locked(int wanted) {
        try {
            while (static_cast<int>(helpers_.size()) < wanted)
                helpers_.emplace_back([this] { helper_loop(); });
        } catch (const std::system_error&) {
        }
    }

    bool has_free_core() const { return busy_.load(std::memory_order_relaxed) < limit(); }

    Loop* open_loop_locked() const {
        for (Loop* loop : loops_) {
            if (loop->open()) return loop;
        }
        return nullptr;
    }

    void helper_loop() {
        std::unique_lock lock(mutex_);
        for (;;) {
            Loop* loop = has_free_core() ? open_loop_locked() : nullptr;
            if (loop == nullptr) {
                // Nothing to join now, typically because this helper finished its share of a loop whose caller
                // is still on its own: watch for the next loop to start before sleeping. (Watching for "a loop is
                // registered" instead would see that finished loop and sleep, and the next loop would then need
                // a wake-up: measured, the helper then missed most of a tower's short products.)
                const unsigned started = loops_started_.load(std::memory_order_relaxed);
                lock.unlock();
                watching_.fetch_add(1, std::memory_order_relaxed);
                spin_until([&] { return loops_started_.load(std::memory_order_relaxed) != started; },
                           [this] { return !has_free_core(); });
                watching_.fetch_sub(1, std::memory_order_relaxed);
                lock.lock();
                wake_.wait(lock, [&] { return (loop = has_free_core() ? open_loop_locked() : nullptr) != nullptr; });
            }
            loop->helpers.fetch_add(1, std::memory_order_relaxed);
            busy_.fetch_add(1, std::memory_order_relaxed);
            lock.unlock();
            t_in_task = true;
            // Leave between iterations when the process computes on more threads than allowed (a caller
            // started meanwhile): that caller's core is its own.
            loop->work([this] { return busy_.load(std::memory_order_relaxed) > limit(); });
            t_in_task = false;
            lock.lock();
            busy_.fetch_sub(1, std::memory_order_relaxed);
            // The last access to the loop, which lives on its caller's stack: once the count is 0 it may be gone.
            if (loop->helpers.fetch_sub(1, std::memory_order_release) == 1) done_.notify_all();
        }
    }

    std::atomic<int> limit_{1};
    std::atomic<int> busy_{0};                // threads computing: callers inside a ComputeScope and working helpers
    std::atomic<int> open_loops_{0};          // loops_.size(), readable without the mutex
    std::atomic<int> watching_{0};            // helpers polling for the next loop instead of sleeping
    std::atomic<unsigned> loops_started_{0};  // loops ever started (wraps): what watching helpers poll
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<Loop*> loops_;
    std::vector<std::thread> helpers_;
};

}  // namespace

void set_compute_threads(int threads) {
    Pool::instance().set_limit(threads);
}

int compute_threads() {
    return Pool::instance().limit();
}

int machine_cores() {
    static const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return cores;
}

void parallel_for(int count, FunctionRef<void(int)> task) {
    Pool::instance().run(count, task);
}

void parallel_ranges(int count, int parts, FunctionRef<void(int, int)> part) {
    if (count <= 0) return;
    parts = std::clamp(parts, 1, count);
    if (parts == 1) {
        part(0, count);
        return;
    }
    parallel_for(parts, [&](int p) { part(count * p / parts, count * (p + 1) / parts); });
}

ComputeScope::ComputeScope() {
    Pool::instance().enter();
}

ComputeScope::~ComputeScope() {
    Pool::instance().leave();
}

}  // namespace hclip
