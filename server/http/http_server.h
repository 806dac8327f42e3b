// The HTTP front: cpp-httplib with the configured limits, the routes of the API specification, JSON errors for
// everything (including unknown routes, wrong methods and oversized bodies), and one log line per request.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/status.h"
#include "server/clip_service.h"

namespace httplib {
class Server;
}

namespace hclip::server {

class HttpServer {
  public:
    HttpServer(ClipService& service, std::string version);
    ~HttpServer();

    // Binds host:port (port 0 picks a free port). Returns the bound port.
    Result<int> bind(const std::string& host, int port);
    // Serves until stop() is called; returns after the in-flight requests have been answered.
    void serve();
    // Stops accepting connections. Safe to call from another thread, also before serve() has started.
    void stop();

  private:
    void install_routes();

    ClipService& service_;
    std::string version_;
    std::unique_ptr<httplib::Server> http_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> serve_returned_{false};
};

}  // namespace hclip::server
