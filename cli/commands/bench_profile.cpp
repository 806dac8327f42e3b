#include "cli/commands/bench_profile.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/commands/bench_stats.h"
#include "cli/synthetic_jpeg.h"
#include "core/timer.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "server/http/base64.h"
#include "server/http/json_api.h"

namespace hclip::cli {

std::vector<std::uint8_t> make_photo_sized_jpeg(std::size_t bytes) {
    int width = 640, height = 480;
    std::vector<std::uint8_t> jpeg = make_synthetic_jpeg(width, height);
    while (jpeg.size() < bytes) {
        width = width * 21 / 20;  // 10% more bytes a step: ends within 10% of the size asked for
        height = height * 21 / 20;
        jpeg = make_synthetic_jpeg(width, height);
    }
    return jpeg;
}

bool print_request_profile(server::ClipService& service, const RequestProfileOptions& o) {
    const ClipEngine& engine = service.engine();
    const std::vector<std::string> prompts = {"a photo of a cat", "a photo of a dog", "an empty shelf",
                                              "a stocked shelf"};
    nlohmann::json request = {
        {"image", "data:image/jpeg;base64," + server::encode_base64(std::string_view(
                                                  reinterpret_cast<const char*>(o.jpeg.data()), o.jpeg.size()))},
        {"prompts", prompts},
        {"top_k", 3}};
    const std::string body = request.dump();
    request = nullptr;

    httplib::Client http("127.0.0.1", o.port);
    http.set_keep_alive(true);
    http.set_tcp_nodelay(true);
    http.set_read_timeout(120, 0);
    // Every stage once per round, in the order the service runs them, then the next round: load from other
    // programs touches all stages alike. Round 0 is a warm-up. Later stages use what earlier ones produced.
    nlohmann::json parsed;
    std::string image_field;
    std::vector<std::uint8_t> encoded;
    Image decoded;
    const int s = engine.image_size();
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(s) * static_cast<std::size_t>(s) * 3u);
    std::vector<float> chw(rgb.size());
    const PreprocessSpec spec = engine.model().config().preprocess_spec();
    const auto d = static_cast<std::size_t>(engine.embed_dim());
    std::vector<float> image_embedding(d, 1.0f), text_embeddings(d * prompts.size(), 0.5f);
    l2_normalize_rows(image_embedding, d);
    l2_normalize_rows(text_embeddings, d);
    server::ClassifyResult result;
    struct Stage {
        const char* name;
        std::function<bool()> run;
        std::vector<double> ms;
    };
    std::vector<Stage> stages = {
        // The whole request; then the same body answered 415 at once (wrong content type): the HTTP transfer.
        {"whole request over HTTP, kept-alive",
         [&] {
             auto res = http.Post("/v1/classify", body, "application/json");
             return res && res->status == 200;
         },
         {}},
        {"HTTP: send and read the body (a 415 answer to it)",
         [&] {
             auto res = http.Post("/v1/classify", body, "text/plain");
             return res && res->status == 415;
         },
         {}},
        {"JSON parse of the body",
         [&] {
             auto r = server::parse_json_object(body);
             if (r.ok()) parsed = std::move(r).value();
             return r.ok();
         },
         {}},
        {"fields out of the JSON (image copied, base64 decoded)",
         [&] {
             image_field = parsed["image"].get<std::string>();
             return server::parse_classify_request(parsed).ok();
         },
         {}},
        {"  of which base64 decode",
         [&] {
             auto r = server::decode_image_field(image_field);
             if (r.ok()) encoded = std::move(r).value();
             return r.ok();
         },
         {}},
        {"JPEG decode",
         [&] {
             auto r = decode_image(encoded, engine.options().decode);
             if (r.ok()) decoded = std::move(r).value();
             return r.ok();
         },
         {}},
        {"resize + centre crop (the model's Pillow filter)",
         [&] { return resize_crop_to_rgb8(decoded, spec, rgb).ok(); },
         {}},
        {"image tower, batch 1 (normalization included)",
         [&] {
             o.tower(rgb);
             return true;
         },
         {}},
        {"  of which normalization",
         [&] {
             normalize_rgb8_to_chw(rgb, s, spec, chw);
             return true;
         },
         {}},
        {"tokenize the prompts (their embeddings cached)",
         [&] {
             for (const auto& p : prompts)
                 (void)engine.tokenize(p);
             return true;
         },
         {}},
        {"cosines, softmax, ranking",
         [&] {
             const auto cosines = cosine_similarities(image_embedding, text_embeddings, engine.embed_dim());
             result.classifications.clear();
             for (const RankedLabel& r : rank_labels(cosines, 100.0f, 3, 0.0f))
                 result.classifications.push_back(
                     {prompts[static_cast<std::size_t>(r.index)], r.score, r.similarity, r.rank});
             return true;
         },
         {}},
        {"JSON answer", [&] { return !server::classify_response(result, 1.0, "clip").dump().empty(); }, {}},
    };
    for (int round = 0; round <= o.iterations; ++round) {
        for (Stage& stage : stages) {
            Stopwatch sw;
            if (!stage.run()) {
                std::fprintf(stderr, "hailo-clip bench: request profile: '%s' failed\n", stage.name);
                return false;
            }
            if (round > 0) stage.ms.push_back(sw.elapsed_ms());
        }
    }

    const double total = median(stages[0].ms);
    double sum = 0.0;
    for (std::size_t i = 1; i < stages.size(); ++i) {
        if (stages[i].name[0] != ' ') sum += median(stages[i].ms);  // "of which" rows are inside the one above
    }
    std::printf("one POST /v1/classify, %zu KB body (%dx%d JPEG of %zu KB, 4 cached prompts), median of %d:\n",
                body.size() / 1024, decoded.width, decoded.height, o.jpeg.size() / 1024, o.iterations);
    const auto row = [&](const char* name, double ms) {
        std::printf("  %-52s %8.2f ms %5.1f%%\n", name, ms, 100.0 * ms / total);
    };
    for (std::size_t i = 1; i < stages.size(); ++i)
        row(stages[i].name, median(stages[i].ms));
    row("sum of the stages", sum);
    row("whole request over HTTP, kept-alive", total);
    row("  not in the stages (queueing, hand-offs, framework)", total - sum);
    return true;
}

}  // namespace hclip::cli
