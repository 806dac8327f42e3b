// The service's side of systemd's Type=notify protocol: READY=1 once the model is loaded and the warm-up passed,
// STATUS= lines, STOPPING=1, and WATCHDOG=1 pings while the service is healthy. Without NOTIFY_SOCKET (not run
// by systemd) or without libsystemd at build time every call does nothing.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace hclip::server {

class SystemdNotifier {
  public:
    SystemdNotifier() = default;
    SystemdNotifier(const SystemdNotifier&) = delete;
    SystemdNotifier& operator=(const SystemdNotifier&) = delete;
    ~SystemdNotifier() { stop_watchdog(); }

    void status(const std::string& text);
    void ready(const std::string& status_text);
    void stopping(const std::string& status_text);

    // When systemd set WATCHDOG_USEC for this process, pings at half that interval from a thread, but only while
    // `why_unhealthy()` is empty: a service whose inference is stuck or broken stops pinging (the reason goes to
    // the log and to STATUS=) and systemd restarts it.
    void start_watchdog(std::function<std::string()> why_unhealthy);
    void stop_watchdog();

  private:
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
};

}  // namespace hclip::server
