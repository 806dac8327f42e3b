// hailo-clip embed-image --model-dir DIR FILE...   and   hailo-clip embed-text --model-dir DIR TEXT...
#include <span>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/engine_setup.h"
#include "cli/json_output.h"
#include "core/mapped_file.h"
#include "engine/embedding.h"

namespace hclip::cli {

namespace {

Result<Args> parse(const Argv& argv) {
    return Args::parse(argv, engine_value_flags(), {"--raw"});
}

nlohmann::json embeddings_json(const std::string& model, int dim, const std::vector<std::string>& inputs,
                               std::span<const float> values, const char* input_key) {
    nlohmann::json results = nlohmann::json::array();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        results.push_back({{input_key, inputs[i]},
                           {"embedding", json_floats(values.subspan(i * static_cast<std::size_t>(dim),
                                                                    static_cast<std::size_t>(dim)))}});
    }
    return {{"model", model}, {"dimension", dim}, {"embeddings", results}};
}

}  // namespace

int run_embed_image(const Argv& argv) {
    auto args = parse(argv);
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (args->positional().empty()) return fail("embed-image needs at least one image file", kExitUsage);
    auto engine = engine_from_args(*args);
    if (!engine.ok()) return fail(engine.status().to_string());
    std::vector<PreparedImage> images;
    for (const auto& file : args->positional()) {
        auto bytes = read_file(file);
        if (!bytes.ok()) return fail(bytes.status().to_string());
        auto prepared =
            (*engine)->prepare_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
        if (!prepared.ok()) return fail("'" + file + "': " + prepared.status().message());
        images.push_back(std::move(prepared).value());
    }
    auto encoder = (*engine)->create_image_encoder();
    if (!encoder.ok()) return fail(encoder.status().to_string());
    auto values = embed_images(**encoder, images, (*engine)->embed_dim(), !args->has("--raw"));
    if (!values.ok()) return fail(values.status().to_string());
    print_json(
        embeddings_json(model_name_from(*args, **engine), (*engine)->embed_dim(), args->positional(), *values, "file"));
    return 0;
}

int run_embed_text(const Argv& argv) {
    auto args = parse(argv);
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (args->positional().empty()) return fail("embed-text needs at least one text", kExitUsage);
    auto engine = engine_from_args(*args);
    if (!engine.ok()) return fail(engine.status().to_string());
    std::vector<std::vector<std::int32_t>> ids;
    for (const auto& text : args->positional())
        ids.push_back((*engine)->tokenize(text).ids);
    auto encoder = (*engine)->create_text_encoder();
    if (!encoder.ok()) return fail(encoder.status().to_string());
    auto values = embed_texts(**encoder, ids, (*engine)->embed_dim(), !args->has("--raw"));
    if (!values.ok()) return fail(values.status().to_string());
    print_json(
        embeddings_json(model_name_from(*args, **engine), (*engine)->embed_dim(), args->positional(), *values, "text"));
    return 0;
}

}  // namespace hclip::cli
