// hailo-clip classify --model-dir DIR --image FILE --prompt TEXT [--prompt TEXT ...] [--top-k N] [--threshold X]
// Prints the same JSON shape as POST /v1/classify.
#include <span>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/engine_setup.h"
#include "cli/json_output.h"
#include "core/mapped_file.h"
#include "core/timer.h"
#include "engine/embedding.h"

namespace hclip::cli {

int run_classify(const Argv& argv) {
    auto flags = engine_value_flags();
    flags.insert({"--image", "--prompt", "--top-k", "--threshold", "--logit-scale"});
    auto args = Args::parse(argv, flags, {});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    const auto image_file = args->value("--image");
    const auto prompts = args->values("--prompt");
    if (!image_file) return fail("classify needs --image FILE", kExitUsage);
    if (prompts.empty()) return fail("classify needs at least one --prompt TEXT", kExitUsage);
    if (!args->positional().empty()) return fail("unexpected argument '" + args->positional()[0] + "'", kExitUsage);
    auto top_k = args->int_value("--top-k", 3, 1, 1 << 20);
    if (!top_k.ok()) return fail(top_k.status().message(), kExitUsage);
    auto threshold = args->number_value("--threshold", 0.0);
    if (!threshold.ok() || *threshold < 0.0 || *threshold > 1.0) {
        return fail("--threshold must be a number from 0 to 1", kExitUsage);
    }
    auto logit_scale = args->number_value("--logit-scale", kDefaultLogitScale);
    if (!logit_scale.ok() || !(*logit_scale > 0.0)) return fail("--logit-scale must be a positive number", kExitUsage);

    auto engine = engine_from_args(*args);
    if (!engine.ok()) return fail(engine.status().to_string());
    auto bytes = read_file(*image_file);
    if (!bytes.ok()) return fail(bytes.status().to_string());

    Stopwatch clock;
    auto image =
        (*engine)->prepare_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
    if (!image.ok()) return fail("'" + *image_file + "': " + image.status().message());
    std::vector<std::vector<std::int32_t>> ids;
    for (const auto& p : prompts)
        ids.push_back((*engine)->tokenize(p).ids);
    const int dim = (*engine)->embed_dim();
    auto image_encoder = (*engine)->create_image_encoder();
    if (!image_encoder.ok()) return fail(image_encoder.status().to_string());
    auto text_encoder = (*engine)->create_text_encoder();
    if (!text_encoder.ok()) return fail(text_encoder.status().to_string());
    auto image_embedding = embed_images(**image_encoder, std::span(&*image, 1), dim, true);
    if (!image_embedding.ok()) return fail(image_embedding.status().to_string());
    auto text_embeddings = embed_texts(**text_encoder, ids, dim, true);
    if (!text_embeddings.ok()) return fail(text_embeddings.status().to_string());
    const auto cosines = cosine_similarities(*image_embedding, *text_embeddings, dim);
    const auto ranked =
        rank_labels(cosines, static_cast<float>(*logit_scale), std::min<int>(*top_k, static_cast<int>(prompts.size())),
                    static_cast<float>(*threshold));
    const double elapsed = clock.elapsed_ms();

    nlohmann::json classifications = nlohmann::json::array();
    for (const auto& r : ranked) {
        classifications.push_back({{"text", prompts[static_cast<std::size_t>(r.index)]},
                                   {"score", json_float(r.score)},
                                   {"rank", r.rank},
                                   {"similarity", json_float(r.similarity)}});
    }
    print_json({{"classifications", classifications},
                {"inference_time_ms", std::round(elapsed * 10.0) / 10.0},
                {"model", model_name_from(*args, **engine)}});
    return 0;
}

}  // namespace hclip::cli
