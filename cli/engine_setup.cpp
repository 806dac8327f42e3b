#include "cli/engine_setup.h"

#include <cstdio>
#include <filesystem>

#include "config/engine_options.h"
#include "config/service_config.h"

namespace hclip::cli {

std::set<std::string> engine_value_flags() {
    return {"--model-dir", "--config",        "--threads",      "--batch",   "--max-pixels",  "--model-name",
            "--backend",   "--image-backend", "--text-backend", "--weights", "--gemm-kernel", "--compute"};
}

Result<std::unique_ptr<ClipEngine>> engine_from_args(const Args& args, bool pack_weights) {
    // The service's own configuration (or its defaults): the same model, backends and limits the service uses,
    // turned into engine options by the same function the service calls.
    server::ServiceConfig config;
    if (auto config_path = args.value("--config")) {
        HCLIP_ASSIGN_OR_RETURN(config, server::load_service_config(*config_path));
    }
    EngineOptions options = server::engine_options_from_config(config);
    if (args.value("--config")) {
        options.model_dir = args.value("--model-dir").value_or(config.clip.model_dir);
    } else {
        HCLIP_ASSIGN_OR_RETURN(options.model_dir, model_dir_from(args));
    }
    options.pack_weights = pack_weights;
    for (const char* flag : {"--backend", "--image-backend", "--text-backend"}) {
        const auto v = args.value(flag);
        if (v && *v != "auto" && *v != "cpu" && *v != "hailo") {
            return invalid_argument(std::string(flag) + " must be auto, cpu or hailo, not '" + *v + "'");
        }
    }
    if (auto v = args.value("--weights")) {
        const auto storage = parse_weight_storage(*v);
        if (!storage) return invalid_argument("--weights must be fp32, bf16 or fp16, not '" + *v + "'");
        options.weights = *storage;
    }
    if (auto v = args.value("--compute")) {
        const auto compute = parse_compute_precision(*v);
        if (!compute) return invalid_argument("--compute must be fp32 or bf16, not '" + *v + "'");
        options.compute = *compute;
    }
    if (auto v = args.value("--backend")) options.backend = *v;
    if (auto v = args.value("--image-backend")) options.image_backend = *v;
    if (auto v = args.value("--text-backend")) options.text_backend = *v;
    HCLIP_ASSIGN_OR_RETURN(options.gemm_threads, args.int_value("--threads", 0, 0, 256));
    if (auto v = args.value("--gemm-kernel")) {
        const auto mode = parse_gemm_kernel_mode(*v);
        if (!mode) return invalid_argument("--gemm-kernel must be auto, packed, panels or plain, not '" + *v + "'");
        options.gemm_kernel = *mode;
    }
    HCLIP_ASSIGN_OR_RETURN(options.max_batch, args.int_value("--batch", options.max_batch, 1, 1024));
    HCLIP_ASSIGN_OR_RETURN(double max_pixels,
                           args.number_value("--max-pixels", static_cast<double>(options.decode.max_pixels)));
    if (!(max_pixels >= 1.0)) return invalid_argument("--max-pixels must be positive");
    options.decode.max_pixels = static_cast<std::uint64_t>(max_pixels);
    // Only warnings (a fallback, an emulated device) reach stderr; stdout stays the command's JSON.
    options.log.warning = [](const std::string& m) { std::fprintf(stderr, "hailo-clip: warning: %s\n", m.c_str()); };
    return ClipEngine::open(options);
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
