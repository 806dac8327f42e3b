// hailo-clip tokenize TEXT...   (the built-in OpenAI vocabulary, or --model-dir DIR for the model's own files)
#include "cli/args.h"
#include "cli/command.h"
#include "cli/json_output.h"
#include "tokenizer/clip_tokenizer.h"

namespace hclip::cli {

int run_tokenize(const Argv& argv) {
    auto args = Args::parse(argv, {"--model-dir"}, {});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (args->positional().empty()) return fail("tokenize needs at least one text", kExitUsage);
    auto tokenizer = args->value("--model-dir") ? ClipTokenizer::from_model_dir(*args->value("--model-dir"))
                                                : ClipTokenizer::from_builtin();
    if (!tokenizer.ok()) return fail(tokenizer.status().to_string());
    nlohmann::json results = nlohmann::json::array();
    for (const auto& text : args->positional()) {
        const TokenizedText t = tokenizer->encode(text);
        results.push_back({{"text", text}, {"ids", t.ids}, {"truncated", t.truncated}, {"length", t.full_length}});
    }
    print_json({{"tokens", results}});
    return 0;
}

}  // namespace hclip::cli
