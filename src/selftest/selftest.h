// The self-test: runs known pictures and prompts through the installed model and compares the results with the
// numbers the model's publishers printed. Only the right weights, read in the right layout, preprocessed and
// computed correctly, land within the tolerances. Models without published outputs get a weaker sanity check.
// What it proves and how to read it: docs/selftest.md.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/clip_engine.h"
#include "engine/encoder.h"
#include "selftest/expectations.h"

namespace hclip::selftest {

struct SelfTestOptions {
    // Names the model is known by (e.g. the configured model name). The model folder's name and a Hugging Face
    // config.json's "_name_or_path" are always added. Matched against the entries' names.
    std::vector<std::string> model_names;
    // The tolerance profile; empty: from the encoders' backend names.
    std::string tolerance_profile;
    // No published reference is a failure rather than a sanity-only result.
    bool require_reference = false;
};

enum class CheckStatus { kPass, kFail, kSkip };
std::string_view check_status_name(CheckStatus status);  // "PASS", "FAIL", "SKIP"

struct CheckResult {
    std::string name;
    std::string group;  // "basic" (always), "published" (a reference matched) or "sanity" (none matched)
    std::string kind;   // a check kind name, or the basic/sanity check's own
    CheckStatus status = CheckStatus::kFail;
    std::string expected_json;  // the values compared, as JSON text (report_json.h turns them into JSON)
    std::string got_json;
    std::string expected_text;  // short human forms of expected/got
    std::string got_text;
    std::string tolerance;  // "±0.001", "exact", "top-1 same, top probability ±0.02"
    std::string detail;     // the worst difference, or exactly what failed / why it was skipped
    std::string source;     // who published the expected numbers
};

struct SelfTestReport {
    std::string model_dir;
    std::string weights_path;
    std::string weights_sha256;
    std::string architecture;  // ClipConfig::summary()
    std::vector<std::string> model_names;
    std::string image_backend;
    std::string text_backend;
    std::string tolerance_profile;

    bool has_reference = false;
    std::string reference_id;
    std::string reference_description;
    std::string matched_by;  // "sha256", "name and architecture", or empty
    std::string reference_message;

    std::vector<CheckResult> checks;
    bool passed = false;    // every check passed (and a reference matched, when required)
    bool verified = false;  // passed against published outputs (not only the sanity check)
    std::string verdict;    // the final line, "PASS: ..." or "FAIL: ..."
    std::string diagnosis;  // on failure: which part of the pipeline the failures point at
    double elapsed_ms = 0.0;

    int count(CheckStatus status) const;
};

// Runs the checks of the entry that matches the engine's model (by the weights file's SHA-256, else by name and
// architecture), or the sanity check when none does. The encoders may be any backend; the tolerance profile
// follows their backend names. An error means the self-test could not run (a picture missing, an encoder
// failing), not that the model failed it.
Result<SelfTestReport> run_selftest(const ClipEngine& engine, ImageEncoder& image_encoder, TextEncoder& text_encoder,
                                    const Expectations& expectations, const SelfTestOptions& options);

// One line per check and a final verdict line.
std::string format_report(const SelfTestReport& report);

// The same as a JSON document: selftest/report_json.h.

}  // namespace hclip::selftest
