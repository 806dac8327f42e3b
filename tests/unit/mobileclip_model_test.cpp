// MobileCLIP (OpenCLIP CustomTextCLIP with timm's FastViT image tower and a non-causal text tower) against the
// tiny-mobileclip2-s0 fixture: the real MobileCLIP2-S0 image geometry with random weights in the multi-branch
// training form. Image embeddings from the fixture's own pixel_values (the bilinear preprocessing is tested apart),
// texts from the fixture's ids, probabilities through the engine's zero-shot functions; then mutants of the folding
// and of the text mask that these comparisons must catch.
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "core/mapped_file.h"
#include "engine/clip_engine.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "io/safetensors.h"
#include "model/batch_norm_fold.h"
#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/mobileone_fold.h"
#include "model/text_tower.h"
#include "support/fixtures.h"
#include "support/golden.h"
#include "support/temp_dir.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;

constexpr double kEmbeddingTolerance = 5e-5;  // fixtures README: float32 engine acceptance
constexpr double kProbabilityTolerance = 1e-3;
const char* const kFixture = "models/tiny-mobileclip2-s0";

struct Oracle {
    std::vector<float> pixels, image_normalized, text_normalized, probs;
    std::vector<std::vector<std::int32_t>> ids;
    int images = 0;
};

const Oracle& oracle() {
    static const Oracle o = [] {
        Oracle r;
        auto expected = SafetensorsFile::open(testing::fixture(std::string(kFixture) + "/expected.safetensors"));
        EXPECT_TRUE(expected.ok()) << expected.status().to_string();
        if (!expected.ok()) return r;
        r.pixels = expected->read_f32("pixel_values").value();
        r.image_normalized = expected->read_f32("image_embeds_normalized").value();
        r.text_normalized = expected->read_f32("text_embeds_normalized").value();
        r.probs = expected->read_f32("probs_scale100").value();
        r.images = static_cast<int>(r.pixels.size() / (3u * 256u * 256u));
        const auto flat = expected->read_i64("text_ids").value();
        for (std::size_t t = 0; t < flat.size() / 77; ++t) {
            r.ids.emplace_back();
            for (std::size_t i = 0; i < 77; ++i)
                r.ids.back().push_back(static_cast<std::int32_t>(flat[t * 77 + i]));
        }
        return r;
    }();
    return o;
}

std::vector<float> image_embeddings(const std::shared_ptr<const ClipModel>& model, int n) {
    const int e = model->config().embed_dim;
    auto tower = make_image_tower(model, 4);
    std::vector<float> out(static_cast<std::size_t>(n * e));
    const Status s = tower->encode(
        std::span<const float>(oracle().pixels).first(3u * 256u * 256u * static_cast<std::size_t>(n)), n, out);
    EXPECT_TRUE(s.ok()) << s.to_string();
    l2_normalize_rows(out, static_cast<std::size_t>(e));
    return out;
}

std::vector<float> text_embeddings(const std::shared_ptr<const ClipModel>& model) {
    const int e = model->config().embed_dim;
    TextTower tower(model, 4);
    std::vector<float> out(oracle().ids.size() * static_cast<std::size_t>(e));
    const Status s = tower.encode(oracle().ids, out);
    EXPECT_TRUE(s.ok()) << s.to_string();
    l2_normalize_rows(out, static_cast<std::size_t>(e));
    return out;
}

std::shared_ptr<const ClipModel> load_fixture() {
    auto model = ClipModel::load(testing::fixture(kFixture));
    EXPECT_TRUE(model.ok()) << model.status().to_string();
    return model.ok() ? *model : nullptr;
}

TEST(MobileClip, LoadsTheFastVitGeometryAndTheNonCausalText) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    const ClipConfig& c = model->config();
    EXPECT_EQ(c.vision.kind, VisionKind::kFastVit);
    EXPECT_EQ(c.vision.fastvit.timm_name, "fastvit_mci0");
    ASSERT_EQ(c.vision.fastvit.stages.size(), 4u);
    const int layers[] = {2, 6, 10, 2}, widths[] = {64, 128, 256, 512};
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(c.vision.fastvit.stages[i].layers, layers[i]);
        EXPECT_EQ(c.vision.fastvit.stages[i].width, widths[i]);
        EXPECT_EQ(c.vision.fastvit.stages[i].attention, i == 3);
    }
    EXPECT_EQ(c.vision.fastvit.final_width, 1024);
    EXPECT_EQ(c.vision.image_size, 256);
    EXPECT_EQ(c.embed_dim, 48);
    EXPECT_FALSE(c.text.causal);
    EXPECT_EQ(c.text.heads, 2);
    EXPECT_EQ(c.text.activation, Activation::kGelu);
    // preprocess_cfg: mean 0, std 1, Pillow BILINEAR, shortest-side resize.
    for (int ch = 0; ch < 3; ++ch) {
        EXPECT_EQ(c.preprocess.mean[static_cast<std::size_t>(ch)], 0.0f);
        EXPECT_EQ(c.preprocess.std[static_cast<std::size_t>(ch)], 1.0f);
    }
    EXPECT_EQ(c.preprocess.interpolation, ResampleFilter::kBilinear);
    EXPECT_EQ(c.preprocess.resize_mode, ResizeMode::kShortest);
}

// The whole path a request takes: the picture files through our own decoder, the bilinear resize and
// preprocess_cfg's normalization, the engine's CPU encoders, then the zero-shot scores.
TEST(MobileClip, FromThePictureFilesThroughTheEngineMatchesOracle) {
    std::ifstream meta(testing::fixture(std::string(kFixture) + "/expected.json"));
    const auto names = nlohmann::json::parse(meta).at("images").get<std::vector<std::string>>();
    ASSERT_EQ(static_cast<int>(names.size()), oracle().images);
    EngineOptions options;
    options.model_dir = testing::fixture(kFixture);
    options.backend = "cpu";
    auto engine = ClipEngine::open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    auto encoder = (*engine)->create_image_encoder();
    ASSERT_TRUE(encoder.ok()) << encoder.status().to_string();
    std::vector<float> images(names.size() * 48u);
    for (std::size_t i = 0; i < names.size(); ++i) {
        auto bytes = read_file(testing::fixture("images/" + names[i]));
        ASSERT_TRUE(bytes.ok()) << names[i];
        auto prepared = (*engine)->prepare_image(
            std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
        ASSERT_TRUE(prepared.ok()) << names[i] << ": " << prepared.status().to_string();
        ASSERT_TRUE((*encoder)->encode(prepared->rgb, 1, std::span<float>(images).subspan(i * 48u, 48u)).ok());
    }
    l2_normalize_rows(images, 48);
    testing::expect_close("mobileclip image embeddings from the picture files", images, oracle().image_normalized, 48,
                          kEmbeddingTolerance);
    const auto texts = text_embeddings((*engine)->model_ptr());
    std::vector<float> probs;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto p = scaled_softmax(
            cosine_similarities(std::span<const float>(images).subspan(i * 48u, 48u), texts, 48), kDefaultLogitScale);
        probs.insert(probs.end(), p.begin(), p.end());
    }
    testing::expect_close("mobileclip probabilities from the picture files", probs, oracle().probs, oracle().ids.size(),
                          kProbabilityTolerance);
}

TEST(MobileClip, ImageEmbeddingsFromPixelValuesMatchOracle) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    testing::expect_close("mobileclip image embeddings", image_embeddings(model, oracle().images),
                          oracle().image_normalized, 48, kEmbeddingTolerance);
}

TEST(MobileClip, UnpackedWeightsGiveTheSameEmbeddings) {
    auto model = ClipModel::load(testing::fixture(kFixture), {.pack_weights = false});
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    testing::expect_close("mobileclip image embeddings, plain GEMM", image_embeddings(*model, 2),
                          std::span<const float>(oracle().image_normalized).first(96), 48, kEmbeddingTolerance);
}

TEST(MobileClip, TextEmbeddingsOverTheWholeContextMatchOracle) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    testing::expect_close("mobileclip text embeddings", text_embeddings(model), oracle().text_normalized, 48,
                          kEmbeddingTolerance);
    // The ids without their zero padding are the same texts: the tower pads them itself.
    std::vector<std::vector<std::int32_t>> trimmed = oracle().ids;
    for (auto& ids : trimmed) {
        while (!ids.empty() && ids.back() == 0)
            ids.pop_back();
    }
    TextTower tower(model, 3);
    std::vector<float> out(trimmed.size() * 48u);
    ASSERT_TRUE(tower.encode(trimmed, out).ok());
    l2_normalize_rows(out, 48);
    testing::expect_close("mobileclip text embeddings, unpadded ids", out, oracle().text_normalized, 48,
                          kEmbeddingTolerance);
}

TEST(MobileClip, ZeroShotProbabilitiesMatchOracle) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    const auto images = image_embeddings(model, oracle().images);
    const auto texts = text_embeddings(model);
    std::vector<float> probs;
    for (int i = 0; i < oracle().images; ++i) {
        const auto cos = cosine_similarities(
            std::span<const float>(images).subspan(static_cast<std::size_t>(i) * 48u, 48u), texts, 48);
        const auto p = scaled_softmax(cos, kDefaultLogitScale);
        probs.insert(probs.end(), p.begin(), p.end());
    }
    testing::expect_close("mobileclip probabilities", probs, oracle().probs, oracle().ids.size(),
                          kProbabilityTolerance);
}

using testing::TempDir;

// Rewrites the fixture's F32 tensors into `dir` (num_batches_tracked, an I64 counter nothing reads, is left out)
// after `edit` may change each one, with the fixture's config edited by `edit_config`.
using TensorEdit = std::function<void(const std::string& name, std::vector<float>& values)>;
void write_mutant(const fs::path& dir, const TensorEdit& edit,
                  const std::function<void(nlohmann::json&)>& edit_config = {}) {
    auto src = SafetensorsFile::open(testing::fixture(std::string(kFixture) + "/open_clip_model.safetensors"));
    ASSERT_TRUE(src.ok()) << src.status().to_string();
    std::vector<std::vector<float>> data;
    std::vector<TensorToWrite> out;
    data.reserve(src->tensors().size());
    for (const TensorView& t : src->tensors()) {
        if (t.dtype != DType::kF32) continue;
        data.push_back(src->read_f32(t.name).value());
        if (edit) edit(t.name, data.back());
        out.push_back({t.name, t.shape, data.back()});
    }
    ASSERT_TRUE(write_safetensors((dir / "open_clip_model.safetensors").string(), out).ok());
    auto config =
        nlohmann::json::parse(read_file(testing::fixture(std::string(kFixture) + "/open_clip_config.json")).value());
    if (edit_config) edit_config(config);
    std::ofstream(dir / "open_clip_config.json") << config.dump();
}

double max_difference(std::span<const float> got, std::span<const float> expected) {
    return testing::max_abs_difference(got, expected).max_abs;
}

// The mutant's first image (or every text) must move beyond the acceptance tolerance: proof that the fixture
// comparison sees the mistake the mutant stands for.
struct FoldingMutant {
    const char* what;
    const char* batch_norm;  // the prefix of the BatchNorm (or layer scale) the mutant edits
    enum { kBranchLeftOut, kBatchNormLeftOut, kLayerScaleLeftOut } kind;
};

class MobileClipMutant : public ::testing::TestWithParam<FoldingMutant> {};

TEST_P(MobileClipMutant, MovesImageEmbeddingsBeyondTolerance) {
    const FoldingMutant m = GetParam();
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const std::string prefix = std::string("visual.trunk.") + m.batch_norm;
    write_mutant(dir.path(), [&](const std::string& name, std::vector<float>& v) {
        if (name.rfind(prefix, 0) != 0) return;
        const std::string field = name.substr(prefix.size());
        for (float& x : v) {
            if (m.kind == FoldingMutant::kBranchLeftOut) {
                // gamma = beta = 0: the branch adds exactly nothing, as if the fold had skipped it.
                if (field == "weight" || field == "bias") x = 0.0f;
            } else if (m.kind == FoldingMutant::kBatchNormLeftOut) {
                // The identity BatchNorm: the branch's convolution folded as if it had no BatchNorm.
                if (field == "weight") x = 1.0f;
                if (field == "bias" || field == "running_mean") x = 0.0f;
                if (field == "running_var") x = static_cast<float>(1.0 - kBatchNormEps);
            } else {
                x = 1.0f;  // a layer scale not applied
            }
        }
    });
    auto model = ClipModel::load(dir.path().string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const auto got = image_embeddings(*model, 1);
    const double diff = max_difference(got, std::span<const float>(oracle().image_normalized).first(48));
    std::printf("  %s: max |diff| %g\n", m.what, diff);
    EXPECT_GT(diff, kEmbeddingTolerance) << m.what;
}

INSTANTIATE_TEST_SUITE_P(
    Folding, MobileClipMutant,
    ::testing::Values(
        FoldingMutant{"stem scale branch left out", "stem.0.conv_scale.bn.", FoldingMutant::kBranchLeftOut},
        FoldingMutant{"RepMixer identity branch left out", "stages.2.blocks.3.token_mixer.mixer.identity.",
                      FoldingMutant::kBranchLeftOut},
        FoldingMutant{"large-kernel conv's small branch left out", "stages.1.downsample.proj.0.small_conv.bn.",
                      FoldingMutant::kBranchLeftOut},
        FoldingMutant{"final conv's scale branch left out", "final_conv.conv_scale.bn.", FoldingMutant::kBranchLeftOut},
        FoldingMutant{"stem conv folded without its BatchNorm", "stem.0.conv_kxk.0.bn.",
                      FoldingMutant::kBatchNormLeftOut},
        FoldingMutant{"RepMixer conv folded without its BatchNorm",
                      "stages.0.blocks.1.token_mixer.mixer.conv_kxk.0.bn.", FoldingMutant::kBatchNormLeftOut},
        FoldingMutant{"attention layer scale left out", "stages.3.blocks.1.layer_scale_1.gamma",
                      FoldingMutant::kLayerScaleLeftOut}),
    [](const ::testing::TestParamInfo<FoldingMutant>& p) { return "mutant" + std::to_string(p.index); });

TEST(MobileClipMutant, CausalMaskMovesTextEmbeddingsBeyondTolerance) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    write_mutant(dir.path(), {}, [](nlohmann::json& c) { c["model_cfg"]["text_cfg"]["no_causal_mask"] = false; });
    auto model = ClipModel::load(dir.path().string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    ASSERT_TRUE(model->get()->config().text.causal);
    const auto got = text_embeddings(*model);
    // Every text must move, not only most: each one attends to its padding in the reference.
    for (std::size_t t = 0; t < oracle().ids.size(); ++t) {
        const double diff = max_difference(std::span<const float>(got).subspan(t * 48u, 48u),
                                           std::span<const float>(oracle().text_normalized).subspan(t * 48u, 48u));
        std::printf("  causal mask, text %zu: max |diff| %g\n", t, diff);
        EXPECT_GT(diff, kEmbeddingTolerance) << "text " << t;
    }
}

// The fixture as timm's reparameterize_model() leaves it: every MobileOne block, RepMixer, large-kernel conv and
// positional conv replaced by its reparam_conv (PyTorch layout [out, in / groups, k, k] and a bias). The folding
// algebra is the library's (mobileone_fold_test checks it against branch-by-branch computation); what this checks
// is the loader's other path: the reparam_conv names, shapes and layout, against the independent oracle.
class Reparameterizer {
  public:
    explicit Reparameterizer(const SafetensorsFile& src) : src_(src) {}

    void mobileone(const std::string& p, int out, int ipg, int k, bool scale, bool identity) {
        RepKernel r = RepKernel::zeros(out, ipg, k);
        add_branch(r, p + "conv_kxk.0.", k);
        if (scale) add_branch(r, p + "conv_scale.", 1);
        if (identity) add_identity_bn(r, bn(p + "identity."), kBatchNormEps);
        emit(p, r);
        consumed_.push_back(p + "conv_kxk.");
        consumed_.push_back(p + "conv_scale.");
        consumed_.push_back(p + "identity.");
    }

    void repmixer(const std::string& p, int c) {
        RepKernel m = RepKernel::zeros(c, 1, 3), n = RepKernel::zeros(c, 1, 3), id = RepKernel::zeros(c, 1, 3);
        add_branch(m, p + "mixer.conv_kxk.0.", 3);
        add_branch(m, p + "mixer.conv_scale.", 1);
        add_identity_bn(m, bn(p + "mixer.identity."), kBatchNormEps);
        add_identity_bn(n, bn(p + "norm.identity."), kBatchNormEps);
        add_identity(id, 1.0);
        emit(p, combine_scaled_difference(id, m, n, keep(p + "layer_scale.gamma")));
        consumed_.push_back(p + "mixer.");
        consumed_.push_back(p + "norm.");
        consumed_.push_back(p + "layer_scale.");
    }

    void large_kernel(const std::string& p, int c) {
        RepKernel r = RepKernel::zeros(c, 1, 7);
        add_branch(r, p + "large_conv.", 7);
        add_branch(r, p + "small_conv.", 3);
        emit(p, r);
        consumed_.push_back(p + "large_conv.");
        consumed_.push_back(p + "small_conv.");
    }

    void positional(const std::string& p, int c) {
        RepKernel r = RepKernel::zeros(c, 1, 7);
        add_conv(r, keep(p + "pos_enc.weight"), keep(p + "pos_enc.bias"));
        add_identity(r, 1.0);
        emit(p, r);
        consumed_.push_back(p + "pos_enc.");
    }

    void write(const fs::path& path) {
        std::vector<TensorToWrite> out;
        for (const TensorView& t : src_.tensors()) {
            bool gone = t.dtype != DType::kF32;
            for (const std::string& c : consumed_)
                gone = gone || t.name.rfind(c, 0) == 0;
            if (!gone) out.push_back({t.name, t.shape, keep(t.name)});
        }
        for (std::size_t i = 0; i < added_names_.size(); ++i)
            out.push_back({added_names_[i], added_shapes_[i], added_[i]});
        ASSERT_TRUE(write_safetensors(path.string(), out).ok());
    }

  private:
    const std::vector<float>& keep(const std::string& name) {
        buffers_.push_back(src_.read_f32(name).value());
        return buffers_.back();
    }
    BatchNormStats bn(const std::string& p) {
        return {keep(p + "weight"), keep(p + "bias"), keep(p + "running_mean"), keep(p + "running_var")};
    }
    void add_branch(RepKernel& r, const std::string& p, int k) {
        add_conv_bn(r, keep(p + "conv.weight"), k, bn(p + "bn."), kBatchNormEps);
    }
    void emit(const std::string& p, const RepKernel& r) {
        added_names_.push_back(p + "reparam_conv.weight");
        added_shapes_.push_back({r.out, r.in_per_group, r.kernel, r.kernel});
        added_.emplace_back(r.weight.begin(), r.weight.end());
        added_names_.push_back(p + "reparam_conv.bias");
        added_shapes_.push_back({r.out});
        added_.emplace_back(r.bias.begin(), r.bias.end());
    }

    const SafetensorsFile& src_;
    std::deque<std::vector<float>> buffers_, added_;  // deque: references stay valid as it grows
    std::vector<std::string> added_names_, consumed_;
    std::vector<std::vector<std::int64_t>> added_shapes_;
};

TEST(MobileClip, ReparameterizedCheckpointGivesTheSameEmbeddings) {
    auto src = SafetensorsFile::open(testing::fixture(std::string(kFixture) + "/open_clip_model.safetensors"));
    ASSERT_TRUE(src.ok()) << src.status().to_string();
    Reparameterizer r(*src);
    const std::string t = "visual.trunk.";
    r.mobileone(t + "stem.0.", 64, 3, 3, true, false);
    r.mobileone(t + "stem.1.", 64, 1, 3, true, false);
    r.mobileone(t + "stem.2.", 64, 64, 1, false, true);
    const int layers[] = {2, 6, 10, 2}, widths[] = {64, 128, 256, 512};
    for (int i = 0; i < 4; ++i) {
        const std::string p = t + "stages." + std::to_string(i) + ".";
        if (i > 0) {
            r.large_kernel(p + "downsample.proj.0.", widths[i]);
            r.mobileone(p + "downsample.proj.1.", widths[i], widths[i], 1, false, true);
        }
        if (i == 3) r.positional(p + "pos_emb.", widths[i]);
        for (int b = 0; i < 3 && b < layers[i]; ++b)
            r.repmixer(p + "blocks." + std::to_string(b) + ".token_mixer.", widths[i]);
    }
    r.mobileone(t + "final_conv.", 1024, 1, 3, true, false);
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    r.write(dir.path() / "open_clip_model.safetensors");
    fs::copy_file(testing::fixture(std::string(kFixture) + "/open_clip_config.json"),
                  dir.path() / "open_clip_config.json");
    auto reparameterized = SafetensorsFile::open((dir.path() / "open_clip_model.safetensors").string());
    ASSERT_TRUE(reparameterized.ok());
    ASSERT_EQ(reparameterized->find(t + "stem.0.conv_kxk.0.conv.weight"), nullptr);  // the rewrite did what it says
    ASSERT_NE(reparameterized->find(t + "stages.2.blocks.9.token_mixer.reparam_conv.weight"), nullptr);

    auto model = ClipModel::load(dir.path().string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    testing::expect_close("mobileclip image embeddings, reparameterized checkpoint", image_embeddings(*model, 2),
                          std::span<const float>(oracle().image_normalized).first(96), 48, kEmbeddingTolerance);
}

TEST(MobileClipMutant, TheUnmutatedRewriteStillMatches) {
    // The rewrite itself (F32 tensors only, config re-serialized) must not be what moves the mutants.
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    write_mutant(dir.path(), {});
    auto model = ClipModel::load(dir.path().string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    EXPECT_LE(max_difference(image_embeddings(*model, 1), std::span<const float>(oracle().image_normalized).first(48)),
              kEmbeddingTolerance);
}

}  // namespace
}  // namespace hclip
