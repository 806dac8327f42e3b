#include "server/http/http_server.h"

#include <httplib.h>

#include <chrono>
#include <cmath>
#include <new>
#include <string_view>
#include <thread>

#include "core/timer.h"
#include "server/http/batch_api.h"
#include "server/http/error_mapping.h"
#include "server/http/json_api.h"
#include "server/http/multipart_form.h"
#include "server/http/openai_embeddings.h"
#include "server/http/prompt_set_api.h"
#include "server/log.h"
#include "server/web/embedded_files.h"

namespace hclip::server {

namespace {

using Json = nlohmann::json;

// Set when a request starts being handled on this thread; read by the logger after the response is written.
thread_local Clock::time_point t_request_start{};

void send_json(httplib::Response& res, int status, const Json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const Status& status) {
    const int code = http_status_for(status);
    if (code == 503) res.set_header("Retry-After", "1");
    if (code >= 500) log_warning(status.to_string());
    send_json(res, code, error_body(status.message()));
}

std::string media_type(const httplib::Request& req) {
    std::string type = req.get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ')
        type.pop_back();
    for (char& c : type)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return type;
}

bool is_json_content_type(const httplib::Request& req) {
    return media_type(req) == "application/json";
}

// An upload (multipart/form-data) as the JSON body of the same request.
Result<Json> form_body(const httplib::Request& req) {
    std::vector<FormPart> parts;
    for (const auto& [name, part] : req.files)
        parts.push_back({name, part.content});
    return form_to_json(parts);
}

void send_answer(httplib::Response& res, const ApiAnswer& answer) {
    send_json(res, answer.status, answer.body);
}

// Compares a presented key with the configured one in time that depends only on the configured key's length, so
// response times do not reveal how many leading characters were right.
bool same_key(std::string_view presented, std::string_view expected) {
    unsigned diff = presented.size() == expected.size() ? 0u : 1u;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const char p = i < presented.size() ? presented[i] : '\0';
        diff |= static_cast<unsigned>(static_cast<unsigned char>(p) ^ static_cast<unsigned char>(expected[i]));
    }
    return diff == 0;
}

// The page's files carry no data and must load before a user can type a key.
bool is_open_page_path(const std::string& path) {
    return path == "/" || path.rfind("/static/", 0) == 0;
}

bool authorized(const httplib::Request& req, const std::string& api_key, bool metrics_open) {
    if (api_key.empty() || req.path == "/health" || req.path == "/health/live" || req.path == "/health/ready" ||
        is_open_page_path(req.path))
        return true;
    if (metrics_open && req.path == "/metrics") return true;
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kScheme = "Bearer ";
    if (header.size() < kScheme.size()) return false;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {  // the scheme name is case-insensitive (RFC 7235)
        if (std::tolower(static_cast<unsigned char>(header[i])) != std::tolower(static_cast<unsigned char>(kScheme[i])))
            return false;
    }
    return same_key(std::string_view(header).substr(kScheme.size()), api_key);
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::chrono::microseconds seconds(double s) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::duration<double>(s));
}

const char* reason_for(int status) {
    switch (status) {
        case 400:
            return "bad request";
        case 404:
            return "no such endpoint";
        case 405:
            return "method not allowed";
        case 408:
            return "the request was not received in time";
        case 413:
            return "the request body is too large";
        case 414:
            return "the request URI is too long";
        case 415:
            return "unsupported content type";
        default:
            return "request failed";
    }
}

}  // namespace

HttpServer::HttpServer(ClipService& service, std::string version)
    : service_(service), version_(std::move(version)), http_(std::make_unique<httplib::Server>()) {
    const ServiceConfig& c = service_.config();
    const auto threads = static_cast<std::size_t>(c.server.http_threads);
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_->set_payload_max_length(static_cast<std::size_t>(c.limits.max_body_bytes));
    // Slow clients: a client silent for longer than these while sending or reading gets its connection closed.
    http_->set_read_timeout(seconds(c.server.read_timeout));
    http_->set_write_timeout(seconds(c.server.write_timeout));
    http_->set_keep_alive_timeout(static_cast<time_t>(std::ceil(c.server.keep_alive_timeout)));
    // cpp-httplib writes a response's headers and body in separate small writes; with Nagle's algorithm on, the
    // second waits for the client's delayed ACK (about 40 ms on Linux) on every kept-alive request. Set on the
    // listening socket, TCP_NODELAY is inherited by each accepted connection (the library gives no per-connection
    // hook); tests/e2e/test_keep_alive.py measures the effect.
    http_->set_tcp_nodelay(true);
    install_routes();
}

HttpServer::~HttpServer() = default;

void HttpServer::install_routes() {
    const std::string model = service_.config().clip.model;
    const double timeout_s = service_.config().performance.request_timeout;
    const auto deadline_from_now = [timeout_s] {
        return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    };

    const std::string api_key = service_.config().server.api_key;
    const bool metrics_open = !service_.config().server.metrics_require_api_key;
    http_->set_pre_routing_handler([api_key, metrics_open](const httplib::Request& req, httplib::Response& res) {
        t_request_start = Clock::now();
        if (!authorized(req, api_key, metrics_open)) {
            res.set_header("WWW-Authenticate", "Bearer");
            res.set_header("Connection", "close");  // the body was not read: do not parse it as the next request
            send_json(res, 401, error_body("this service needs an API key: send 'Authorization: Bearer <key>'"));
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    http_->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
        const HealthReport h = service_.health();
        send_json(res, h.healthy ? 200 : 503, health_response(h, version_));
    });
    // Liveness (restart me when false) and readiness (send me traffic when true), as Kubernetes probes expect.
    http_->Get("/health/live", [this](const httplib::Request&, httplib::Response& res) {
        const HealthReport h = service_.health();
        send_json(res, h.live ? 200 : 503, liveness_response(h));
    });
    http_->Get("/health/ready", [this](const httplib::Request&, httplib::Response& res) {
        const HealthReport h = service_.health();
        send_json(res, h.healthy ? 200 : 503, readiness_response(h));
    });

    // POST endpoints share the envelope: content type, JSON object, deadline, timing, error mapping.
    using Endpoint = std::function<Result<Json>(const Json& body, Clock::time_point deadline, Stopwatch& clock)>;
    enum class Uploads { kRefused, kAccepted };
    const auto post = [this, deadline_from_now](const std::string& path, Endpoint endpoint,
                                                Uploads uploads = Uploads::kRefused) {
        http_->Post(path, [endpoint, deadline_from_now, uploads](const httplib::Request& req, httplib::Response& res) {
            Stopwatch clock;
            const auto deadline = deadline_from_now();
            const bool upload = uploads == Uploads::kAccepted && req.is_multipart_form_data();
            if (!upload && !is_json_content_type(req)) {
                send_json(res, 415,
                          error_body(uploads == Uploads::kAccepted
                                         ? "send the request as JSON with 'Content-Type: application/json' or as "
                                           "multipart/form-data"
                                         : "send the request as JSON with 'Content-Type: application/json'"));
                return;
            }
            auto body = upload ? form_body(req) : parse_json_object(req.body);
            if (!body.ok()) return send_error(res, body.status());
            auto result = endpoint(*body, deadline, clock);
            if (!result.ok()) return send_error(res, result.status());
            send_json(res, 200, *result);
        });
    };
    post(
        "/v1/classify",
        [this, model](const Json& body, Clock::time_point deadline, Stopwatch& clock) -> Result<Json> {
            if (is_batch_request(body)) {
                HCLIP_ASSIGN_OR_RETURN(ClassifyBatchRequest request, parse_classify_batch_request(body));
                HCLIP_ASSIGN_OR_RETURN(auto results, service_.classify_batch(request, deadline));
                return classify_batch_response(results, clock.elapsed_ms(), model);
            }
            HCLIP_ASSIGN_OR_RETURN(ClassifyRequest request, parse_classify_request(body));
            HCLIP_ASSIGN_OR_RETURN(ClassifyResult result, service_.classify(request, deadline));
            return classify_response(result, clock.elapsed_ms(), model);
        },
        Uploads::kAccepted);
    post(
        "/v1/embed/image",
        [this, model](const Json& body, Clock::time_point deadline, Stopwatch& clock) -> Result<Json> {
            if (is_batch_request(body)) {
                HCLIP_ASSIGN_OR_RETURN(auto inputs, parse_embed_images_request(body));
                HCLIP_ASSIGN_OR_RETURN(BatchEmbedResult result, service_.embed_batch(inputs, "images", deadline));
                return embed_batch_response(result, clock.elapsed_ms(), model);
            }
            HCLIP_ASSIGN_OR_RETURN(auto image, parse_embed_image_request(body));
            HCLIP_ASSIGN_OR_RETURN(EmbedResult result, service_.embed_image(image, deadline));
            return embed_response(result, clock.elapsed_ms(), model);
        },
        Uploads::kAccepted);
    post("/v1/embed/text",
         [this, model](const Json& body, Clock::time_point deadline, Stopwatch& clock) -> Result<Json> {
             HCLIP_ASSIGN_OR_RETURN(std::string text, parse_embed_text_request(body));
             HCLIP_ASSIGN_OR_RETURN(EmbedResult result, service_.embed_text(text, deadline));
             return embed_response(result, clock.elapsed_ms(), model);
         });
    post("/v1/embeddings", [this, model](const Json& body, Clock::time_point deadline, Stopwatch&) -> Result<Json> {
        HCLIP_ASSIGN_OR_RETURN(OpenAiEmbeddingsRequest request, parse_openai_embeddings_request(body, model));
        HCLIP_ASSIGN_OR_RETURN(BatchEmbedResult result, service_.embed_batch(request.inputs, "input", deadline));
        return openai_embeddings_response(result, request.base64, model);
    });

    // The page and the OpenAPI document, from the bytes built into the binary.
    for (const EmbeddedFile& file : embedded_web_files()) {
        const std::string path = file.name == "index.html"     ? std::string("/")
                                 : file.name == "openapi.json" ? std::string("/openapi.json")
                                                               : "/static/" + std::string(file.name);
        const char* type = content_type_for(file.name);
        http_->Get(path, [bytes = file.bytes, type](const httplib::Request&, httplib::Response& res) {
            res.set_header("Cache-Control", "no-cache");
            res.set_header("X-Content-Type-Options", "nosniff");
            res.set_content(bytes.data(), bytes.size(), type);
        });
    }

    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(service_.metrics().render(service_.metrics_gauges()), "text/plain; version=0.0.4");
    });

    // Prompt sets. The name pattern is wider than a valid name so a bad name gets a 400 that says why.
    const std::string set_path = R"(/v1/prompt-sets/([^/]+))";
    http_->Get("/v1/prompt-sets", [this](const httplib::Request&, httplib::Response& res) {
        send_answer(res, list_prompt_sets_answer(service_.prompt_sets()));
    });
    http_->Get(set_path, [this](const httplib::Request& req, httplib::Response& res) {
        send_answer(res, get_prompt_set_answer(service_.prompt_sets(), req.matches[1]));
    });
    http_->Delete(set_path, [this](const httplib::Request& req, httplib::Response& res) {
        send_answer(res, delete_prompt_set_answer(service_.prompt_sets(), req.matches[1]));
    });
    http_->Put(set_path, [this](const httplib::Request& req, httplib::Response& res) {
        if (!is_json_content_type(req)) {
            send_json(res, 415, error_body("send the request as JSON with 'Content-Type: application/json'"));
            return;
        }
        auto body = parse_json_object(req.body);
        if (!body.ok()) return send_error(res, body.status());
        send_answer(res, put_prompt_set_answer(service_.prompt_sets(), req.matches[1], *body));
    });

    // Known paths with the wrong method: 405 with the allowed method, not 404.
    const auto wrong_method = [](const char* allowed) {
        return [allowed](const httplib::Request& req, httplib::Response& res) {
            res.set_header("Allow", allowed);
            send_json(res, 405, error_body(req.method + " is not allowed on " + req.path + "; use " + allowed));
        };
    };
    for (const char* path : {"/v1/classify", "/v1/embed/image", "/v1/embed/text", "/v1/embeddings"}) {
        http_->Get(path, wrong_method("POST"));
        http_->Put(path, wrong_method("POST"));
        http_->Patch(path, wrong_method("POST"));
        http_->Delete(path, wrong_method("POST"));
    }
    http_->Post("/v1/prompt-sets", wrong_method("GET"));
    http_->Put("/v1/prompt-sets", wrong_method("GET"));
    http_->Patch("/v1/prompt-sets", wrong_method("GET"));
    http_->Delete("/v1/prompt-sets", wrong_method("GET"));
    http_->Post(set_path, wrong_method("GET, PUT, DELETE"));
    http_->Patch(set_path, wrong_method("GET, PUT, DELETE"));
    for (const char* path : {"/metrics"}) {
        http_->Post(path, wrong_method("GET"));
        http_->Put(path, wrong_method("GET"));
        http_->Patch(path, wrong_method("GET"));
        http_->Delete(path, wrong_method("GET"));
    }
    http_->Post("/health", wrong_method("GET"));
    http_->Put("/health", wrong_method("GET"));
    http_->Patch("/health", wrong_method("GET"));
    http_->Delete("/health", wrong_method("GET"));

    // Errors produced by the HTTP layer itself (unknown route, body too large, ...) also get a JSON body.
    http_->set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string message = reason_for(res.status);
            if (res.status == 404) message += ": " + req.method + " " + req.path;
            send_json(res, res.status, error_body(message));
            return httplib::Server::HandlerResponse::Handled;
        }));
    http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::bad_alloc&) {
            // Out of memory for this request (a large picture, a big batch): it fails, the service stays up.
            log_error("out of memory while handling a request");
            res.set_header("Retry-After", "1");
            send_json(res, 503, error_body("the service ran out of memory for this request; retry shortly"));
            return;
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        log_error("unexpected exception while handling a request: " + what);
        send_json(res, 500, error_body("internal error"));
    });
    // Counted before the answer is written (cpp-httplib calls its logger only after the write), so a client that
    // has its answer and then reads /metrics always finds its request counted.
    http_->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        double ms = 0.0;
        if (t_request_start != Clock::time_point{}) {
            ms = std::chrono::duration<double, std::milli>(Clock::now() - t_request_start).count();
        }
        service_.metrics().observe_request(req.path, res.status, ms / 1000.0);
        t_request_start = {};
        char line[96];
        std::snprintf(line, sizeof line, " %d %.1f ms", res.status, ms);
        log_info(req.method + " " + req.path + line);
    });
}

Result<int> HttpServer::bind(const std::string& host, int port) {
    if (service_.config().server.api_key.empty() && !is_loopback(host)) {
        log_warning("listening on " + host +
                    " without server.api_key: anyone who can reach this address can use "
                    "the service");
    }
    int bound = port;
    if (port == 0) {
        bound = http_->bind_to_any_port(host);
        if (bound <= 0) return unavailable("cannot listen on " + host + " (no free port)");
    } else if (!http_->bind_to_port(host, port)) {
        return unavailable("cannot listen on " + host + ":" + std::to_string(port) +
                           " (is the address valid, and the port free and permitted?)");
    }
    return bound;
}

void HttpServer::serve() {
    if (!stop_requested_.load()) http_->listen_after_bind();
    serve_returned_.store(true);
}

void HttpServer::stop() {
    stop_requested_.store(true);
    // httplib ignores stop() until its accept loop runs; a signal can arrive just before that, so wait for it
    // (or for serve() to have returned without listening).
    while (!http_->is_running() && !serve_returned_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    http_->stop();
}

}  // namespace hclip::server
