#include "cli/commands/bench_service.h"

#include "cli/commands/bench_profile.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands/bench_stats.h"
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

// A client on one kept-alive connection (TCP_NODELAY as every pooling client library should set it).
class Client {
  public:
    explicit Client(int port) : http_("127.0.0.1", port) {
        http_.set_keep_alive(true);
        http_.set_tcp_nodelay(true);
        http_.set_read_timeout(120, 0);
    }
    // Milliseconds for one POST, or a negative value when it failed.
    double post(const char* path, const std::string& body) {
        Stopwatch sw;
        auto res = http_.Post(path, body, "application/json");
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
};

// A different short prompt for every request (so the service's prompt cache never answers): "a photo" and three
// words of a 16-word list, one token each, 7 tokens with the start and end tokens, as the tower's short case.
std::string unique_prompt(std::uint32_t n) {
    static constexpr const char* kWords[16] = {"red",   "blue",  "green", "small", "large", "old",  "new",  "wooden",
                                               "metal", "shelf", "table", "chair", "car",   "tree", "door", "box"};
    return std::string("a photo ") + kWords[n % 16] + " " + kWords[n / 16 % 16] + " " + kWords[n / 256 % 16];
}

enum class Kind { kImage, kText };

struct Load {
    Kind kind = Kind::kImage;
    int clients = 0;
    double tower_rate = 0.0;  // the tower's batch throughput, measured just before this load
    std::vector<double> ms;
    double seconds = 0.0;
    bool ok = true;
};

// `clients` threads, each on its own connection, each sending `requests_each` requests one after the other.
Load run_clients(int port, Kind kind, const std::string& image_body, int clients, int requests_each,
                 std::atomic<std::uint32_t>& prompt_counter) {
    Load load;
    load.kind = kind;
    load.clients = clients;
    std::vector<std::vector<double>> times(static_cast<std::size_t>(clients));
    std::atomic<bool> ok{true};
    Stopwatch sw;
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            Client client(port);
            for (int r = 0; r < requests_each && ok.load(); ++r) {
                const double ms = kind == Kind::kImage
                                      ? client.post("/v1/embed/image", image_body)
                                      : client.post("/v1/embed/text",
                                                    nlohmann::json{{"text", unique_prompt(prompt_counter++)}}.dump());
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
    config.clip.compute = o.compute;
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
        Client client(*port);
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
            // The two service paths take turns at going first: whichever followed the tower passes directly ran
            // 3-6 ms slower here (ViT-B/32, medians of 20), in either order.
            double inproc = 0.0, wire = 0.0;
            const auto in_process = [&] {
                Stopwatch inproc_sw;
                ok = (*service)->embed_image(o.image, deadline()).ok() && ok;
                inproc = inproc_sw.elapsed_ms();
            };
            const auto over_http = [&] { wire = client.post("/v1/embed/image", body); };
            if (i % 2 == 0) {
                in_process();
                over_http();
            } else {
                over_http();
                in_process();
            }
            ok = ok && wire >= 0.0;
            if (i < 0) continue;
            tower_one_ms.push_back(tower_one);
            tower_ms.push_back(tower);
            inproc_ms.push_back(inproc);
            http_ms.push_back(wire);
        }
    }
    std::vector<Load> loads;
    std::atomic<std::uint32_t> prompt_counter{0};
    for (Kind kind : {Kind::kImage, Kind::kText}) {
        for (int clients : {1, 2, 4, 8}) {
            if (!ok) break;
            // Texts are quick: more of them, so that the figures are not a handful of requests.
            const int each = std::max(4, kind == Kind::kImage ? o.iterations : 4 * o.iterations);
            const auto& rate = kind == Kind::kImage ? o.image_batch_rate : o.text_batch_rate;
            const double tower_rate = rate ? std::max(rate(), rate()) : 0.0;  // the better of two passes
            loads.push_back(run_clients(*port, kind, body, clients, each, prompt_counter));
            loads.back().tower_rate = tower_rate;
            ok = loads.back().ok;
        }
    }
    const auto stop = [&] {
        http.stop();
        serving.join();
        (*service)->shutdown(server::Clock::now() + std::chrono::seconds(5));
    };
    if (!ok) {
        stop();
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
    // Throughput under load next to the tower's best batch throughput in this run: what cross-request batching
    // and the HTTP path leave of it.
    for (Kind kind : {Kind::kImage, Kind::kText}) {
        const bool image = kind == Kind::kImage;
        const double tower_rate = image ? o.tower_images_per_s : o.tower_texts_per_s;
        std::printf("%-40s %10s %10s %10s %9s %10s\n",
                    image ? "concurrent HTTP clients, one image each" : "concurrent HTTP clients, 7-token texts",
                    image ? "images/s" : "texts/s", "p50", "p99", "of tower", "tower now");
        for (const Load& l : loads) {
            if (l.kind != kind) continue;
            const double rate = static_cast<double>(l.ms.size()) / l.seconds;
            std::printf("%-40d %10.1f %7.1f ms %7.1f ms %8.0f%% %10.1f   (%zu requests)\n", l.clients, rate,
                        percentile(l.ms, 50), percentile(l.ms, 99),
                        l.tower_rate > 0.0 ? 100.0 * rate / l.tower_rate : 0.0, l.tower_rate, l.ms.size());
        }
        // "of tower" compares each row with the tower's batch throughput taken just before it ("tower now").
        std::printf("%-40s %10.1f   (batch 1 or %d, in the tower section above)\n",
                    image ? "image tower's best batch throughput" : "text tower's best batch throughput", tower_rate,
                    o.batch);
    }
    if (o.profile) {
        std::fflush(stdout);
        RequestProfileOptions p;
        p.port = *port;
        p.iterations = o.iterations;
        p.jpeg = make_photo_sized_jpeg(500 * 1024);  // 700 KB once in base64
        p.tower = o.tower_rgb;
        ok = print_request_profile(**service, p);
    }
    stop();
    return ok;
}

}  // namespace hclip::cli
