// The self-test against a model whose true outputs we know: the tiny-openai fixture, with an expectations entry
// built at test time from the official implementation's outputs (expected.json + expected.safetensors). The
// self-test must pass on the right model and fail, saying what is wrong, when the weights are altered, a
// projection is transposed or the preprocessing is changed; mocks must not pass.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>

#include "core/mapped_file.h"
#include "engine/clip_engine.h"
#include "image/convert.h"
#include "image/decode.h"
#include "image/pillow_resize.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "kernels/packed_gemm.h"
#include "selftest/expectations.h"
#include "selftest/report_json.h"
#include "selftest/selftest.h"
#include "server/clip_service.h"
#include "support/fixtures.h"
#include "support/run_cli.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using selftest::CheckResult;
using selftest::CheckStatus;
using selftest::SelfTestOptions;
using selftest::SelfTestReport;

// ---------------------------------------------------------------------------------------------------------------
// The oracle: what OpenAI's implementation computed for the fixture model, in float64.

struct Oracle {
    json meta;
    std::vector<std::string> images, texts;
    std::vector<float> cosine, image_embeds, text_embeds;
    std::vector<std::int64_t> text_ids;
    std::size_t embed = 0;

    static Oracle load(const std::string& model) {
        Oracle o;
        auto text = read_file(testing::fixture("models/" + model + "/expected.json"));
        EXPECT_TRUE(text.ok()) << text.status().to_string();
        if (!text.ok()) return o;
        o.meta = json::parse(*text);
        o.images = o.meta.at("images").get<std::vector<std::string>>();
        o.texts = o.meta.at("texts").get<std::vector<std::string>>();
        auto st = SafetensorsFile::open(testing::fixture("models/" + model + "/expected.safetensors"));
        EXPECT_TRUE(st.ok()) << st.status().to_string();
        if (!st.ok()) return o;
        o.cosine = st->read_f32("cosine").value();
        o.image_embeds = st->read_f32("image_embeds").value();
        o.text_embeds = st->read_f32("text_embeds").value();
        o.text_ids = st->read_i64("text_ids").value();
        o.embed = static_cast<std::size_t>(o.meta.at("config").at("embed_dim").get<int>());
        return o;
    }
    std::size_t image(const std::string& name) const {
        return static_cast<std::size_t>(std::find(images.begin(), images.end(), name) - images.begin());
    }
    std::size_t text(const std::string& t) const {
        return static_cast<std::size_t>(std::find(texts.begin(), texts.end(), t) - texts.begin());
    }
    double cos(const std::string& img, const std::string& t) const {
        return static_cast<double>(cosine[image(img) * texts.size() + text(t)]);
    }
    std::vector<double> image_embedding(const std::string& img) const {
        return {image_embeds.begin() + static_cast<std::ptrdiff_t>(image(img) * embed),
                image_embeds.begin() + static_cast<std::ptrdiff_t>((image(img) + 1) * embed)};
    }
    std::vector<double> text_embedding(const std::string& t) const {
        return {text_embeds.begin() + static_cast<std::ptrdiff_t>(text(t) * embed),
                text_embeds.begin() + static_cast<std::ptrdiff_t>((text(t) + 1) * embed)};
    }
    std::vector<std::int64_t> ids(const std::string& t) const {
        std::vector<std::int64_t> out;
        for (std::size_t i = 0; i < 77; ++i) {
            const std::int64_t id = text_ids[text(t) * 77 + i];
            if (id == 0) break;
            out.push_back(id);
        }
        return out;
    }
    // The architecture as the oracle's configuration states it (not as our loader infers it).
    json architecture(int embed_dim) const {
        const json& c = meta.at("config");
        return {{"embed_dim", embed_dim},
                {"image_size", c.at("image_resolution")},
                {"patch_size", c.at("vision_patch_size")},
                {"vision_width", c.at("vision_width")},
                {"vision_layers", c.at("vision_layers")},
                {"text_width", c.at("transformer_width")},
                {"text_layers", c.at("transformer_layers")},
                {"text_heads", c.at("transformer_heads")},
                {"context_length", c.at("context_length")},
                {"vocab_size", c.at("vocab_size")},
                {"activation", "quick_gelu"}};
    }
};

const Oracle& oracle() {
    static const Oracle o = Oracle::load("tiny-openai");
    return o;
}

const std::vector<std::string> kNotebookImages = {"page.png",  "astronaut.png", "rocket.jpg", "chelsea.png",
                                                  "horse.png", "coffee.png",    "camera.png", "motorcycle_right.png"};
const std::vector<std::string> kMatrixTexts = {
    "a photo of a cat", "empty shelf", "stocked shelf", "product on wrong shelf", "a diagram", "a dog", "a cat"};

std::vector<double> softmax100(const std::vector<double>& cos) {
    const double mx = *std::max_element(cos.begin(), cos.end());
    std::vector<double> p;
    double sum = 0.0;
    for (double c : cos)
        sum += std::exp(100.0 * (c - mx));
    for (double c : cos)
        p.push_back(std::exp(100.0 * (c - mx)) / sum);
    return p;
}

// An expectations entry for the fixture weights, in the shipped file's format, with the oracle's numbers in place
// of the published ones. `identity` holds sha256 / names / layouts / architecture.
json oracle_entry(const json& identity) {
    const Oracle& o = oracle();
    json checks = json::array();
    for (const std::string t : {"a diagram", "a photo of a cat"}) {
        checks.push_back({{"name", "tokens '" + t + "'"}, {"kind", "token_ids"}, {"text", t}, {"expected", o.ids(t)}});
    }
    const std::vector<std::string> clip_texts = {"a diagram", "a dog", "a cat"};
    std::vector<double> cos;
    for (const auto& t : clip_texts)
        cos.push_back(o.cos("CLIP.png", t));
    checks.push_back({{"name", "CLIP.png zero-shot"},
                      {"kind", "probabilities"},
                      {"image", "CLIP.png"},
                      {"texts", clip_texts},
                      {"expected", softmax100(cos)}});
    const std::string coco = "coco_val2017_000000039769.png";
    checks.push_back({{"name", "COCO logits"},
                      {"kind", "logits"},
                      {"image", coco},
                      {"texts", {"a photo of a cat", "a dog"}},
                      {"expected", {100.0 * o.cos(coco, "a photo of a cat"), 100.0 * o.cos(coco, "a dog")}}});
    const auto kafka = o.image_embedding("franz-kafka.jpg");
    checks.push_back({{"name", "franz-kafka image embedding sum"},
                      {"kind", "image_embedding_sum"},
                      {"image", "franz-kafka.jpg"},
                      {"expected", std::accumulate(kafka.begin(), kafka.end(), 0.0)}});
    checks.push_back({{"name", "franz-kafka image embedding [0:5]"},
                      {"kind", "image_embedding_values"},
                      {"image", "franz-kafka.jpg"},
                      {"offset", 0},
                      {"expected", std::vector<double>(kafka.begin(), kafka.begin() + 5)}});
    const auto cat = o.text_embedding("a photo of a cat");
    checks.push_back({{"name", "'a photo of a cat' embedding sum"},
                      {"kind", "text_embedding_sum"},
                      {"text", "a photo of a cat"},
                      {"expected", std::accumulate(cat.begin(), cat.end(), 0.0)}});
    checks.push_back({{"name", "'a photo of a cat' embedding [0:5]"},
                      {"kind", "text_embedding_values"},
                      {"text", "a photo of a cat"},
                      {"offset", 0},
                      {"expected", std::vector<double>(cat.begin(), cat.begin() + 5)}});
    json rows = json::array();
    for (const auto& t : kMatrixTexts) {
        json row = json::array();
        for (const auto& img : kNotebookImages)
            row.push_back(o.cos(img, t));
        rows.push_back(row);
    }
    checks.push_back({{"name", "similarity matrix"},
                      {"kind", "similarity"},
                      {"images", kNotebookImages},
                      {"texts", kMatrixTexts},
                      {"expected", rows}});
    json entry = {{"id", "tiny-openai-oracle"},
                  {"description", "the tiny-openai fixture (oracle outputs)"},
                  {"logit_scale", 100},
                  {"checks", checks}};
    entry.update(identity);
    return entry;
}

json shipped_document() {
    auto text = read_file(std::string(HCLIP_SOURCE_DIR) + "/assets/selftest/expectations.json");
    EXPECT_TRUE(text.ok()) << text.status().to_string();
    return text.ok() ? json::parse(*text) : json::object();
}

// The shipped tolerances and sanity pictures, with only `entries` as models.
json document_with(const std::vector<json>& entries) {
    json doc = shipped_document();
    doc["models"] = json::array();
    for (const auto& e : entries)
        doc["models"].push_back(e);
    return doc;
}

selftest::Expectations expectations_from(const json& doc) {
    auto e = selftest::parse_expectations(doc.dump(), "test expectations");
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    if (!e.ok()) return {};
    e->image_dirs = {testing::fixture("images")};
    return std::move(e).value();
}

std::string fixture_sha() {
    static const std::string sha = sha256_file(testing::fixture("models/tiny-openai/model.safetensors")).value();
    return sha;
}

json sha_identity() {
    return {{"sha256", {fixture_sha()}}, {"names", {"tiny-openai"}}, {"architecture", oracle().architecture(48)}};
}

json name_identity(int embed_dim = 48) {
    return {{"names", {"tiny-clip"}},
            {"layouts", {"openai", "huggingface"}},
            {"architecture", oracle().architecture(embed_dim)}};
}

// ---------------------------------------------------------------------------------------------------------------
// Encoders around the real ones, and mocks.

class WrappedImageEncoder final : public ImageEncoder {
  public:
    WrappedImageEncoder(ImageEncoder& inner, std::string name) : inner_(inner), name_(std::move(name)) {}
    std::function<void(std::vector<std::uint8_t>&)> edit_input;
    std::function<void(std::span<float>)> edit_output;

    std::string_view backend_name() const override { return name_; }
    int max_batch() const override { return inner_.max_batch(); }
    Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) override {
        std::vector<std::uint8_t> input(rgb.begin(), rgb.end());
        if (edit_input) edit_input(input);
        HCLIP_RETURN_IF_ERROR(inner_.encode(input, count, out));
        if (edit_output) edit_output(out);
        return {};
    }

  private:
    ImageEncoder& inner_;
    std::string name_;
};

class WrappedTextEncoder final : public TextEncoder {
  public:
    WrappedTextEncoder(TextEncoder& inner, std::string name) : inner_(inner), name_(std::move(name)) {}
    std::function<void(std::span<float>)> edit_output;

    std::string_view backend_name() const override { return name_; }
    int max_batch() const override { return inner_.max_batch(); }
    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) override {
        HCLIP_RETURN_IF_ERROR(inner_.encode(texts, out));
        if (edit_output) edit_output(out);
        return {};
    }

  private:
    TextEncoder& inner_;
    std::string name_;
};

// The user's earlier attempt: embeddings from a random generator, well-formed and meaningless.
class RandomImageEncoder final : public ImageEncoder {
  public:
    std::string_view backend_name() const override { return "cpu"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::uint8_t>, int, std::span<float> out) override {
        for (float& v : out)
            v = dist_(rng_);
        return {};
    }

  private:
    std::mt19937 rng_{7};
    std::normal_distribution<float> dist_;
};

class RandomTextEncoder final : public TextEncoder {
  public:
    std::string_view backend_name() const override { return "cpu"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::vector<std::int32_t>>, std::span<float> out) override {
        for (float& v : out)
            v = dist_(rng_);
        return {};
    }

  private:
    std::mt19937 rng_{11};
    std::normal_distribution<float> dist_;
};

// A fake that "recognises" the sanity pictures perfectly: picture k and description k map to axis k.
class LookupImageEncoder final : public ImageEncoder {
  public:
    std::map<std::vector<std::uint8_t>, int> axis;
    std::size_t dim = 0;
    std::size_t image_bytes = 0;
    std::string_view backend_name() const override { return "cpu"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) override {
        for (std::size_t i = 0; i < static_cast<std::size_t>(count); ++i) {
            const auto bytes = rgb.subspan(i * image_bytes, image_bytes);
            const auto it = axis.find(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
            for (std::size_t d = 0; d < dim; ++d)
                out[i * dim + d] = 0.1f + 0.01f * static_cast<float>(d % 5);
            if (it != axis.end()) out[i * dim + static_cast<std::size_t>(it->second)] = 1.0f;
        }
        return {};
    }
};

class LookupTextEncoder final : public TextEncoder {
  public:
    std::map<std::vector<std::int32_t>, int> axis;
    std::size_t dim = 0;
    std::string_view backend_name() const override { return "cpu"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) override {
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const auto it = axis.find(texts[i]);
            for (std::size_t d = 0; d < dim; ++d)
                out[i * dim + d] = 0.1f + 0.02f * static_cast<float>(d % 3);
            if (it != axis.end()) out[i * dim + static_cast<std::size_t>(it->second)] = 1.0f;
        }
        return {};
    }
};

// ---------------------------------------------------------------------------------------------------------------

const CheckResult* find_check(const SelfTestReport& r, const std::string& name) {
    for (const auto& c : r.checks) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

CheckStatus status_of(const SelfTestReport& r, const std::string& name) {
    const CheckResult* c = find_check(r, name);
    EXPECT_NE(c, nullptr) << "no check named '" << name << "'";
    return c == nullptr ? CheckStatus::kSkip : c->status;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

const std::vector<std::string> kImageChecks = {"franz-kafka image embedding sum", "franz-kafka image embedding [0:5]"};
const std::vector<std::string> kTextChecks = {"'a photo of a cat' embedding sum", "'a photo of a cat' embedding [0:5]"};
const std::vector<std::string> kTokenChecks = {"tokens 'a diagram'", "tokens 'a photo of a cat'"};

// Negated image embeddings reverse every ranking: whatever its tolerance profile, the self-test must catch it.
void negate_image_embeddings(WrappedImageEncoder& wi, WrappedTextEncoder&) {
    wi.edit_output = [](std::span<float> out) {
        for (float& v : out)
            v = -v;
    };
}

class SelfTest : public ::testing::Test {
  protected:
    void SetUp() override {
        // The process id keeps two checkouts running the suite at once out of each other's folders.
        dir_ = fs::path(::testing::TempDir()) /
               ("hclip_selftest_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
                std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::unique_ptr<ClipEngine> load(const std::string& model_dir) {
        EngineOptions options;
        options.model_dir = model_dir;
        options.gemm_threads = 1;
        options.backend = "cpu";
        options.weights = weights_;
        options.compute = compute_;
        auto engine = ClipEngine::open(options);
        EXPECT_TRUE(engine.ok()) << engine.status().to_string();
        return engine.ok() ? std::move(engine).value() : nullptr;
    }

    // The self-test on the CPU encoders of `model_dir`, optionally wrapped by `wrap`.
    SelfTestReport run(const std::string& model_dir, const json& doc, SelfTestOptions options = {},
                       const std::function<void(WrappedImageEncoder&, WrappedTextEncoder&)>& wrap = {},
                       const std::string& backend = "cpu") {
        auto engine = load(model_dir);
        if (!engine) return {};
        auto image = engine->create_image_encoder();
        auto text = engine->create_text_encoder();
        EXPECT_TRUE(image.ok() && text.ok());
        if (!image.ok() || !text.ok()) return {};
        WrappedImageEncoder wi(**image, backend);
        WrappedTextEncoder wt(**text, backend);
        if (wrap) wrap(wi, wt);
        const auto expectations = expectations_from(doc);
        auto report = selftest::run_selftest(*engine, wi, wt, expectations, options);
        EXPECT_TRUE(report.ok()) << report.status().to_string();
        if (!report.ok()) return {};
        std::cout << selftest::format_report(*report);
        return std::move(report).value();
    }

    // Rewrites the fixture weights into dir_/name (F32), letting `edit` change tensors first.
    std::string write_model(const std::string& name, const std::function<void(std::vector<TensorToWrite>&)>& edit) {
        const fs::path out = dir_ / name;
        fs::create_directories(out);
        auto st = SafetensorsFile::open(testing::fixture("models/tiny-openai/model.safetensors"));
        EXPECT_TRUE(st.ok()) << st.status().to_string();
        std::vector<TensorToWrite> tensors;
        for (const auto& t : st->tensors()) {
            storage_.push_back(st->read_f32(t.name).value());
            tensors.push_back({t.name, t.shape, storage_.back()});
        }
        edit(tensors);
        const Status s = write_safetensors((out / "model.safetensors").string(), tensors);
        EXPECT_TRUE(s.ok()) << s.to_string();
        return out.string();
    }

    // A new tensor buffer that lives as long as the test.
    std::span<const float> keep(std::vector<float> data) {
        storage_.push_back(std::move(data));
        return storage_.back();
    }

    static TensorToWrite& tensor(std::vector<TensorToWrite>& tensors, const std::string& name) {
        for (auto& t : tensors) {
            if (t.name == name) return t;
        }
        ADD_FAILURE() << "no tensor " << name;
        return tensors.front();
    }

    fs::path dir_;
    WeightStorage weights_ = WeightStorage::kF32;        // how load() stores the model's weights
    ComputePrecision compute_ = ComputePrecision::kF32;  // what load()'s products multiply
    std::deque<std::vector<float>> storage_;             // stable addresses for TensorToWrite spans
};

const std::string kModel = testing::fixture("models/tiny-openai");

TEST_F(SelfTest, PassesOnTheRightModel) {
    const auto r = run(kModel, document_with({oracle_entry(sha_identity())}));
    EXPECT_TRUE(r.passed) << r.verdict;
    EXPECT_TRUE(r.verified);
    EXPECT_TRUE(r.has_reference);
    EXPECT_EQ(r.matched_by, "sha256");
    EXPECT_EQ(r.weights_sha256, fixture_sha());
    EXPECT_EQ(r.count(CheckStatus::kFail), 0);
    EXPECT_EQ(r.count(CheckStatus::kSkip), 0);
    // 4 basic, the weights identity and the 9 published checks.
    EXPECT_EQ(r.checks.size(), 14u);
    EXPECT_EQ(status_of(r, "weights sha256"), CheckStatus::kPass);
    EXPECT_TRUE(r.verdict.rfind("PASS: all 10 published checks agree", 0) == 0) << r.verdict;
}

TEST_F(SelfTest, HuggingFaceLayoutOfTheSameWeightsMatchesByNameAndArchitecture) {
    // Like the shipped ViT-B/32 entry: no SHA-256, both layouts, matched by a name and the architecture.
    SelfTestOptions options;
    options.model_names = {"tiny-clip"};
    const auto r = run(testing::fixture("models/tiny-hf"), document_with({oracle_entry(name_identity())}), options);
    EXPECT_TRUE(r.passed) << r.verdict;
    EXPECT_EQ(r.matched_by, "name and architecture");
    EXPECT_TRUE(contains(r.reference_message, "lists no SHA-256")) << r.reference_message;
    EXPECT_EQ(find_check(r, "weights sha256"), nullptr);
}

TEST_F(SelfTest, FailsWhenTheWeightsAreAltered) {
    // One tensor of the image tower changed by 1% of its values' spread: a "slightly corrupted" download.
    const std::string model = write_model("tiny-openai", [&](std::vector<TensorToWrite>& tensors) {
        TensorToWrite& t = tensor(tensors, "visual.transformer.resblocks.1.mlp.c_fc.weight");
        std::vector<float> v(t.data.begin(), t.data.end());
        for (std::size_t i = 0; i < v.size(); ++i)
            v[i] += 0.01f * static_cast<float>((i * 7919) % 13) / 13.0f * (i % 2 ? 1.0f : -1.0f);
        t.data = keep(std::move(v));
    });
    // Keyed by SHA-256: the changed file is named like the entry, so its checks still run, and the identity fails.
    const auto r = run(model, document_with({oracle_entry(sha_identity())}));
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.matched_by, "name and architecture");
    EXPECT_EQ(status_of(r, "weights sha256"), CheckStatus::kFail);
    EXPECT_TRUE(contains(find_check(r, "weights sha256")->detail, "not one of the published files")) << r.diagnosis;
    for (const auto& name : kImageChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kFail) << name;
    for (const auto& name : kTextChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kPass) << name;
    EXPECT_TRUE(contains(r.diagnosis, "its SHA-256 differs")) << r.diagnosis;
    EXPECT_TRUE(contains(r.diagnosis, "text embeddings match but image embeddings differ")) << r.diagnosis;
    EXPECT_TRUE(r.verdict.rfind("FAIL: ", 0) == 0) << r.verdict;

    // Keyed by name and architecture only (as the shipped entries are until their SHA-256 is known): the numbers
    // alone must catch it.
    SelfTestOptions options;
    options.model_names = {"tiny-clip"};
    const auto by_name = run(model, document_with({oracle_entry(name_identity())}), options);
    EXPECT_FALSE(by_name.passed);
    EXPECT_EQ(find_check(by_name, "weights sha256"), nullptr);
    EXPECT_EQ(status_of(by_name, "franz-kafka image embedding sum"), CheckStatus::kFail);
    EXPECT_TRUE(contains(by_name.diagnosis, "image embeddings differ")) << by_name.diagnosis;
}

TEST_F(SelfTest, FailsWhenTheTextWeightsAreAlteredSlightly) {
    // A single weight of the text tower off by 0.05: nothing a loader could notice.
    const std::string model = write_model("tiny-openai", [&](std::vector<TensorToWrite>& tensors) {
        TensorToWrite& t = tensor(tensors, "transformer.resblocks.0.attn.out_proj.weight");
        std::vector<float> v(t.data.begin(), t.data.end());
        v[1000] += 0.05f;
        t.data = keep(std::move(v));
    });
    SelfTestOptions options;
    options.model_names = {"tiny-clip"};
    const auto r = run(model, document_with({oracle_entry(name_identity())}), options);
    EXPECT_FALSE(r.passed);
    for (const auto& name : kTextChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kFail) << name;
    for (const auto& name : kImageChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kPass) << name;
    for (const auto& name : kTokenChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kPass) << name;
    EXPECT_TRUE(contains(r.diagnosis, "image embeddings match but text embeddings differ")) << r.diagnosis;
}

TEST_F(SelfTest, FailsWhenTheTextProjectionIsTransposed) {
    // The fixture's projections are not square, so a transposed one would not even load. Real ViT-B/32's text
    // projection is 512x512 and would. Pad both projections with zero columns to 128 wide (embeddings gain zeros,
    // every cosine and sum stays the oracle's), making the text projection square; then transpose it.
    auto pad = [&](std::vector<TensorToWrite>& tensors, bool transpose_text) {
        for (const char* name : {"visual.proj", "text_projection"}) {
            TensorToWrite& t = tensor(tensors, name);
            const auto rows = static_cast<std::size_t>(t.shape[0]), cols = static_cast<std::size_t>(t.shape[1]);
            std::vector<float> v(rows * 128, 0.0f);
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t c = 0; c < cols; ++c)
                    v[r * 128 + c] = t.data[r * cols + c];
            }
            if (transpose_text && std::string(name) == "text_projection") {
                std::vector<float> tr(v.size());
                for (std::size_t r = 0; r < 128; ++r) {
                    for (std::size_t c = 0; c < 128; ++c)
                        tr[c * 128 + r] = v[r * 128 + c];
                }
                v = std::move(tr);
            }
            t.shape = {static_cast<std::int64_t>(rows), 128};
            t.data = keep(std::move(v));
        }
    };
    SelfTestOptions options;
    options.model_names = {"tiny-clip"};
    const json doc = document_with({oracle_entry(name_identity(128))});

    const std::string padded = write_model("padded", [&](auto& tensors) { pad(tensors, false); });
    const auto right = run(padded, doc, options);
    EXPECT_TRUE(right.passed) << "zero padding must not change any checked number: " << right.verdict;

    const std::string transposed = write_model("transposed", [&](auto& tensors) { pad(tensors, true); });
    const auto r = run(transposed, doc, options);
    EXPECT_FALSE(r.passed);
    for (const auto& name : kTextChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kFail) << name;
    for (const auto& name : kImageChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kPass) << name;
    EXPECT_EQ(status_of(r, "CLIP.png zero-shot"), CheckStatus::kFail);
    EXPECT_TRUE(contains(r.diagnosis, "text embeddings differ: the text path is wrong")) << r.diagnosis;
}

TEST_F(SelfTest, FailsWhenTheNormalizationIsWrong) {
    // ImageNet's mean/std instead of CLIP's, from a preprocessor_config.json beside the unchanged weights.
    const fs::path model = dir_ / "tiny-openai";
    fs::create_directories(model);
    fs::copy_file(testing::fixture("models/tiny-openai/model.safetensors"), model / "model.safetensors");
    std::ofstream(model / "preprocessor_config.json")
        << R"({"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "crop_size": 224})";
    const auto r = run(model.string(), document_with({oracle_entry(sha_identity())}));
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.matched_by, "sha256");  // the weights are the right ones
    EXPECT_EQ(status_of(r, "weights sha256"), CheckStatus::kPass);
    for (const auto& name : kImageChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kFail) << name;
    for (const auto& name : kTextChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kPass) << name;
    EXPECT_TRUE(contains(r.diagnosis, "image path is wrong (resize, crop, mean/std")) << r.diagnosis;
}

TEST_F(SelfTest, FailsWhenTheResizeIsWrong) {
    // A common mistake: squash the whole picture to 224x224 (same bicubic filter) instead of resizing the short
    // side and cropping the centre. The encoder is handed the squashed pixels in place of the right ones.
    auto engine = load(kModel);
    ASSERT_TRUE(engine);
    std::map<std::vector<std::uint8_t>, std::vector<std::uint8_t>> squashed;
    std::vector<std::string> names = kNotebookImages;
    names.insert(names.end(), {"CLIP.png", "coco_val2017_000000039769.png", "franz-kafka.jpg"});
    for (const auto& name : names) {
        auto bytes = read_file(testing::fixture("images/" + name));
        ASSERT_TRUE(bytes.ok());
        const std::span<const std::uint8_t> encoded(reinterpret_cast<const std::uint8_t*>(bytes->data()),
                                                    bytes->size());
        auto right = engine->prepare_image(encoded);
        ASSERT_TRUE(right.ok());
        auto rgb = convert_to_rgb(decode_image(encoded).value());
        ASSERT_TRUE(rgb.ok());
        auto squash = resize_bicubic(*rgb, 224, 224);
        ASSERT_TRUE(squash.ok());
        squashed[right->rgb] = squash->pixels;
    }
    const std::size_t image_bytes = 224u * 224u * 3u;
    const auto r = run(kModel, document_with({oracle_entry(sha_identity())}), {}, [&](auto& wi, auto&) {
        wi.edit_input = [&](std::vector<std::uint8_t>& rgb) {
            for (std::size_t off = 0; off + image_bytes <= rgb.size(); off += image_bytes) {
                const std::vector<std::uint8_t> one(rgb.begin() + static_cast<std::ptrdiff_t>(off),
                                                    rgb.begin() + static_cast<std::ptrdiff_t>(off + image_bytes));
                if (auto it = squashed.find(one); it != squashed.end()) {
                    std::copy(it->second.begin(), it->second.end(), rgb.begin() + static_cast<std::ptrdiff_t>(off));
                }
            }
        };
    });
    EXPECT_FALSE(r.passed);
    for (const auto& name : kImageChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kFail) << name;
    for (const auto& name : kTextChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kPass) << name;
    EXPECT_TRUE(contains(r.diagnosis, "image embeddings differ")) << r.diagnosis;
}

TEST_F(SelfTest, ModelWithoutPublishedReferenceGetsTheSanityCheck) {
    // The shipped file has no entry for the fixture model.
    const auto r = run(kModel, shipped_document());
    EXPECT_FALSE(r.has_reference);
    EXPECT_FALSE(r.passed);
    EXPECT_FALSE(r.verified);
    EXPECT_TRUE(contains(r.reference_message, "no published reference for this model")) << r.reference_message;
    // Well-formed embeddings...
    for (const char* basic : {"embeddings finite", "embeddings unit-norm after normalization",
                              "same input, same embedding", "different inputs, different embeddings"}) {
        EXPECT_EQ(status_of(r, basic), CheckStatus::kPass) << basic;
    }
    // ...but random weights do not recognise pictures, and the verdict says exactly that.
    int recognised = 0, recognition_checks = 0;
    for (const auto& c : r.checks) {
        if (c.group != "sanity") continue;
        ++recognition_checks;
        recognised += c.status == CheckStatus::kPass ? 1 : 0;
        if (c.status == CheckStatus::kFail) {
            EXPECT_TRUE(contains(c.detail, "first (cosine")) << c.detail;
        }
    }
    EXPECT_EQ(recognition_checks, 8);
    EXPECT_LT(recognised, 8);
    EXPECT_TRUE(r.verdict.rfind("FAIL (sanity only): no published reference for this model", 0) == 0) << r.verdict;
    EXPECT_TRUE(contains(r.verdict, "only " + std::to_string(recognised) + " of 8 reference pictures")) << r.verdict;
}

TEST_F(SelfTest, NearMissesAreExplained) {
    // An entry built like the fixture but under another name: no match, and the message says how to match it.
    const auto r = run(kModel, document_with({oracle_entry(name_identity())}));
    EXPECT_FALSE(r.has_reference);
    EXPECT_TRUE(contains(r.reference_message, "its architecture matches 'tiny-openai-oracle'")) << r.reference_message;
    EXPECT_TRUE(contains(r.reference_message, "'tiny-clip'")) << r.reference_message;

    // Named like an entry but built differently.
    SelfTestOptions options;
    options.model_names = {"tiny-clip"};
    const auto other = run(kModel, document_with({oracle_entry(name_identity(512))}), options);
    EXPECT_FALSE(other.has_reference);
    EXPECT_TRUE(contains(other.reference_message, "architecture differs: embed_dim 48 (entry: 512)"))
        << other.reference_message;
}

TEST_F(SelfTest, SanityCheckPassesForAModelThatRecognisesThePictures) {
    auto engine = load(kModel);
    ASSERT_TRUE(engine);
    const auto expectations = expectations_from(shipped_document());
    LookupImageEncoder image;
    LookupTextEncoder text;
    image.dim = text.dim = static_cast<std::size_t>(engine->embed_dim());
    image.image_bytes = 224u * 224u * 3u;
    for (std::size_t k = 0; k < expectations.sanity.size(); ++k) {
        const auto& pair = expectations.sanity[k];
        auto bytes = read_file(selftest::find_image(expectations, pair.image).value().string());
        ASSERT_TRUE(bytes.ok());
        auto prepared =
            engine->prepare_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
        ASSERT_TRUE(prepared.ok());
        image.axis[prepared->rgb] = static_cast<int>(k);
        text.axis[engine->tokenize(pair.text).ids] = static_cast<int>(k);
    }
    auto r = selftest::run_selftest(*engine, image, text, expectations, {});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    std::cout << selftest::format_report(*r);
    EXPECT_TRUE(r->passed) << r->verdict;
    EXPECT_FALSE(r->verified) << "a sanity pass is not a verification";
    EXPECT_TRUE(r->verdict.rfind("PASS (sanity only): no published reference", 0) == 0) << r->verdict;
    EXPECT_TRUE(contains(r->verdict, "all 8 reference pictures rank their own description first")) << r->verdict;

    SelfTestOptions strict;
    strict.require_reference = true;
    auto required = selftest::run_selftest(*engine, image, text, expectations, strict);
    ASSERT_TRUE(required.ok());
    EXPECT_FALSE(required->passed);
    EXPECT_TRUE(contains(required->verdict, "one is required")) << required->verdict;
}

TEST_F(SelfTest, RandomEmbeddingsFromAMockNeverPass) {
    auto engine = load(kModel);
    ASSERT_TRUE(engine);
    RandomImageEncoder image;
    RandomTextEncoder text;
    for (const json& doc : {shipped_document(), document_with({oracle_entry(sha_identity())})}) {
        auto r = selftest::run_selftest(*engine, image, text, expectations_from(doc), {});
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        std::cout << selftest::format_report(*r);
        EXPECT_FALSE(r->passed);
        // Well-formed vectors: finite and normalizable. Not a function of the input.
        EXPECT_EQ(status_of(*r, "embeddings finite"), CheckStatus::kPass);
        EXPECT_EQ(status_of(*r, "same input, same embedding"), CheckStatus::kFail);
        EXPECT_TRUE(contains(find_check(*r, "same input, same embedding")->detail, "not a function of its input"));
        EXPECT_TRUE(contains(r->diagnosis, "a mock")) << r->diagnosis;
    }
}

TEST_F(SelfTest, ConstantEmbeddingsFailTheDistinctCheck) {
    const auto r = run(kModel, shipped_document(), {}, [](auto& wi, auto& wt) {
        wi.edit_output = [](std::span<float> out) { std::fill(out.begin(), out.end(), 0.5f); };
        wt.edit_output = [](std::span<float> out) { std::fill(out.begin(), out.end(), -0.25f); };
    });
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(status_of(r, "different inputs, different embeddings"), CheckStatus::kFail);
    EXPECT_EQ(status_of(r, "same input, same embedding"), CheckStatus::kPass);
    EXPECT_TRUE(contains(r.verdict, "not well-formed")) << r.verdict;
    for (const auto& c : r.checks) {  // ties rank against the picture's own description
        if (c.group == "sanity") {
            EXPECT_EQ(c.status, CheckStatus::kFail) << c.name;
        }
    }
}

TEST_F(SelfTest, NonFiniteEmbeddingsFail) {
    const auto r = run(kModel, document_with({oracle_entry(sha_identity())}), {}, [](auto& wi, auto&) {
        wi.edit_output = [](std::span<float> out) { out[3] = std::numeric_limits<float>::quiet_NaN(); };
    });
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(status_of(r, "embeddings finite"), CheckStatus::kFail);
    EXPECT_TRUE(contains(find_check(r, "embeddings finite")->detail, "NaN"))
        << find_check(r, "embeddings finite")->detail;
}

TEST_F(SelfTest, QuantizedBackendIsJudgedByTopOneAndTopProbability) {
    // An encoder reporting itself as "hailo": the hailo profile applies, raw embedding values are not compared.
    const json doc = document_with({oracle_entry(sha_identity())});
    const auto r = run(kModel, doc, {}, {}, "hailo");
    EXPECT_EQ(r.tolerance_profile, "hailo");
    EXPECT_TRUE(r.passed) << r.verdict;
    for (const auto& name : kImageChecks) {
        EXPECT_EQ(status_of(r, name), CheckStatus::kSkip) << name;
        EXPECT_TRUE(contains(find_check(r, name)->detail, "not compared on backend 'hailo'"));
    }
    EXPECT_EQ(status_of(r, "CLIP.png zero-shot"), CheckStatus::kPass);
    EXPECT_EQ(find_check(r, "CLIP.png zero-shot")->tolerance, "top-1 same, top probability ±0.02");
    EXPECT_TRUE(contains(r.verdict, "not compared on this backend")) << r.verdict;

    // The top-1 condition catches negated image embeddings.
    const auto wrong = run(kModel, doc, {}, negate_image_embeddings, "hailo");
    EXPECT_FALSE(wrong.passed);
    EXPECT_EQ(status_of(wrong, "CLIP.png zero-shot"), CheckStatus::kFail);
    EXPECT_TRUE(contains(find_check(wrong, "CLIP.png zero-shot")->detail, "top-1 is"))
        << find_check(wrong, "CLIP.png zero-shot")->detail;
}

TEST_F(SelfTest, SixteenBitWeightsAreJudgedByTheirOwnProfile) {
    const json doc = document_with({oracle_entry(sha_identity())});
    for (WeightStorage storage : {WeightStorage::kBf16, WeightStorage::kF16}) {
        weights_ = storage;
        const std::string profile = "cpu-" + std::string(weight_storage_name(storage));
        const auto r = run(kModel, doc);
        EXPECT_EQ(r.tolerance_profile, profile);
        EXPECT_TRUE(r.passed) << r.verdict;
        EXPECT_EQ(status_of(r, "CLIP.png zero-shot"), CheckStatus::kPass);
        for (const auto& name : kImageChecks) {
            EXPECT_EQ(status_of(r, name), CheckStatus::kSkip) << name;
            EXPECT_TRUE(contains(find_check(r, name)->detail, "not compared on backend '" + profile + "'"));
        }
        const auto wrong = run(kModel, doc, {}, negate_image_embeddings);
        EXPECT_FALSE(wrong.passed);
        EXPECT_EQ(status_of(wrong, "CLIP.png zero-shot"), CheckStatus::kFail);
    }
}

TEST_F(SelfTest, Bf16ProductsAreJudgedByTheirOwnProfile) {
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    const json doc = document_with({oracle_entry(sha_identity())});
    compute_ = ComputePrecision::kBf16;
    const auto r = run(kModel, doc);
    EXPECT_EQ(r.tolerance_profile, "cpu-compute-bf16");
    EXPECT_TRUE(r.passed) << r.verdict;
    EXPECT_EQ(status_of(r, "CLIP.png zero-shot"), CheckStatus::kPass);
    for (const auto& name : kImageChecks)
        EXPECT_EQ(status_of(r, name), CheckStatus::kSkip) << name;
    const auto wrong = run(kModel, doc, {}, negate_image_embeddings);
    EXPECT_FALSE(wrong.passed);
    EXPECT_EQ(status_of(wrong, "CLIP.png zero-shot"), CheckStatus::kFail);
}

TEST_F(SelfTest, JsonReportCarriesEveryCheck) {
    const auto r = run(kModel, document_with({oracle_entry(sha_identity())}));
    const json j = json::parse(selftest::report_to_json(r).dump());
    EXPECT_EQ(j.at("verdict"), "pass");
    EXPECT_EQ(j.at("passed"), true);
    EXPECT_EQ(j.at("verified"), true);
    EXPECT_EQ(j.at("model").at("sha256"), fixture_sha());
    EXPECT_EQ(j.at("reference").at("matched"), true);
    EXPECT_EQ(j.at("reference").at("matched_by"), "sha256");
    EXPECT_EQ(j.at("backend").at("tolerances"), "cpu");
    EXPECT_EQ(j.at("counts").at("pass"), 14);
    EXPECT_EQ(j.at("counts").at("fail"), 0);
    ASSERT_EQ(j.at("checks").size(), 14u);
    for (const auto& c : j.at("checks")) {
        for (const char* key : {"name", "group", "kind", "status", "expected", "got", "tolerance", "detail"})
            EXPECT_TRUE(c.contains(key)) << key;
    }
    const json* probs = nullptr;
    for (const auto& c : j.at("checks")) {
        if (c.at("name") == "CLIP.png zero-shot") probs = &c;
    }
    ASSERT_NE(probs, nullptr);
    EXPECT_EQ(probs->at("status"), "pass");
    EXPECT_EQ(probs->at("expected").size(), 3u);
    EXPECT_EQ(probs->at("got").size(), 3u);
    EXPECT_EQ(probs->at("kind"), "probabilities");
    EXPECT_TRUE(j.at("summary").get<std::string>().rfind("PASS", 0) == 0);
}

TEST_F(SelfTest, MissingPictureIsAnErrorNotAVerdict) {
    json doc = shipped_document();
    doc["sanity"]["pairs"][0]["image"] = "no-such-picture.png";
    auto engine = load(kModel);
    ASSERT_TRUE(engine);
    auto image = engine->create_image_encoder();
    auto text = engine->create_text_encoder();
    ASSERT_TRUE(image.ok() && text.ok());
    auto r = selftest::run_selftest(*engine, **image, **text, expectations_from(doc), {});
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.status().message(), "no-such-picture.png")) << r.status().message();
}

// ---------------------------------------------------------------------------------------------------------------
// The binary: exit codes, text and JSON output.

using testing::CliRun;
using testing::run_cli;
using testing::run_program;

// The service runs the same checks through its inference workers (clip.self_test) and reports them in /health.
class ServiceSelfTest : public SelfTest {
  protected:
    std::unique_ptr<server::ClipService> start(const std::string& model_dir) {
        server::ServiceConfig config;
        config.clip.model = "tiny";
        config.clip.model_dir = model_dir;
        config.clip.backend = "cpu";
        config.performance.worker_threads = 1;
        config.performance.health_probe_interval = 3600;  // no probe inference during the test
        config.storage.state_dir = (dir_ / "state").string();
        auto service = server::ClipService::create(config);
        EXPECT_TRUE(service.ok()) << service.status().to_string();
        return service.ok() ? std::move(service).value() : nullptr;
    }
    static server::Clock::time_point in_a_minute() { return server::Clock::now() + std::chrono::minutes(1); }
};

TEST_F(ServiceSelfTest, RunsThroughTheWorkersAndReportsToHealth) {
    auto service = start(kModel);
    ASSERT_NE(service, nullptr);
    EXPECT_FALSE(service->health().last_self_test.has_value()) << "nothing has run yet";
    const auto before = service->health().inferences;
    auto report =
        service->run_self_test(expectations_from(document_with({oracle_entry(sha_identity())})), in_a_minute());
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_TRUE(report->passed) << report->verdict;
    EXPECT_TRUE(report->verified);
    EXPECT_EQ(report->image_backend, "cpu");
    const auto h = service->health();
    EXPECT_GT(h.inferences, before) << "the checks must run on the serving workers";
    ASSERT_TRUE(h.last_self_test.has_value());
    EXPECT_TRUE(h.last_self_test->passed);
    EXPECT_TRUE(h.last_self_test->verified);
    EXPECT_EQ(h.last_self_test->verdict, report->verdict);
    EXPECT_EQ(h.last_self_test->time.size(), 20u) << h.last_self_test->time;  // 2026-11-27T14:07:16Z
    EXPECT_EQ(h.last_self_test->time.back(), 'Z');
    service->shutdown(server::Clock::now());
}

TEST_F(ServiceSelfTest, AlteredWeightsFailAndHealthSaysSo) {
    const std::string model = write_model("tiny-openai", [&](std::vector<TensorToWrite>& tensors) {
        TensorToWrite& t = tensor(tensors, "visual.transformer.resblocks.1.mlp.c_fc.weight");
        std::vector<float> v(t.data.begin(), t.data.end());
        for (std::size_t i = 0; i < v.size(); ++i)
            v[i] += (i % 2 ? 0.01f : -0.01f);
        t.data = keep(std::move(v));
    });
    auto service = start(model);
    ASSERT_NE(service, nullptr);
    auto report =
        service->run_self_test(expectations_from(document_with({oracle_entry(sha_identity())})), in_a_minute());
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_FALSE(report->passed);
    const auto h = service->health();
    ASSERT_TRUE(h.last_self_test.has_value());
    EXPECT_FALSE(h.last_self_test->passed);
    EXPECT_TRUE(h.last_self_test->verdict.rfind("FAIL: ", 0) == 0) << h.last_self_test->verdict;
    service->shutdown(server::Clock::now());
}

TEST_F(ServiceSelfTest, ChecksThatCannotBeFoundAreRecordedAsAFailure) {
    auto service = start(kModel);
    ASSERT_NE(service, nullptr);
    const Result<selftest::Expectations> missing = not_found("no expectations.json in /nowhere");
    auto report = service->run_self_test(missing, in_a_minute());
    EXPECT_FALSE(report.ok());
    const auto h = service->health();
    ASSERT_TRUE(h.last_self_test.has_value());
    EXPECT_FALSE(h.last_self_test->passed);
    EXPECT_NE(h.last_self_test->verdict.find("could not run: no expectations.json"), std::string::npos)
        << h.last_self_test->verdict;
    service->shutdown(server::Clock::now());
}

class SelfTestCli : public SelfTest {
  protected:
    // An expectations file in dir_; its pictures come from the program's own shipped data.
    std::string write_expectations(const json& doc) {
        const fs::path file = dir_ / "expectations.json";
        std::ofstream(file) << doc.dump(2);
        return file.string();
    }
};

TEST_F(SelfTestCli, PassExitsZeroAndPrintsOneLinePerCheck) {
    const std::string file = write_expectations(document_with({oracle_entry(sha_identity())}));
    const CliRun r = run_cli({"selftest", "--model-dir", kModel, "--expectations", file});
    std::cout << r.out;
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    EXPECT_TRUE(contains(r.out, "\nverdict: PASS: all 10 published checks agree")) << r.out;
    EXPECT_TRUE(contains(r.out, "PASS  CLIP.png zero-shot")) << r.out;
    int check_lines = 0;
    std::size_t pos = 0;
    while ((pos = r.out.find('\n', pos)) != std::string::npos) {
        ++pos;
        if (r.out.compare(pos, 6, "PASS  ") == 0 || r.out.compare(pos, 6, "FAIL  ") == 0) ++check_lines;
    }
    EXPECT_EQ(check_lines, 14);
}

TEST_F(SelfTestCli, FailExitsOne) {
    const std::string model = write_model("tiny-openai", [&](std::vector<TensorToWrite>& tensors) {
        TensorToWrite& t = tensor(tensors, "visual.proj");
        std::vector<float> v(t.data.begin(), t.data.end());
        v[5] *= 1.5f;
        t.data = keep(std::move(v));
    });
    const std::string file = write_expectations(document_with({oracle_entry(sha_identity())}));
    CliRun r = run_cli({"selftest", "--model-dir", model, "--expectations", file});
    std::cout << r.out;
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(contains(r.out, "FAIL  weights sha256")) << r.out;
    EXPECT_TRUE(contains(r.out, "\nverdict: FAIL: ")) << r.out;
    EXPECT_TRUE(contains(r.out, "\ndiagnosis: ")) << r.out;

    r = run_cli({"selftest", "--model-dir", model, "--expectations", file, "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j.at("verdict"), "fail");
    EXPECT_GT(j.at("counts").at("fail").get<int>(), 0);
}

TEST_F(SelfTestCli, JsonOutput) {
    const std::string file = write_expectations(document_with({oracle_entry(sha_identity())}));
    const CliRun r = run_cli({"selftest", "--model-dir", kModel, "--expectations", file, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j.at("verdict"), "pass");
    EXPECT_EQ(j.at("verified"), true);
    EXPECT_EQ(j.at("checks").size(), 14u);
    EXPECT_EQ(j.at("reference").at("id"), "tiny-openai-oracle");
}

TEST_F(SelfTestCli, ShippedDataWithoutReferenceRunsTheSanityCheck) {
    // No --expectations: the program finds its own data (from the build tree here, as an installed one would).
    CliRun r = run_cli({"selftest", "--model-dir", kModel});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(contains(r.out, "no published reference for this model")) << r.out;
    EXPECT_TRUE(contains(r.out, "verdict: FAIL (sanity only)")) << r.out;

    r = run_cli({"selftest", "--model-dir", kModel, "--assets", std::string(HCLIP_SOURCE_DIR) + "/assets"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(contains(r.out, "verdict: FAIL (sanity only)")) << r.out;
}

// selftest --backend hailo runs the checks through the NPU: here the test program, whose "hailo" backend is the
// Hailo backend's own code over the CPU stand-in device. The quantized "hailo" tolerance profile applies.
TEST_F(SelfTestCli, HailoBackendRunsTheChecksThroughTheNpu) {
    const fs::path res = dir_ / "hailo";
    fs::create_directories(res);
    const CliRun made = run_program(testing::make_stand_in_hefs_path(), {"--model-dir", kModel, "--out", res.string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const fs::path config = dir_ / "hailo-clip.yaml";
    std::ofstream(config) << "clip:\n  model_dir: " << kModel << "\n  embedding_dimension: 48\n  backend: hailo\n"
                          << "hailo:\n  image_hef: " << (res / "clip_image_encoder.stand-in.hef").string()
                          << "\n  text_hef: " << (res / "clip_text_encoder.stand-in.hef").string()
                          << "\n  token_embedding_lut: " << (res / "token_embedding_lut.npy").string()
                          << "\n  text_projection: " << (res / "text_projection.npy").string() << "\n";
    const std::string file = write_expectations(document_with({oracle_entry(sha_identity())}));
    const std::vector<std::string> args = {"selftest",       "--config", config.string(), "--backend", "hailo",
                                           "--expectations", file};
    CliRun r = run_program(testing::test_cli_path(), args);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    EXPECT_TRUE(contains(r.out, "backend:      image hailo-emulated, text hailo-emulated; tolerances: hailo")) << r.out;
    EXPECT_TRUE(contains(r.out, "not compared on backend 'hailo'")) << r.out;
    EXPECT_TRUE(contains(r.err, "CPU EMULATION")) << r.err;

    // The same command in the installed program, which has no stand-in: it says why it cannot, and fails.
    r = run_cli(args);
    EXPECT_EQ(r.exit_code, 1);
    // Without HailoRT the probe says so; with it (no device here), HailoRT's own reason from opening the backend.
    EXPECT_TRUE(contains(r.err, "the hailo backend is not available: ") ||
                contains(r.err, "opening the hailo backend: "))
        << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;

    // A lost device during the self-test is an error, not a verdict.
    const std::string faulty = "HAILO_CLIP_STAND_IN_FAULT=run:62:0";
    r = run_program("/usr/bin/env", [&] {
        std::vector<std::string> a = {faulty, testing::test_cli_path()};
        a.insert(a.end(), args.begin(), args.end());
        return a;
    }());
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_TRUE(contains(r.err, "HAILO_COMMUNICATION_CLOSED (62)")) << r.err;
}

TEST_F(SelfTestCli, UsageAndSetupErrors) {
    // The installed program on a machine without a usable NPU: the probe's reason, no result.
    CliRun r = run_cli({"selftest", "--model-dir", kModel, "--backend", "hailo"});
    EXPECT_EQ(r.exit_code, 1);
    // Without HailoRT the probe says so; with it (no device here), HailoRT's own reason from opening the backend.
    EXPECT_TRUE(contains(r.err, "the hailo backend is not available: ") ||
                contains(r.err, "opening the hailo backend: "))
        << r.err;
    EXPECT_TRUE(r.out.empty());

    r = run_cli({"selftest", "--model-dir", kModel, "--backend", "tpu"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    r = run_cli({"selftest", "--model-dir", kModel, "--frobnicate"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    r = run_cli({"selftest", "--model-dir", kModel, "extra"});
    EXPECT_EQ(r.exit_code, 2) << r.err;

    r = run_cli({"selftest", "--model-dir", kModel, "--assets", (dir_ / "nowhere").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, "self-test data")) << r.err;

    const fs::path bad = dir_ / "bad.json";
    std::ofstream(bad) << R"({"format": "hailo-clip-selftest-expectations", "version": 2})";
    r = run_cli({"selftest", "--model-dir", kModel, "--expectations", bad.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, "'version' must be 1")) << r.err;

    r = run_cli({"selftest", "--model-dir", (dir_ / "no-model").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace hclip
