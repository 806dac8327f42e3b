#include "cli/engine_setup.h"

#include <filesystem>

#include "server/config/service_config.h"

namespace hclip::cli {

std::set<std::string> engine_value_flags() {
    return {"--model-dir", "--config", "--threads", "--batch", "--max-pixels", "--model-name"};
}

Result<std::unique_ptr<ClipEngine>> engine_from_args(const Args& args, bool pack_weights) {
    EngineOptions options;
    options.pack_weights = pack_weights;
    if (auto config_path = args.value("--config")) {
        // The service's own configuration: the same model and image limit the service uses.
        HCLIP_ASSIGN_OR_RETURN(server::ServiceConfig config, server::load_service_config(*config_path));
        options.model_dir = args.value("--model-dir").value_or(config.clip.model_dir);
        options.decode.max_pixels = config.limits.max_image_pixels;
    } else {
        HCLIP_ASSIGN_OR_RETURN(options.model_dir, model_dir_from(args));
    }
    HCLIP_ASSIGN_OR_RETURN(options.gemm_threads, args.int_value("--threads", 0, 0, 256));
    HCLIP_ASSIGN_OR_RETURN(options.max_batch, args.int_value("--batch", 8, 1, 1024));
    HCLIP_ASSIGN_OR_RETURN(double max_pixels,
                           args.number_value("--max-pixels", static_cast<double>(options.decode.max_pixels)));
    if (!(max_pixels >= 1.0)) return invalid_argument("--max-pixels must be positive");
    options.decode.max_pixels = static_cast<std::uint64_t>(max_pixels);
    return ClipEngine::load(options);
}

std::string model_name_from(const Args& args, const ClipEngine& engine) {
    if (auto v = args.value("--model-name")) return *v;
    if (auto config_path = args.value("--config")) {
        if (auto config = server::load_service_config(*config_path); config.ok()) return config->clip.model;
    }
    std::filesystem::path dir(engine.model().model_dir());
    std::string name = dir.filename().string();
    if (name.empty() || name == ".") name = std::filesystem::absolute(dir).lexically_normal().filename().string();
    return name.empty() ? "clip" : name;
}

}  // namespace hclip::cli
