// hailo-clip selftest [--model-dir DIR | --config FILE] [--backend cpu|hailo] [--expectations FILE] [--assets DIR] [--json]
// Checks the installed model against published reference outputs (src/selftest, docs/selftest.md).
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/engine_setup.h"
#include "cli/json_output.h"
#include "selftest/assets.h"
#include "selftest/selftest.h"

namespace hclip::cli {

int run_selftest(const Argv& argv) {
    auto flags = engine_value_flags();
    flags.insert({"--backend", "--expectations", "--assets"});
    auto args = Args::parse(argv, flags, {"--json", "--require-reference"});
    if (!args.ok()) return fail(args.status().message(), kExitUsage);
    if (!args->positional().empty()) return fail("unexpected argument '" + args->positional()[0] + "'", kExitUsage);
    const std::string backend = args->value("--backend").value_or("cpu");
    if (backend == "hailo") {
        return fail(
            "this build has no Hailo backend, so the self-test cannot run on the NPU; run it on the CPU "
            "with --backend cpu");
    }
    if (backend != "cpu") return fail("--backend must be cpu or hailo, not '" + backend + "'", kExitUsage);

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
    auto image_encoder = (*engine)->create_image_encoder();
    auto text_encoder = (*engine)->create_text_encoder();
    selftest::SelfTestOptions options;
    if (auto name = args->value("--model-name")) options.model_names.push_back(*name);
    options.require_reference = args->has("--require-reference");
    auto report = selftest::run_selftest(**engine, *image_encoder, *text_encoder, *expectations, options);
    if (!report.ok()) return fail("the self-test could not run: " + report.status().to_string());

    if (args->has("--json")) {
        print_json(selftest::report_to_json(*report));
    } else {
        std::fputs(selftest::format_report(*report).c_str(), stdout);
    }
    return report->passed ? 0 : kExitFailure;
}

}  // namespace hclip::cli
