// hailo-clip: CLIP image and text embeddings and zero-shot classification from the command line.
// JSON goes to stdout, errors to stderr, and the exit code is non-zero on any failure.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/blas_core_restart.h"
#include "cli/command.h"
#include "cli/program_backends.h"
#include "server/serve_command.h"

namespace hclip::cli {

int fail(const std::string& message, int exit_code) {
    std::fprintf(stderr, "hailo-clip: %s\n", message.c_str());
    return exit_code;
}

namespace {

constexpr const char* kUsage =
    "usage: hailo-clip COMMAND [options]  (hailo-clip --version: the version)\n"
    "\n"
    "commands:\n"
    "  serve       [--config PATH] [--model-dir DIR] [--host HOST] [--port N]   the REST service\n"
    "  embed-image --model-dir DIR FILE...        image embeddings (L2-normalized; --raw for the projection)\n"
    "  embed-text  --model-dir DIR TEXT...        text embeddings (L2-normalized; --raw for the projection)\n"
    "  classify    --model-dir DIR --image FILE --prompt TEXT [--prompt TEXT ...]\n"
    "              [--top-k N] [--threshold X] [--logit-scale S]   zero-shot classification\n"
    "  tokenize    TEXT...                        CLIP token ids ([--model-dir DIR] for the model's vocabulary)\n"
    "  bench       --model-dir DIR [--image FILE] [--iterations N]   per-stage timings\n"
    "  selftest    [--model-dir DIR | --config FILE] [--backend B] [--expectations FILE] [--assets DIR] "
    "[--json]\n"
    "              [--require-reference]   check the model against published reference outputs\n"
    "  models      pull NAME [--dest DIR] [--base-url URL] | list [--dir DIR] | verify NAME [--dir DIR]\n"
    "              download, list and check the service's models (default DIR /var/lib/hailo-clip/models)\n"
    "\n"
    "common options: --config FILE (the service's model, backends and limits), --backend auto|cpu|hailo\n"
    "                (default: the config's clip.backend, else auto), --image-backend B, --text-backend B (one\n"
    "                tower elsewhere), --threads N (compute threads shared by all workers, default: one per\n"
    "                core), --gemm-kernel auto|packed|panels|plain (default: the config's performance.gemm_kernel,\n"
    "                else auto: timed per weight shape), --batch N (default: the config's clip.batch_size, else 8),\n"
    "                --max-pixels N (refuse larger images), --model-name NAME (reported model name),\n"
    "                --weights fp32|bf16|fp16 (CPU weight storage, default: the config's clip.weights, else fp32),\n"
    "                --compute fp32|bf16 (CPU products: bf16 inputs with float32 accumulation, on CPUs with bf16\n"
    "                dot products; default: the config's clip.compute, else fp32)\n"
    "HAILO_CLIP_MODEL_DIR stands in for --model-dir.\n";

}  // namespace
}  // namespace hclip::cli

int main(int argc, char** argv) {
    using namespace hclip::cli;
    restart_for_better_blas_core(argv);
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
    register_program_backends();
    const std::string command = argv[1];
    const Argv args(argv + 2, argv + argc);
    try {
        if (command == "embed-image") return run_embed_image(args);
        if (command == "embed-text") return run_embed_text(args);
        if (command == "classify") return run_classify(args);
        if (command == "tokenize") return run_tokenize(args);
        if (command == "bench") return run_bench(args);
        if (command == "selftest") return run_selftest(args);
        if (command == "models") return run_models(args);
        if (command == "serve") return hclip::server::run_serve(args);
        if (command == "--version" || command == "version") {
            std::printf("hailo-clip %s\n", HCLIP_VERSION);
            return 0;
        }
        if (command == "--help" || command == "-h" || command == "help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
    } catch (const std::exception& e) {  // the edge: nothing below throws by design, but never die silently
        return fail(std::string("unexpected error: ") + e.what());
    }
    fail("unknown command '" + command + "'", kExitUsage);
    std::fputs(kUsage, stderr);
    return kExitUsage;
}
