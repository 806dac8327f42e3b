#include "cli/commands/bench_service.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "core/timer.h"
#include "kernels/compute_pool.h"
#include "server/clip_service.h"
#include "server/http/http_server.h"

namespace hclip::cli {

namespace {

std::string base64(const std::vector<std::uint8_t>& bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = static_cast<std::uint32_t>(bytes[i]) << 16;
        if (n > 1) v |= static_cast<std::uint32_t>(bytes[i + 1]) << 8;
        if (n > 2) v |= bytes[i + 2];
        for (std::size_t j = 0; j < 4; ++j)
            out += j <= n ? kAlphabet[(v >> (18 - 6 * j)) & 63] : '=';
    }
    return out;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const auto at = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(at, v.size() - 1)];
}

// A client on one kept-alive connection (TCP_NODELAY as every pooling client library should set it).
class Client {
  public:
    Client(int port, const std::string& body) : http_("127.0.0.1", port), body_(body) {
        http_.set_keep_alive(true);
        http_.set_tcp_nodelay(true);
        http_.set_read_timeout(120, 0);
    }
    // Milliseconds for one POST /v1/embed/image, or a negative value when it failed.
    double embed() {
        Stopwatch sw;
        auto res = http_.Post("/v1/embed/image", body_, "application/json");
        if (!res || res->status != 200) {
            std::fprintf(stderr, "hailo-clip bench: request failed: %s\n",
                         res ? (std::to_string(res->status) + " " + res->body).c_str()
                             : httplib::to_string(res.error()).c_str());
            return -1.0;
        }
        return sw.elapsed_ms();
    }

  private:
    httplib::Client http_;
    const std::string& body_;
};

struct Load {
    int clients = 0;
    std::vector<double> ms;
    double seconds = 0.0;
    bool ok = true;
};

Load run_clients(int port, const std::string& body, int clients, int requests_each) {
    Load load;
    load.clients = clients;
    std::vector<std::vector<double>> times(static_cast<std::size_t>(clients));
    std::atomic<bool> ok{true};
    Stopwatch sw;
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            Client client(port, body);
            for (int r = 0; r < requests_each && ok.load(); ++r) {
                const double ms = client.embed();
                if (ms < 0.0) ok.store(false);
                times[static_cast<std::size_t>(c)].push_back(ms);
            }
        });
    }
    for (auto& t : threads)
        t.join();
    load.seconds = sw.elapsed_ms() / 1000.0;
    load.ok = ok.load();
    for (const auto& t : times)
        load.ms.insert(load.ms.end(), t.begin(), t.end());
    return load;
}

}  // namespace

bool run_service_bench(const ServiceBenchOptions& o) {
    server::ServiceConfig config;
    config.source = "hailo-clip bench";
    config.server.host = "127.0.0.1";
    config.server.port = 0;
    config.clip.model_dir = o.model_dir;
    config.clip.backend = "cpu";
    config.clip.embedding_dimension = o.embedding_dimension;
    config.clip.image_size = o.image_size;
    config.clip.batch_size = o.batch;
    config.clip.weights = o.weights;
    config.performance.worker_threads = o.workers;
    config.performance.gemm_threads = o.gemm_threads;
    auto service = server::ClipService::create(config);
    if (!service.ok()) {
        std::fprintf(stderr, "hailo-clip bench: cannot start the service: %s\n", service.status().to_string().c_str());
        return false;
    }
    server::HttpServer http(**service, "bench");
    auto port = http.bind(config.server.host, 0);
    if (!port.ok()) {
        std::fprintf(stderr, "hailo-clip bench: %s\n", port.status().to_string().c_str());
        return false;
    }
    std::thread serving([&http] { http.serve(); });
    const std::string body = "{\"image\": \"data:image/jpeg;base64," + base64(o.image) + "\"}";

    // One image, one request at a time: the tower alone on one thread and on the whole pool, the service
    // in-process, the service over HTTP, taken in turn so that other load on the machine touches all alike.
    const int pool_threads = compute_threads();
    std::vector<double> tower_one_ms, tower_ms, inproc_ms, http_ms;
    bool ok = true;
    {
        Client client(*port, body);
        const auto deadline = [] { return server::Clock::now() + std::chrono::seconds(120); };
        for (int i = -1; i < o.iterations && ok; ++i) {  // i = -1: warm-up
            set_compute_threads(1);                      // nothing else computes meanwhile: the service is idle
            Stopwatch tower_one_sw;
            o.tower_pass();
            const double tower_one = tower_one_sw.elapsed_ms();
            set_compute_threads(pool_threads);
            Stopwatch tower_sw;
            o.tower_pass();
            const double tower = tower_sw.elapsed_ms();
            Stopwatch inproc_sw;
            ok = (*service)->embed_image(o.image, deadline()).ok();
            const double inproc = inproc_sw.elapsed_ms();
            const double wire = client.embed();
            ok = ok && wire >= 0.0;
            if (i < 0) continue;
            tower_one_ms.push_back(tower_one);
            tower_ms.push_back(tower);
            inproc_ms.push_back(inproc);
            http_ms.push_back(wire);
        }
    }
    std::vector<Load> loads;
    for (int clients : {1, 2, 8}) {
        if (!ok) break;
        loads.push_back(run_clients(*port, body, clients, std::max(4, o.iterations)));
        ok = loads.back().ok;
    }
    http.stop();
    serving.join();
    (*service)->shutdown(server::Clock::now() + std::chrono::seconds(5));
    if (!ok) {
        std::fprintf(stderr, "hailo-clip bench: the service failed a request (see above)\n");
        return false;
    }

    const double tower = percentile(tower_ms, 50), tower_best = percentile(tower_ms, 0);
    std::printf("service (in this process, %d workers, compute pool of %d threads, batch %d), one image per request:\n",
                o.workers, compute_threads(), o.batch);
    std::printf("%-40s %7.2f ms (best %.2f)\n", "image tower alone, batch 1, 1 thread", percentile(tower_one_ms, 50),
                percentile(tower_one_ms, 0));
    std::printf("%-40s %7.2f ms (best %.2f)\n",
                ("image tower alone, batch 1, " + std::to_string(pool_threads) + " threads").c_str(), tower,
                tower_best);
    const auto versus = [&](const char* name, const std::vector<double>& ms) {
        const double median = percentile(ms, 50);
        const double best = percentile(ms, 0);
        std::printf("%-40s %7.2f ms (best %.2f), %+.0f%% over the tower (best: %+.0f%%)\n", name, median, best,
                    100.0 * (median / tower - 1.0), 100.0 * (best / tower_best - 1.0));
    };
    versus("service in-process (decode + tower)", inproc_ms);
    versus("service over HTTP, kept-alive", http_ms);
    std::printf("%-40s %10s %10s %10s\n", "concurrent HTTP clients", "images/s", "p50", "p99");
    for (const Load& l : loads) {
        std::printf("%-40d %10.1f %7.1f ms %7.1f ms   (%zu requests)\n", l.clients,
                    static_cast<double>(l.ms.size()) / l.seconds, percentile(l.ms, 50), percentile(l.ms, 99),
                    l.ms.size());
    }
    return true;
}

}  // namespace hclip::cli
