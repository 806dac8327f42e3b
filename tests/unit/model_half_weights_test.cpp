// The reduced-precision options, 16-bit weight storage (ModelOptions::weights bf16 / fp16) and bf16 products
// (ModelOptions::compute bf16), against their documented criterion, for every fixture model: cosine >= 0.999 to
// the float32 reference's normalized embeddings for every image and text, and the same top-1 text for every image
// as the reference's probabilities. The float32 default keeps its own 5e-5 test (model_golden_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "engine/zero_shot.h"
#include "io/safetensors.h"
#include "kernels/kernel_choice.h"
#include "kernels/packed_conv.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"
#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/text_tower.h"
#include "support/fixtures.h"
#include "support/golden.h"

namespace hclip {
namespace {

constexpr double kMinCosine = 0.999;  // docs/configuration.md, clip.weights: the reduced-precision criterion

// bfloat16 keeps 8 significant bits: on tiny-openclip-gelu-p16 it flips two near-ties whose reference top-two
// cosines are 0.0008 and 0.0001 apart, so bf16 does NOT meet the "same top-1 everywhere"; its documented
// (weaker) criterion asks the same top-1 wherever the reference's top two are at least 0.001 apart. fp16 (11
// bits) is held to every classification.
constexpr double kBf16TopOneMinMargin = 1e-3;

struct Golden {
    std::vector<std::string> images;
    std::size_t n_texts = 0;
    SafetensorsFile expected;
};

Golden load_golden(const std::string& model) {
    Golden g;
    auto json_text = read_file(testing::fixture("models/" + model + "/expected.json"));
    EXPECT_TRUE(json_text.ok()) << json_text.status().to_string();
    if (!json_text.ok()) return g;
    auto j = nlohmann::json::parse(*json_text);
    g.images = j.at("images").get<std::vector<std::string>>();
    g.n_texts = j.at("texts").size();
    auto st = SafetensorsFile::open(testing::fixture("models/" + model + "/expected.safetensors"));
    EXPECT_TRUE(st.ok()) << st.status().to_string();
    if (st.ok()) g.expected = std::move(st).value();
    return g;
}

std::vector<std::vector<std::int32_t>> golden_text_ids(const Golden& g) {
    auto flat = g.expected.read_i64("text_ids");
    EXPECT_TRUE(flat.ok());
    std::vector<std::vector<std::int32_t>> ids(g.n_texts);
    for (std::size_t t = 0; t < ids.size() && flat.ok(); ++t) {
        for (std::size_t i = 0; i < 77; ++i)
            ids[t].push_back(static_cast<std::int32_t>((*flat)[t * 77 + i]));
    }
    return ids;
}

std::vector<float> golden_pixels(const Golden& g) {
    if (g.expected.find("pixel_values") != nullptr) return g.expected.read_f32("pixel_values").value();
    auto pre = SafetensorsFile::open(testing::fixture("preprocess/expected.safetensors"));
    EXPECT_TRUE(pre.ok()) << pre.status().to_string();
    std::vector<float> pixels;
    for (const auto& name : g.images) {
        auto p = pre->read_f32(name);
        EXPECT_TRUE(p.ok()) << p.status().to_string();
        if (p.ok()) pixels.insert(pixels.end(), p->begin(), p->end());
    }
    return pixels;
}

struct Embeddings {
    std::vector<float> images, texts;  // L2-normalized rows
};

Embeddings embed(const std::shared_ptr<const ClipModel>& model, const Golden& g) {
    const auto e = static_cast<std::size_t>(model->config().embed_dim);
    Embeddings out;
    out.images.resize(g.images.size() * e);
    auto vision = make_image_tower(model, 5);
    EXPECT_TRUE(vision->encode(golden_pixels(g), static_cast<int>(g.images.size()), out.images).ok());
    const auto ids = golden_text_ids(g);
    out.texts.resize(ids.size() * e);
    TextTower text(model, 8);
    EXPECT_TRUE(text.encode(ids, out.texts).ok());
    for (auto* m : {&out.images, &out.texts}) {
        for (std::size_t r = 0; r < m->size() / e; ++r)
            l2_normalize(std::span<float>(*m).subspan(r * e, e));
    }
    return out;
}

// The smallest cosine between corresponding rows of two sets of unit vectors.
double min_cosine(std::span<const float> got, std::span<const float> want, std::size_t e) {
    double worst = 1.0;
    for (std::size_t r = 0; r < got.size() / e; ++r) {
        double dot = 0.0, norm_got = 0.0, norm_want = 0.0;
        for (std::size_t i = 0; i < e; ++i) {
            const double a = got[r * e + i], b = want[r * e + i];
            dot += a * b;
            norm_got += a * a;
            norm_want += b * b;
        }
        worst = std::min(worst, dot / std::sqrt(norm_got * norm_want));
    }
    return worst;
}

std::size_t argmax(std::span<const float> v) {
    return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// The criterion for `model` (fixture `name`); `label` names the option in the output. Classifications whose
// reference top two are closer than `top_one_min_margin` are not compared.
void expect_criterion(const std::string& name, const std::shared_ptr<const ClipModel>& model, const std::string& label,
                      double top_one_min_margin) {
    const Golden g = load_golden(name);
    ASSERT_FALSE(g.images.empty());
    const auto e = static_cast<std::size_t>(model->config().embed_dim);
    const Embeddings got = embed(model, g);

    const auto want_images = g.expected.read_f32("image_embeds_normalized").value();
    const auto want_texts = g.expected.read_f32("text_embeds_normalized").value();
    const double image_cos = min_cosine(got.images, want_images, e);
    const double text_cos = min_cosine(got.texts, want_texts, e);
    std::cout << "  " << name << " " << label << ": min cosine images " << image_cos << ", texts " << text_cos << "\n";
    EXPECT_GE(image_cos, kMinCosine);
    EXPECT_GE(text_cos, kMinCosine);

    const auto want_probs = g.expected.read_f32("probs_scale100").value();
    const auto want_cosine = g.expected.read_f32("cosine").value();
    for (std::size_t i = 0; i < g.images.size(); ++i) {
        std::vector<float> ref(want_cosine.begin() + static_cast<std::ptrdiff_t>(i * g.n_texts),
                               want_cosine.begin() + static_cast<std::ptrdiff_t>((i + 1) * g.n_texts));
        std::partial_sort(ref.begin(), ref.begin() + 2, ref.end(), std::greater<>());
        const double margin = static_cast<double>(ref[0]) - static_cast<double>(ref[1]);
        if (margin < top_one_min_margin) continue;
        std::vector<float> cos(g.n_texts);
        for (std::size_t t = 0; t < g.n_texts; ++t) {
            cos[t] = dot(std::span<const float>(got.images).subspan(i * e, e),
                         std::span<const float>(got.texts).subspan(t * e, e));
        }
        const auto probs = scaled_softmax(cos, kDefaultLogitScale);
        EXPECT_EQ(argmax(probs), argmax(std::span<const float>(want_probs).subspan(i * g.n_texts, g.n_texts)))
            << "top-1 text of image " << g.images[i] << " (reference top-two margin " << margin << ")";
    }
}

// Every fixture model the reduced-precision criterion is checked on.
const std::vector<std::string> kCriterionFixtures = {"tiny-openai",        "tiny-hf",      "tiny-openclip-gelu-p16",
                                                     "tiny-openai-f16",    "tiny-hf-bf16", "tiny-openai-resnet",
                                                     "tiny-mobileclip2-s0"};

using Case = std::tuple<std::string, WeightStorage>;

class HalfWeightCriterion : public ::testing::TestWithParam<Case> {};

TEST_P(HalfWeightCriterion, CosineAndTopOneAgainstTheFloat32Reference) {
    const auto& [name, storage] = GetParam();
    auto model = ClipModel::load(testing::fixture("models/" + name), {.weights = storage});
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    expect_criterion(name, *model, std::string(weight_storage_name(storage)),
                     storage == WeightStorage::kBf16 ? kBf16TopOneMinMargin : 0.0);
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, HalfWeightCriterion,
                         ::testing::Combine(::testing::ValuesIn(kCriterionFixtures),
                                            ::testing::Values(WeightStorage::kBf16, WeightStorage::kF16)),
                         [](const auto& param_info) {
                             return testing::fixture_test_name(std::get<0>(param_info.param)) + "_" +
                                    std::string(weight_storage_name(std::get<1>(param_info.param)));
                         });

// Every fixture with each kernel that multiplies bf16 here: the choice by timing (the fixtures' small matrices take
// the library's kernel) and the panel kernel forced onto every matrix.
using Bf16Case = std::tuple<std::string, GemmKernelMode>;

class Bf16ProductsCriterion : public ::testing::TestWithParam<Bf16Case> {
  protected:
    void SetUp() override {
        if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
        if (std::get<1>(GetParam()) == GemmKernelMode::kPanels && !panel_gemm_bf16_supported())
            GTEST_SKIP() << "no bf16 panel kernel on this CPU (it needs AVX512-BF16)";
    }
};

TEST_P(Bf16ProductsCriterion, CosineAndTopOneAgainstTheFloat32Reference) {
    const auto& [name, mode] = GetParam();
    auto model =
        ClipModel::load(testing::fixture("models/" + name), {.compute = ComputePrecision::kBf16, .gemm_kernel = mode});
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    EXPECT_EQ((*model)->compute(), ComputePrecision::kBf16);
    if (mode == GemmKernelMode::kPanels) {
        ASSERT_FALSE((*model)->gemm_plan().choices.empty());
        for (const GemmChoice& c : (*model)->gemm_plan().choices)
            EXPECT_TRUE(c.uses(GemmKernel::kPanels) && !c.uses(GemmKernel::kPacked)) << gemm_shape_name(c.shape);
    }
    // The same two near-ties of tiny-openclip-gelu-p16 that bf16 weights flip flip here too (checked: with no
    // margin this test fails on exactly those); bf16 products are held to bf16 weights' criterion.
    expect_criterion(name, *model, "bf16 products, " + std::string(gemm_kernel_mode_name(mode)), kBf16TopOneMinMargin);
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, Bf16ProductsCriterion,
                         ::testing::Combine(::testing::ValuesIn(kCriterionFixtures),
                                            ::testing::Values(GemmKernelMode::kAuto, GemmKernelMode::kPanels)),
                         [](const auto& param_info) {
                             return testing::fixture_test_name(std::get<0>(param_info.param)) + "_" +
                                    std::string(gemm_kernel_mode_name(std::get<1>(param_info.param)));
                         });

// The 16-bit path must really hold and use 16-bit weights: the model keeps only the 16-bit copies, and its
// results differ from the float32 model's by more than float32 reordering could (~1e-7) yet stay close.
TEST(HalfWeights, HoldsOnlySixteenBitMatricesAndTheirRoundingShows) {
    for (WeightStorage storage : {WeightStorage::kBf16, WeightStorage::kF16}) {
        SCOPED_TRACE(std::string(weight_storage_name(storage)));
        auto fp32 = ClipModel::load(testing::fixture("models/tiny-openai"), {.pack_weights = false});
        auto half = ClipModel::load(testing::fixture("models/tiny-openai"), {.weights = storage});
        ASSERT_TRUE(fp32.ok() && half.ok());
        const ClipModel& m = **half;
        EXPECT_EQ(m.weight_storage(), storage);
        EXPECT_EQ((*fp32)->half_bytes(), 0u);
        // Every transformer matrix, both projections, the patch and token embeddings, 2 bytes each.
        const ClipConfig& c = m.config();
        std::size_t elements = 0;
        for (const TransformerConfig* t :
             {static_cast<const TransformerConfig*>(&c.vision), static_cast<const TransformerConfig*>(&c.text)}) {
            const auto w = static_cast<std::size_t>(t->width), mlp = static_cast<std::size_t>(t->mlp_width);
            elements += static_cast<std::size_t>(t->layers) * (4 * w * w + 2 * w * mlp);
            elements += w * static_cast<std::size_t>(c.embed_dim);
        }
        elements += static_cast<std::size_t>(c.vision.width) * 3 * c.vision.patch_size * c.vision.patch_size;
        elements += static_cast<std::size_t>(c.text.vocab_size) * c.text.width;
        EXPECT_EQ(m.half_bytes(), 2 * elements);
        EXPECT_EQ(m.packed_count(), 0u) << "16-bit matrices are not packed";
        EXPECT_EQ(m.text().token_embedding, nullptr);
        EXPECT_EQ(m.vision().projection.weight, nullptr);
        for (const BlockWeights& b : m.text().blocks) {
            EXPECT_EQ(b.fc1.weight, nullptr);
            EXPECT_NE(b.fc1.half.data, nullptr);
            EXPECT_NE(b.qkv_half.data, nullptr);
        }

        const Golden g = load_golden("tiny-openai");
        const Embeddings a = embed(*fp32, g), b = embed(*half, g);
        const auto moved = testing::max_abs_difference(b.texts, a.texts).max_abs;
        const auto moved_images = testing::max_abs_difference(b.images, a.images).max_abs;
        std::cout << "  " << weight_storage_name(storage) << " vs fp32: max |diff| texts " << moved << ", images "
                  << moved_images << "\n";
        EXPECT_GT(moved, 1e-5);
        EXPECT_GT(moved_images, 1e-5);
        EXPECT_LT(moved, 0.05);
    }
}

// A checkpoint already stored in the chosen 16-bit type is used as it is: its weights are exactly those the
// fixture's reference ran with, so the float32 acceptance (5e-5) still holds, which one more rounding would break.
TEST(HalfWeights, CheckpointInTheSameTypeIsNotRoundedTwice) {
    for (const auto& [name, storage] :
         {std::pair{"tiny-openai-f16", WeightStorage::kF16}, std::pair{"tiny-hf-bf16", WeightStorage::kBf16}}) {
        SCOPED_TRACE(name);
        auto model = ClipModel::load(testing::fixture(std::string("models/") + name), {.weights = storage});
        ASSERT_TRUE(model.ok()) << model.status().to_string();
        const Golden g = load_golden(name);
        const Embeddings got = embed(*model, g);
        const auto e = static_cast<std::size_t>((*model)->config().embed_dim);
        testing::expect_close(std::string(name) + " image_embeds_normalized", got.images,
                              g.expected.read_f32("image_embeds_normalized").value(), e, 5e-5);
        testing::expect_close(std::string(name) + " text_embeds_normalized", got.texts,
                              g.expected.read_f32("text_embeds_normalized").value(), e, 5e-5);
    }
}

// bf16 products really multiply bf16: the transformer matrices are packed as bf16 only (no float32 or 16-bit
// copy left), every shape takes a kernel on that packed copy (oneDNN's, or the panel kernel where the timing at
// load found it faster: with AMX tiles it can win every row bucket of a shape), and the results move
// from float32's by more than float32 reordering could (~1e-7) yet stay close.
TEST(Bf16Products, HoldsOnlyBf16PackedMatricesAndTheirRoundingShows) {
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    auto fp32 = ClipModel::load(testing::fixture("models/tiny-openai"));
    auto bf16 = ClipModel::load(testing::fixture("models/tiny-openai"), {.compute = ComputePrecision::kBf16});
    ASSERT_TRUE(fp32.ok() && bf16.ok());
    const ClipModel& m = **bf16;
    EXPECT_EQ(m.weight_storage(), WeightStorage::kF32);
    EXPECT_EQ(m.half_bytes(), 0u);
    for (const GemmChoice& c : m.gemm_plan().choices) {
        EXPECT_TRUE(c.uses(GemmKernel::kPacked) || c.uses(GemmKernel::kPanels));
        EXPECT_FALSE(c.uses(GemmKernel::kPlain)) << "a bf16 matrix must not be timed or run as a float32 one";
    }
    const auto is_bf16 = [](const PackedWeights* p) { return p != nullptr && p->type() == PackedType::kBf16; };
    for (const auto* tower : {&m.vision().blocks, &m.text().blocks}) {
        for (const BlockWeights& b : *tower) {
            EXPECT_TRUE(is_bf16(b.qkv_packed));
            EXPECT_EQ(b.q.weight, nullptr);
            for (const LinearWeights* l : {&b.out, &b.fc1, &b.fc2}) {
                EXPECT_TRUE(is_bf16(l->packed));
                EXPECT_EQ(l->weight, nullptr);
            }
        }
    }
    EXPECT_TRUE(is_bf16(m.vision().patch_embedding_packed));
    EXPECT_TRUE(is_bf16(m.vision().projection.packed));
    EXPECT_TRUE(is_bf16(m.text().projection.packed));
    EXPECT_NE(m.text().token_embedding, nullptr) << "looked up, not multiplied: stays float32";
    EXPECT_LT(m.packed_bytes(), (*fp32)->packed_bytes());

    const Golden g = load_golden("tiny-openai");
    const Embeddings a = embed(*fp32, g), b = embed(*bf16, g);
    const auto moved = testing::max_abs_difference(b.texts, a.texts).max_abs;
    const auto moved_images = testing::max_abs_difference(b.images, a.images).max_abs;
    std::cout << "  bf16 products vs fp32: max |diff| texts " << moved << ", images " << moved_images << "\n";
    EXPECT_GT(moved, 1e-5);
    EXPECT_GT(moved_images, 1e-5);
    EXPECT_LT(moved, 0.05);
    EXPECT_LT(moved_images, 0.05);
}

// A ResNet's convolutions take bf16 products too where they run on the library's direct kernels (their bf16
// weights are what the criterion tests above measure); the attention pool's small products stay float32.
TEST(Bf16Products, ResNetConvolutionsTakeBf16ProductsWhereDirect) {
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    auto model = ClipModel::load(testing::fixture("models/tiny-openai-resnet"), {.compute = ComputePrecision::kBf16});
    auto fp32 = ClipModel::load(testing::fixture("models/tiny-openai-resnet"));
    ASSERT_TRUE(model.ok() && fp32.ok()) << model.status().to_string();
    const ResNetWeights& r = (*model)->resnet();
    if (packed_conv_available()) {
        ASSERT_NE(r.stem[0].direct, nullptr);
        EXPECT_EQ(r.stem[0].direct->spec().type, PackedType::kBf16);
        ASSERT_FALSE(r.blocks.empty());
        ASSERT_NE(r.blocks[0].conv3.direct, nullptr);
        EXPECT_EQ(r.blocks[0].conv3.direct->spec().type, PackedType::kBf16);
        ASSERT_NE((*fp32)->resnet().stem[0].direct, nullptr);
        EXPECT_EQ((*fp32)->resnet().stem[0].direct->spec().type, PackedType::kF32);
    } else {
        ASSERT_NE(r.stem[0].packed, nullptr);
        EXPECT_EQ(r.stem[0].packed->type(), PackedType::kF32);
    }
    ASSERT_NE(r.attnpool.q.packed, nullptr);
    EXPECT_EQ(r.attnpool.q.packed->type(), PackedType::kF32);
    ASSERT_FALSE((*model)->text().blocks.empty());
    ASSERT_NE((*model)->text().blocks[0].fc1.packed, nullptr);
    EXPECT_EQ((*model)->text().blocks[0].fc1.packed->type(), PackedType::kBf16);
}

// clip.weights bf16 adds nothing to bf16 products (docs/configuration.md): the same model, the same results.
TEST(Bf16Products, Bf16WeightsMeanTheSame) {
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    auto plain = ClipModel::load(testing::fixture("models/tiny-hf"), {.compute = ComputePrecision::kBf16});
    auto with_weights = ClipModel::load(testing::fixture("models/tiny-hf"),
                                        {.weights = WeightStorage::kBf16, .compute = ComputePrecision::kBf16});
    ASSERT_TRUE(plain.ok() && with_weights.ok());
    EXPECT_EQ((*with_weights)->half_bytes(), 0u);
    const Golden g = load_golden("tiny-hf");
    const Embeddings a = embed(*plain, g), b = embed(*with_weights, g);
    EXPECT_EQ(a.images, b.images);
    EXPECT_EQ(a.texts, b.texts);
}

// Never a silent float32 fallback: what cannot run bf16 products, or contradicts them, is refused.
TEST(Bf16Products, RefusedWhenContradictedOrUnavailable) {
    const std::string dir = testing::fixture("models/tiny-openai");
    if (!packed_gemm_available()) {
        // No packed GEMM in this build (aarch64's Debian oneDNN is not used): no bf16 products whatever is asked,
        // and the refusal says so rather than naming another option.
        for (const ModelOptions& options :
             {ModelOptions{.compute = ComputePrecision::kBf16},
              ModelOptions{.weights = WeightStorage::kF16, .compute = ComputePrecision::kBf16},
              ModelOptions{.pack_weights = false, .compute = ComputePrecision::kBf16}}) {
            auto model = ClipModel::load(dir, options);
            ASSERT_FALSE(model.ok());
            EXPECT_EQ(model.status().code(), StatusCode::kUnsupported);
            EXPECT_NE(model.status().message().find("clip.compute bf16 is not available"), std::string::npos)
                << model.status().message();
        }
        return;
    }
    auto fp16 = ClipModel::load(dir, {.weights = WeightStorage::kF16, .compute = ComputePrecision::kBf16});
    ASSERT_FALSE(fp16.ok());
    EXPECT_EQ(fp16.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(fp16.status().message().find("fp16"), std::string::npos) << fp16.status().message();
    auto unpacked = ClipModel::load(dir, {.pack_weights = false, .compute = ComputePrecision::kBf16});
    EXPECT_EQ(unpacked.status().code(), StatusCode::kInvalidArgument);
    auto plain = ClipModel::load(dir, {.compute = ComputePrecision::kBf16, .gemm_kernel = GemmKernelMode::kPlain});
    EXPECT_EQ(plain.status().code(), StatusCode::kInvalidArgument);

    auto model = ClipModel::load(dir, {.compute = ComputePrecision::kBf16});
    if (packed_bf16_support().ok()) {
        EXPECT_TRUE(model.ok()) << model.status().to_string();
    } else {
        ASSERT_FALSE(model.ok()) << "loaded without bf16 products on a CPU or build that has none";
        EXPECT_EQ(model.status().code(), StatusCode::kUnsupported);
        EXPECT_NE(model.status().message().find("clip.compute bf16"), std::string::npos) << model.status().message();
    }
}

}  // namespace
}  // namespace hclip
