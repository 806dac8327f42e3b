// Health that cannot lie: a worker stuck inside encode() turns the service unhealthy within the bound and stops the
// systemd watchdog ping; failures are judged over a window, and a probe brings health back without outside
// traffic; liveness and readiness differ; an allocation failure fails a request, not the process; the warm-up
// checks raw projections. The encoders are test doubles (tests/support/encoder_doubles.h).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <thread>

#include "server/clip_service.h"
#include "server/http/json_api.h"
#include "server/inference/health_monitor.h"
#include "server/inference/inference_pool.h"
#include "server/inference/projection_checks.h"
#include "server/systemd_notify.h"
#include "support/encoder_doubles.h"

namespace hclip::server {
namespace {

using namespace std::chrono_literals;
using testing::EncoderControl;

InferenceInput one_image(std::uint8_t value) {
    InferenceInput in;
    PreparedImage img;
    img.size = 2;
    img.rgb.assign(12, value);
    in.images.push_back(img);
    in.texts.push_back({1, 2, 3});
    return in;
}

// A pool of `workers` test-double workers reporting to a monitor, with the probe the service uses: one small
// request through the pool, answered within a deadline.
struct Harness {
    std::shared_ptr<EncoderControl> control = std::make_shared<EncoderControl>();
    HealthMonitor monitor;
    InferencePool pool;

    Harness(HealthOptions options, int workers)
        : monitor(options),
          pool(2, workers, 8, 1, [this](bool ok, const std::string& error) { monitor.record(ok, error); }) {
        EXPECT_TRUE(pool.start(testing::controlled_factory(control)).ok());
    }
    ~Harness() {
        control->open_gate();  // a blocked worker must finish before the pool can join it
        monitor.stop();
        pool.shutdown(Clock::now() + 1s);
    }
    Result<InferenceOutput> run(std::uint8_t value, Clock::duration timeout = 5s) {
        auto f = pool.submit(one_image(value), Clock::now() + timeout);
        if (!f.ok()) return f.status();
        return f->get();
    }
    void start_probing() {
        monitor.start(pool, [this]() -> std::optional<Status> {
            auto f = pool.submit(one_image(7), Clock::now() + 1s);
            if (!f.ok()) return std::nullopt;
            if (f->wait_for(1s) != std::future_status::ready) return deadline_exceeded("probe timed out");
            return f->get().status();
        });
    }
};

template <class Predicate>
bool eventually(Predicate p, Clock::duration limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
        if (p()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return p();
}

// A datagram socket standing in for systemd's notify socket, read all the time (as systemd does: an unread socket
// would block the sender) and counting WATCHDOG=1 pings.
class NotifySocket {
  public:
    NotifySocket() {
        path_ = (std::filesystem::temp_directory_path() / ("hclip-notify-" + std::to_string(::getpid()) + "-" +
                                                           std::to_string(Clock::now().time_since_epoch().count())))
                    .string();
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        timeval tv{0, 10000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        reader_ = std::thread([this] {
            char buffer[512];
            while (!stop_.load()) {
                const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
                if (n > 0 && std::string(buffer, static_cast<std::size_t>(n)) == "WATCHDOG=1") pings_.fetch_add(1);
            }
        });
    }
    ~NotifySocket() {
        stop_.store(true);
        reader_.join();
        ::close(fd_);
        std::filesystem::remove(path_);
    }
    const std::string& path() const { return path_; }
    // WATCHDOG=1 messages received during `how_long`.
    int pings_during(Clock::duration how_long) {
        const int before = pings_.load();
        std::this_thread::sleep_for(how_long);
        return pings_.load() - before;
    }

  private:
    std::string path_;
    int fd_ = -1;
    std::atomic<int> pings_{0};
    std::atomic<bool> stop_{false};
    std::thread reader_;
};

TEST(ServiceHealth, WorkerBlockedInsideEncodeTurnsUnhealthyWithinTheBoundAndStopsTheWatchdog) {
    HealthOptions options;
    options.hung_bound = 300ms;
    options.probe_interval = 10s;  // recovery here comes from the batch returning, not from a probe
    Harness h(options, 1);
    ASSERT_TRUE(h.run(1).ok());  // the warm-up's role: one inference succeeded
    h.start_probing();
    ASSERT_TRUE(h.monitor.verdict().ready);

    NotifySocket systemd;
    ::setenv("NOTIFY_SOCKET", systemd.path().c_str(), 1);
    ::setenv("WATCHDOG_USEC", "40000", 1);  // a ping every 20 ms while healthy
    ::unsetenv("WATCHDOG_PID");
    SystemdNotifier notifier;
    notifier.start_watchdog([&h] { return h.monitor.verdict().reason; });
    EXPECT_GE(systemd.pings_during(200ms), 3) << "the watchdog must ping while healthy";

    // The device hangs: the next batch never returns from encode().
    h.control->close_gate();
    auto stuck = h.pool.submit(one_image(2), Clock::now() + 100ms);
    ASSERT_TRUE(stuck.ok());
    ASSERT_TRUE(eventually([&] { return h.control->entered.load() == 2; }, 2s));
    const auto blocked_at = Clock::now();
    ASSERT_TRUE(eventually([&] { return !h.monitor.verdict().live; }, 2s)) << "a stuck worker must be noticed";
    const auto noticed_after = Clock::now() - blocked_at;
    EXPECT_GE(noticed_after, options.hung_bound - 20ms) << "not before the bound";
    EXPECT_LE(noticed_after, options.hung_bound + 200ms) << "within the bound (and a little scheduling)";
    const HealthVerdict v = h.monitor.verdict();
    EXPECT_FALSE(v.ready);
    EXPECT_NE(v.reason.find("inference is stuck"), std::string::npos) << v.reason;
    EXPECT_NE(v.reason.find("hung_worker_timeout"), std::string::npos) << v.reason;
    systemd.pings_during(50ms);  // a ping sent just before the verdict changed
    EXPECT_EQ(systemd.pings_during(300ms), 0) << "no watchdog ping while a worker is stuck";

    // The cause goes away: the batch returns, the service is live and ready again and pings resume.
    h.control->open_gate();
    EXPECT_EQ(stuck->get().status().code(), StatusCode::kOk);
    ASSERT_TRUE(eventually([&] { return h.monitor.verdict().ready; }, 2s)) << h.monitor.verdict().reason;
    EXPECT_TRUE(h.monitor.verdict().live);
    EXPECT_GE(systemd.pings_during(200ms), 3);
    notifier.stop_watchdog();
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    // The request answered after its deadline (its caller had given up with 504) counts as a failure.
    EXPECT_EQ(h.pool.health().expired, 1u);
}

TEST(ServiceHealth, OneFailedBatchDoesNotFlipHealth) {
    HealthOptions options;
    options.probe_interval = 10s;  // no probe in this test
    Harness h(options, 1);
    ASSERT_TRUE(h.run(1).ok());
    h.control->fail_next = 1;
    EXPECT_EQ(h.run(2).status().code(), StatusCode::kUnavailable);
    const HealthVerdict v = h.monitor.verdict();
    EXPECT_TRUE(v.ready) << v.reason;  // one success, one failure: failures do not outnumber successes
    EXPECT_EQ(v.window_failed, 1);
    EXPECT_EQ(v.window_succeeded, 1);
}

TEST(ServiceHealth, OneSuccessAfterFailuresRestoresHealth) {
    HealthOptions options;
    options.probe_interval = 10s;  // no probe in this test
    Harness h(options, 1);
    ASSERT_TRUE(h.run(1).ok());
    h.control->fail_next = 3;
    for (std::uint8_t i = 0; i < 3; ++i)
        EXPECT_FALSE(h.run(i).ok());
    EXPECT_FALSE(h.monitor.verdict().ready);
    ASSERT_TRUE(h.run(9).ok());  // the cause went away: evidence beats the ratio
    const HealthVerdict v = h.monitor.verdict();
    EXPECT_TRUE(v.ready) << v.reason;
    EXPECT_EQ(v.window_failed, 3);
}

TEST(ServiceHealth, FailedBatchesThenHealthyProbesReturnToHealthyWithoutOutsideTraffic) {
    HealthOptions options;
    options.probe_interval = 50ms;
    Harness h(options, 1);
    ASSERT_TRUE(h.run(1).ok());
    h.start_probing();
    h.control->fail_next = 2;
    EXPECT_FALSE(h.run(2).ok());
    EXPECT_FALSE(h.run(3).ok());
    HealthVerdict v = h.monitor.verdict();
    ASSERT_FALSE(v.ready) << "2 of 3 recent inferences failed";
    EXPECT_TRUE(v.live) << "failing is not stuck";
    EXPECT_NE(v.reason.find("2 of the 3 inferences"), std::string::npos) << v.reason;
    EXPECT_NE(v.reason.find("device lost"), std::string::npos) << v.reason;
    // No request from outside from here on: only the probe runs. The probe's batch makes the service ready as it
    // completes, a moment before the monitor counts the probe: wait for both.
    ASSERT_TRUE(eventually(
        [&] {
            const HealthVerdict now = h.monitor.verdict();
            return now.ready && now.probes >= 1u;
        },
        2s))
        << h.monitor.verdict().reason;
    v = h.monitor.verdict();
    EXPECT_TRUE(v.ready);
    EXPECT_GE(v.probes, 1u);
    EXPECT_EQ(v.failed_probes, 0u);
}

TEST(ServiceHealth, PersistentFailureStaysUnhealthyAndRecoversWhenTheCauseGoesAway) {
    HealthOptions options;
    options.probe_interval = 30ms;
    Harness h(options, 2);
    ASSERT_TRUE(h.run(1).ok());
    h.control->fail_always = true;
    EXPECT_FALSE(h.run(2).ok());
    EXPECT_FALSE(h.run(3).ok());
    h.start_probing();
    ASSERT_TRUE(eventually([&] { return h.monitor.verdict().failed_probes >= 3; }, 3s));
    HealthVerdict v = h.monitor.verdict();
    EXPECT_FALSE(v.ready);
    EXPECT_TRUE(v.live);
    h.control->fail_always = false;
    ASSERT_TRUE(eventually([&] { return h.monitor.verdict().ready; }, 3s)) << h.monitor.verdict().reason;
}

TEST(ServiceHealth, NothingSucceededYetIsNotReady) {
    Harness h(HealthOptions{}, 1);
    const HealthVerdict v = h.monitor.verdict();
    EXPECT_TRUE(v.live);
    EXPECT_FALSE(v.ready);
    EXPECT_NE(v.reason.find("no successful inference yet"), std::string::npos);
}

TEST(ServiceHealth, LivenessAndReadinessBodies) {
    HealthReport report;
    report.live = true;
    report.healthy = false;
    report.reason = "3 of the 4 inferences of the last 60 s failed";
    EXPECT_EQ(liveness_response(report), nlohmann::json({{"live", true}}));
    EXPECT_EQ(readiness_response(report), nlohmann::json({{"ready", false}, {"reason", report.reason}}));
    report.live = false;
    EXPECT_EQ(liveness_response(report), nlohmann::json({{"live", false}, {"reason", report.reason}}));
    report.healthy = true;
    report.live = true;
    EXPECT_EQ(readiness_response(report), nlohmann::json({{"ready", true}}));
    // /health keeps the seed's fields; the last self-test appears only once one has run.
    const auto health = health_response(report, "test");
    for (const char* key : {"status", "service", "model_loaded", "model"})
        EXPECT_TRUE(health.contains(key)) << key;
    EXPECT_FALSE(health.contains("last_self_test"));
    report.last_self_test = SelfTestRecord{"2026-11-27T10:00:00Z", true, false, "PASS (sanity only)"};
    EXPECT_EQ(health_response(report, "test")["last_self_test"], nlohmann::json({{"time", "2026-11-27T10:00:00Z"},
                                                                                 {"passed", true},
                                                                                 {"verified", false},
                                                                                 {"verdict", "PASS (sanity only)"}}));
}

// An allocation failure inside a batch fails that batch's requests with 503 (kUnavailable); before, the
// std::bad_alloc left the worker thread and std::terminate ended the process.
TEST(ServiceHealth, AllocationFailureInsideABatchFailsTheRequestNotTheProcess) {
    Harness h(HealthOptions{}, 1);
    h.control->throw_bad_alloc = true;
    auto r = h.run(1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("out of memory"), std::string::npos) << r.status().message();
    h.control->throw_bad_alloc = false;
    EXPECT_TRUE(h.run(2).ok()) << "the worker survives and serves the next request";
}

TEST(ServiceHealth, ExpiredRequestsCountAsFailures) {
    Harness h(HealthOptions{}, 1);
    h.control->close_gate();
    auto first = h.pool.submit(one_image(1), Clock::now() + 5s);  // the worker takes it and blocks
    ASSERT_TRUE(eventually([&] { return h.control->entered.load() == 1; }, 2s));
    auto waits = h.pool.submit(one_image(2), Clock::now() + 20ms);  // expires in the queue
    std::this_thread::sleep_for(50ms);
    h.control->open_gate();
    EXPECT_TRUE(first->get().ok());
    EXPECT_EQ(waits->get().status().code(), StatusCode::kDeadlineExceeded);
    EXPECT_EQ(h.pool.health().expired, 1u);
}

TEST(WarmUpChecks, RawProjectionsMustBeFiniteNonZeroAndDependOnTheInput) {
    const std::vector<float> good = {0.3f, -1.2f, 2.0f, 0.5f, 0.1f, -0.4f};
    EXPECT_TRUE(check_raw_projections(good, 3, "image projection").ok());
    const std::vector<float> zeros = {0, 0, 0, 0.5f, 0.1f, -0.4f};
    EXPECT_NE(check_raw_projections(zeros, 3, "image projection").message().find("all-zero"), std::string::npos);
    const std::vector<float> nan = {0.3f, std::numeric_limits<float>::quiet_NaN(), 2.0f, 0.5f, 0.1f, -0.4f};
    EXPECT_NE(check_raw_projections(nan, 3, "text projection").message().find("non-finite"), std::string::npos);
    // Normalized, these would pass as unit vectors; raw, they show a tower that ignores its input.
    const std::vector<float> same = {0.3f, -1.2f, 2.0f, 0.3f, -1.2f, 2.0f};
    EXPECT_NE(check_raw_projections(same, 3, "text projection").message().find("ignores its input"), std::string::npos);
}

}  // namespace
}  // namespace hclip::server
