#include "server/systemd_notify.h"

#include <chrono>
#include <cstdint>

#include "server/log.h"

#ifdef HCLIP_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace hclip::server {

namespace {

void notify(const std::string& message) {
#ifdef HCLIP_HAVE_SYSTEMD
    // unset_environment = 0: the watchdog thread needs NOTIFY_SOCKET after READY=1.
    sd_notify(0, message.c_str());
#else
    (void)message;
#endif
}

// STATUS= is one line: systemctl status shows it as is.
std::string status_line(const std::string& text) {
    std::string line = "STATUS=";
    for (char c : text)
        line += (c == '\n') ? ' ' : c;
    return line;
}

}  // namespace

void SystemdNotifier::status(const std::string& text) {
    notify(status_line(text));
}

void SystemdNotifier::ready(const std::string& status_text) {
    notify("READY=1\n" + status_line(status_text));
}

void SystemdNotifier::stopping(const std::string& status_text) {
    notify("STOPPING=1\n" + status_line(status_text));
}

void SystemdNotifier::start_watchdog(std::function<std::string()> why_unhealthy) {
#ifdef HCLIP_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    const auto interval = std::chrono::microseconds(usec / 2);
    log_info("systemd watchdog: pinging every " + std::to_string(usec / 2000) + " ms while healthy");
    thread_ = std::thread([this, interval, why_unhealthy = std::move(why_unhealthy)] {
        bool was_healthy = true;
        std::unique_lock lock(mutex_);
        while (!stop_) {
            const std::string why = why_unhealthy();
            if (why.empty()) {
                sd_notify(0, "WATCHDOG=1");
                if (!was_healthy) log_info("healthy again: pinging the systemd watchdog");
            } else if (was_healthy) {
                log_error("unhealthy: " + why + "; no longer pinging the systemd watchdog");
                notify(status_line("unhealthy, watchdog pings stopped: " + why));
            }
            was_healthy = why.empty();
            cv_.wait_for(lock, interval, [this] { return stop_; });
        }
    });
#else
    (void)why_unhealthy;
#endif
}

void SystemdNotifier::stop_watchdog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace hclip::server
