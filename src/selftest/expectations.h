// The published reference outputs the self-test compares a model with. They are data, not code: read from
// assets/selftest/expectations.json (or a file of the user's), whose format docs/selftest.md describes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/clip_config.h"

namespace hclip::selftest {

enum class CheckKind {
    kTokenIds,              // a text's token ids, exactly
    kProbabilities,         // softmax(logit_scale * cosine) of one image over texts
    kLogits,                // logit_scale * cosine of one image with texts
    kImageEmbeddingSum,     // the sum of one image's raw (unnormalized) embedding
    kImageEmbeddingValues,  // some values of one image's raw embedding
    kTextEmbeddingSum,
    kTextEmbeddingValues,
    kSimilarity,  // cosine matrix, rows = texts, columns = images
};

std::string_view check_kind_name(CheckKind kind);
std::optional<CheckKind> parse_check_kind(std::string_view name);

struct Check {
    std::string name;  // unique within its model entry
    CheckKind kind = CheckKind::kTokenIds;
    std::string source;               // who published the numbers
    std::vector<std::string> images;  // one image, or the similarity matrix's columns
    std::vector<std::string> texts;   // one text, or the prompts / the similarity matrix's rows
    std::vector<double> expected;     // flattened; the similarity matrix row by row
    std::vector<std::int32_t> expected_ids;
    int offset = 0;  // *_embedding_values: index of the first expected value
};

// How close one backend must come for one kind of check. Several conditions may be combined.
struct Tolerance {
    std::optional<double> abs;              // every value within abs of the published one
    bool top1 = false;                      // the best text (per image) must be the published best
    std::optional<double> top_probability;  // the probability of the published best text within this
};

// By check kind name. A kind missing from a backend's profile is not checked on that backend.
using ToleranceProfile = std::map<std::string, Tolerance, std::less<>>;

struct ModelEntry {
    std::string id;
    std::string description;
    std::vector<std::string> sha256;   // lowercase hex of accepted weights files; empty: match by name + architecture
    std::vector<std::string> names;    // accepted model names (compared case-insensitively)
    std::vector<std::string> layouts;  // accepted checkpoint layouts; empty: any
    std::map<std::string, std::string> architecture;     // architecture_signature() keys to values
    double logit_scale = 100.0;                          // the scale the published scores were computed with
    std::map<std::string, ToleranceProfile> tolerances;  // per backend; replaces the file's profile for that backend
    std::vector<Check> checks;
};

// Pictures with their own descriptions, for models that have no published outputs.
struct SanityPair {
    std::string image;
    std::string text;
};

struct Expectations {
    std::map<std::string, ToleranceProfile> tolerances;  // by backend name ("cpu", "hailo")
    std::vector<SanityPair> sanity;
    std::vector<ModelEntry> models;
    std::vector<std::filesystem::path> image_dirs;  // where the pictures named in checks are looked for, in order
};

// Parses and validates an expectations document. Nothing about images is checked here (see find_image).
Result<Expectations> parse_expectations(std::string_view json_text, const std::string& source_name);

// Reads `path`; its pictures are looked for in `images/` beside it, then in `fallback_image_dirs`.
Result<Expectations> load_expectations(const std::string& path,
                                       const std::vector<std::filesystem::path>& fallback_image_dirs = {});

// The file a picture name refers to, from the first of `image_dirs` that has it.
Result<std::filesystem::path> find_image(const Expectations& expectations, const std::string& name);

// Every picture the checks and the sanity pairs name, each once, in first-use order.
std::vector<std::string> referenced_images(const Expectations& expectations);

// The model's architecture as the keys an entry's "architecture" may use ("embed_dim" -> "512", ...).
std::map<std::string, std::string> architecture_signature(const ClipConfig& config);

// The tolerance profile for `backend`: the entry's own when it has one, else the file's; null when neither has one.
const ToleranceProfile* find_profile(const Expectations& expectations, const ModelEntry* entry,
                                     std::string_view backend);

}  // namespace hclip::selftest
