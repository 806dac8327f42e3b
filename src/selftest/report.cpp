// The self-test's report: one line per check and a verdict, or the same as JSON.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "selftest/report_json.h"
#include "selftest/selftest.h"
#include "selftest/text_format.h"

namespace hclip::selftest {

using Json = nlohmann::json;

namespace {

Json parsed(const std::string& text) {
    return text.empty() ? Json() : Json::parse(text, nullptr, false);
}

}  // namespace

std::string_view check_status_name(CheckStatus status) {
    switch (status) {
        case CheckStatus::kPass:
            return "PASS";
        case CheckStatus::kFail:
            return "FAIL";
        case CheckStatus::kSkip:
            return "SKIP";
    }
    return "?";
}

int SelfTestReport::count(CheckStatus status) const {
    return static_cast<int>(
        std::count_if(checks.begin(), checks.end(), [&](const CheckResult& r) { return r.status == status; }));
}

std::string format_report(const SelfTestReport& r) {
    std::string out;
    out += "hailo-clip self-test\n";
    out += "model:        " + r.model_dir + " (names: " + join(r.model_names, ", ") + ")\n";
    out += "weights:      " + r.weights_path + "\n";
    out += "sha256:       " + r.weights_sha256 + "\n";
    out += "architecture: " + r.architecture + "\n";
    out += "backend:      image " + r.image_backend + ", text " + r.text_backend +
           "; tolerances: " + r.tolerance_profile + "\n";
    out += "reference:    " + r.reference_message + "\n";
    std::size_t width = 0;
    for (const auto& c : r.checks)
        width = std::max(width, c.name.size());
    for (const auto& c : r.checks) {
        std::string name = c.name;
        name.resize(width, ' ');
        out += std::string(check_status_name(c.status)) + "  " + name + "  expected " + c.expected_text + "  got " +
               c.got_text + "  tolerance " + c.tolerance;
        if (!c.detail.empty()) out += "  (" + c.detail + ")";
        out += "\n";
    }
    if (!r.diagnosis.empty() && !r.passed) out += "diagnosis: " + r.diagnosis + "\n";
    out += "verdict: " + r.verdict + "\n";
    return out;
}

nlohmann::json report_to_json(const SelfTestReport& r) {
    Json checks = Json::array();
    for (const auto& c : r.checks) {
        Json j = {{"name", c.name},
                  {"group", c.group},
                  {"kind", c.kind},
                  {"status", lower(std::string(check_status_name(c.status)))},
                  {"expected", parsed(c.expected_json)},
                  {"got", parsed(c.got_json)},
                  {"tolerance", c.tolerance},
                  {"detail", c.detail}};
        if (!c.source.empty()) j["source"] = c.source;
        checks.push_back(std::move(j));
    }
    Json reference = {{"matched", r.has_reference}, {"message", r.reference_message}};
    if (r.has_reference) {
        reference["id"] = r.reference_id;
        reference["description"] = r.reference_description;
        reference["matched_by"] = r.matched_by;
    }
    return {
        {"verdict", r.passed ? "pass" : "fail"},
        {"passed", r.passed},
        {"verified", r.verified},
        {"summary", r.verdict},
        {"diagnosis", r.diagnosis},
        {"model",
         {{"dir", r.model_dir},
          {"weights", r.weights_path},
          {"sha256", r.weights_sha256},
          {"architecture", r.architecture},
          {"names", r.model_names}}},
        {"backend", {{"image", r.image_backend}, {"text", r.text_backend}, {"tolerances", r.tolerance_profile}}},
        {"reference", reference},
        {"counts",
         {{"pass", r.count(CheckStatus::kPass)},
          {"fail", r.count(CheckStatus::kFail)},
          {"skip", r.count(CheckStatus::kSkip)}}},
        {"checks", checks},
        {"elapsed_ms", std::round(r.elapsed_ms * 10.0) / 10.0},
    };
}

}  // namespace hclip::selftest
