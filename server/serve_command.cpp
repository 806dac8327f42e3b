#include "server/serve_command.h"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "config/service_config.h"
#include "kernels/compute_pool.h"
#include "selftest/assets.h"
#include "server/clip_service.h"
#include "server/http/http_server.h"
#include "server/log.h"
#include "server/systemd_notify.h"

#ifndef HCLIP_VERSION
#define HCLIP_VERSION "unknown"
#endif

namespace hclip::server {

namespace {

// SIGTERM/SIGINT may arrive on any thread (libraries start threads of their own), so the handler only writes to a
// pipe, which is async-signal-safe; a watcher thread does the actual stopping.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int signo) {
    const unsigned char b = static_cast<unsigned char>(signo);
    [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &b, 1);
}

Status install_signal_handlers() {
    if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) return internal_error("cannot create the signal pipe");
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(SIGTERM, &sa, nullptr) != 0 || ::sigaction(SIGINT, &sa, nullptr) != 0) {
        return internal_error("cannot install the SIGTERM/SIGINT handlers");
    }
    std::signal(SIGPIPE, SIG_IGN);  // a client closing its connection must not kill the service
    return {};
}

struct ServeOptions {
    std::string config_path;
    bool config_explicit = false;
    std::string model_dir, host;
    int port = -1;
};

Result<ServeOptions> parse_args(const std::vector<std::string>& args) {
    ServeOptions o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (i + 1 >= args.size()) return invalid_argument("unknown or incomplete option '" + a + "'");
        const std::string& v = args[++i];
        if (a == "--config") {
            o.config_path = v;
            o.config_explicit = true;
        } else if (a == "--model-dir") {
            o.model_dir = v;
        } else if (a == "--host") {
            o.host = v;
        } else if (a == "--port") {
            char* end = nullptr;
            const long p = std::strtol(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || p < 0 || p > 65535) return invalid_argument("--port must be 0 to 65535");
            o.port = static_cast<int>(p);
        } else {
            return invalid_argument("unknown option '" + a + "'");
        }
    }
    if (!o.config_explicit) {
        if (const char* env = std::getenv("HAILO_CLIP_CONFIG"); env != nullptr && *env != '\0') {
            o.config_path = env;
            o.config_explicit = true;
        } else {
            o.config_path = kDefaultConfigPath;
        }
    }
    return o;
}

Result<ServiceConfig> resolve_config(const ServeOptions& o) {
    ServiceConfig config;
    std::error_code ec;
    if (o.config_explicit || std::filesystem::exists(o.config_path, ec)) {
        HCLIP_ASSIGN_OR_RETURN(config, load_service_config(o.config_path));
    } else {
        log_info("no configuration file at " + o.config_path + "; using the built-in defaults");
    }
    if (!o.model_dir.empty()) config.clip.model_dir = o.model_dir;
    if (!o.host.empty()) config.server.host = o.host;
    if (o.port >= 0) config.server.port = o.port;
    return config;
}

// The shipped self-test's checks, or why they cannot be found.
Result<selftest::Expectations> shipped_expectations() {
    HCLIP_ASSIGN_OR_RETURN(std::filesystem::path assets, selftest::find_selftest_assets(""));
    return selftest::load_expectations((assets / "expectations.json").string());
}

// glibc's defaults suit short programs, not a service decoding pictures on many threads; on a small board resident
// memory matters. A setting given in the environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) wins.
void configure_malloc() {
    // One arena per busy thread: with 32 HTTP threads memory creeps up for minutes as arenas fill. Two keep it
    // flat; the hot paths barely allocate, so the lock is not contended.
    if (std::getenv("MALLOC_ARENA_MAX") == nullptr) ::mallopt(M_ARENA_MAX, 2);
    // By default the first free of a big block raises the mmap threshold to its size, so later big pictures (a
    // 12 MP photo decodes to 36 MB) stay in the arenas, fragment them and hold resident memory 30-80 MB above its
    // floor, stepping up over minutes. A fixed 4 MiB sends them back to the kernel when freed; everyday buffers (a
    // 640x480 picture, a request body) stay in the arenas and are reused without page faults.
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

// Runs the self-test through the service's workers and logs its verdict (and each failed check). True when it
// passed.
bool run_and_log_self_test(ClipService& service) {
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                        service.config().performance.request_timeout + 120.0));
    auto report = service.run_self_test(shipped_expectations(), deadline);
    if (!report.ok()) {
        log_error("self-test: could not run: " + report.status().message());
        return false;
    }
    for (const auto& check : report->checks) {
        if (check.status == selftest::CheckStatus::kFail)
            log_warning("self-test: FAIL " + check.name + ": " + check.detail);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    char took[48];
    std::snprintf(took, sizeof took, " (%.1f s)", seconds);
    (report->passed ? log_info : log_error)("self-test: " + report->verdict + took);
    return report->passed;
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
    auto options = parse_args(args);
    if (!options.ok()) {
        log_error(options.status().message() +
                  "\nusage: hailo-clip serve [--config PATH] [--model-dir DIR] [--host HOST] [--port N]");
        return 2;
    }
    configure_malloc();
    log_info(std::string("hailo-clip ") + HCLIP_VERSION + " starting");
    auto config = resolve_config(*options);
    if (!config.ok()) {
        log_error("cannot start: " + config.status().message());
        return 1;
    }
    set_debug_logging(config->server.debug);
    log_info("configuration: " + config->source);
    log_info("loading model '" + config->clip.model + "' from " + config->clip.model_dir);
    SystemdNotifier systemd;
    systemd.status("loading model '" + config->clip.model + "' from " + config->clip.model_dir);

    if (Status s = install_signal_handlers(); !s.ok()) {
        log_error("cannot start: " + s.message());
        return 1;
    }
    auto service = ClipService::create(*config);
    if (!service.ok()) {
        // No mock, no fallback: without a working model there is no service.
        log_error("cannot start: " + service.status().to_string());
        return 1;
    }
    const ClipEngine& engine = (*service)->engine();
    log_info("model: " + engine.model().config().summary() + ", weights " + engine.model().stored_dtype() + " (" +
             engine.model().weights_path() + ")" +
             (engine.model().compute() == ComputePrecision::kBf16 ? ", CPU products in bf16 (clip.compute)" : ""));
    char line[256];
    std::snprintf(
        line, sizeof line,
        "embedding dimension %d, backend %s, %d inference workers sharing %d compute threads, batch %d, queue %d, "
        "request timeout %g s, prompt cache %d",
        engine.embed_dim(), (*service)->health().backend.c_str(), config->performance.worker_threads, compute_threads(),
        config->clip.batch_size, config->performance.max_queue_size, config->performance.request_timeout,
        config->clip.text_cache_size);
    log_info(line);
    log_info("warm-up inference passed");
    // self_test: require checks the model before the service is ready; report checks it once it serves.
    if (config->clip.self_test == "require" && !run_and_log_self_test(**service)) {
        log_error("cannot start: the self-test failed (clip.self_test: require); see the lines above");
        (*service)->shutdown(Clock::now());
        return 1;
    }

    HttpServer http(**service, HCLIP_VERSION);
    auto port = http.bind(config->server.host, config->server.port);
    if (!port.ok()) {
        log_error("cannot start: " + port.status().message());
        return 1;
    }
    log_info("listening on http://" + config->server.host + ":" + std::to_string(*port));
    // Ready only now: the model is loaded, the warm-up inference passed and the port is bound.
    systemd.ready("serving '" + config->clip.model + "' on " + config->server.host + ":" + std::to_string(*port));
    systemd.start_watchdog([&service] {
        const HealthReport h = (*service)->health();
        return h.healthy ? std::string() : h.reason;
    });

    std::thread self_test;
    if (config->clip.self_test == "report") self_test = std::thread([&service] { run_and_log_self_test(**service); });

    std::thread watcher([&http, &systemd] {
        unsigned char signo = 0;
        while (::read(g_signal_pipe[0], &signo, 1) < 0 && errno == EINTR) {
        }
        log_info(std::string("received ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") +
                 "; stopping: no new connections, finishing requests in flight");
        systemd.stopping("stopping: finishing requests in flight");
        http.stop();
    });
    http.serve();  // returns once stopped and the in-flight requests are answered
    const auto drain = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(config->performance.request_timeout));
    systemd.stop_watchdog();
    (*service)->shutdown(drain);
    if (self_test.joinable()) self_test.join();  // the stopped workers end a self-test still running
    if (watcher.joinable()) {
        // serve() can also return on its own (listen failure): wake the watcher so it can exit.
        on_stop_signal(0);
        watcher.join();
    }
    log_info("stopped");
    return 0;
}

}  // namespace hclip::server
