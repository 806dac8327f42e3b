// hailo-clip selftest [--model-dir DIR | --config FILE] [--backend auto|cpu|hailo] [--expectations FILE] [--assets DIR]
// [--json] Checks the installed model against published reference outputs (src/selftest, docs/selftest.md).
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/engine_setup.h"
#include "cli/json_output.h"
#include "selftest/assets.h"
#include "selftest/report_json.h"
#include "selftest/selftest.h"

namespace hclip::cli {

int run_selftest(const Argv& argv) {
    auto flags = engine_value_flags();
    flags.insert({"--backend", "--expectations", "--assets"});
    auto args = Args::parse(argv, flags, {"--json", "--require-reference"});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (!args->positional().empty()) return fail("unexpected argument '" + args->positional()[0] + "'", kExitUsage);
    for (const char* flag : {"--backend", "--image-backend", "--text-backend"}) {
        const auto v = args->value(flag);
        if (v && *v != "auto" && *v != "cpu" && *v != "hailo") {
            return fail(std::string(flag) + " must be auto, cpu or hailo, not '" + *v + "'", kExitUsage);
        }
    }

    // The shipped data; an own --expectations file may do without it when its pictures are beside it.
    const auto assets = selftest::find_selftest_assets(args->value("--assets").value_or(""));
    Result<selftest::Expectations> expectations = Status();
    if (auto file = args->value("--expectations")) {
        std::vector<std::filesystem::path> fallback;
        if (assets.ok()) fallback.push_back(*assets / "images");
        expectations = selftest::load_expectations(*file, fallback);
    } else if (!assets.ok()) {
        return fail(assets.status().message());
    } else {
        expectations = selftest::load_expectations((*assets / "expectations.json").string());
    }
    if (!expectations.ok()) return fail(expectations.status().message());

    auto engine = engine_from_args(*args);
    if (!engine.ok()) return fail(engine.status().to_string());
    // The encoders of the backends that actually serve: the tolerance profile follows their names.
    auto image_encoder = (*engine)->create_image_encoder();
    if (!image_encoder.ok()) return fail(image_encoder.status().to_string());
    auto text_encoder = (*engine)->create_text_encoder();
    if (!text_encoder.ok()) return fail(text_encoder.status().to_string());
    selftest::SelfTestOptions options;
    if (auto name = args->value("--model-name")) options.model_names.push_back(*name);
    options.require_reference = args->has("--require-reference");
    auto report = selftest::run_selftest(**engine, **image_encoder, **text_encoder, *expectations, options);
    if (!report.ok()) return fail("the self-test could not run: " + report.status().to_string());

    if (args->has("--json")) {
        print_json(selftest::report_to_json(*report));
    } else {
        std::fputs(selftest::format_report(*report).c_str(), stdout);
    }
    return report->passed ? 0 : kExitFailure;
}

}  // namespace hclip::cli
