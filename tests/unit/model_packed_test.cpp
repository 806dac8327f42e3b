// The towers with and without packed weights and under every GEMM kernel setting, each against the float64 oracle
// outputs of the fixtures with the golden test's tolerance, so every path stays proved whichever is the default.
// Packing must also release the plain copies (the model's converted buffers shrink) and leave no weight matrix
// unpacked.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/mapped_file.h"
#include "engine/zero_shot.h"
#include "io/safetensors.h"
#include "kernels/kernel_cache.h"
#include "kernels/packed_conv.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"
#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/text_tower.h"
#include "support/fixtures.h"
#include "support/golden.h"
#include "support/mapping_flags.h"

namespace hclip {
namespace {

constexpr double kEmbeddingTolerance = 5e-5;  // fixtures README: float32 engine acceptance

void normalize_rows(std::vector<float>& m, int dim) {
    for (std::size_t r = 0; r < m.size() / static_cast<std::size_t>(dim); ++r) {
        l2_normalize(std::span<float>(m).subspan(r * static_cast<std::size_t>(dim), static_cast<std::size_t>(dim)));
    }
}

void expect_all_packed(const std::vector<BlockWeights>& blocks) {
    for (const BlockWeights& b : blocks) {
        EXPECT_NE(b.qkv_packed, nullptr);
        EXPECT_EQ(b.q.weight, nullptr);
        for (const LinearWeights* l : {&b.out, &b.fc1, &b.fc2}) {
            EXPECT_NE(l->packed, nullptr);
            EXPECT_EQ(l->weight, nullptr);
        }
    }
}

void expect_resnet_packed(const ResNetWeights& r) {
    std::vector<const FoldedConv*> convs = {&r.stem[0], &r.stem[1], &r.stem[2]};
    for (const BottleneckWeights& b : r.blocks) {
        for (const FoldedConv* c : {&b.conv1, &b.conv2, &b.conv3})
            convs.push_back(c);
        if (b.has_downsample) convs.push_back(&b.downsample);
    }
    // Direct where the build has the library's convolutions (oneDNN), else im2col + packed GEMM; never both.
    for (const FoldedConv* c : convs) {
        if (packed_conv_available()) {
            EXPECT_NE(c->direct, nullptr);
            EXPECT_EQ(c->packed, nullptr);
        } else {
            EXPECT_NE(c->packed, nullptr);
        }
        EXPECT_TRUE(c->weight.empty()) << "the plain copy of a packed convolution is freed";
    }
    for (const LinearWeights* l : {&r.attnpool.q, &r.attnpool.c_proj})
        EXPECT_NE(l->packed, nullptr);
    // The attention pool reads the key and value projections' rows (model/attention_pool.h): plain, never packed.
    for (const LinearWeights* l : {&r.attnpool.k, &r.attnpool.v}) {
        EXPECT_EQ(l->packed, nullptr);
        EXPECT_NE(l->weight, nullptr);
    }
}

class PackedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(PackedModel, BothPathsMatchOracle) {
    const std::string name = GetParam();
    const std::string dir = testing::fixture("models/" + name);
    auto json_text = read_file(dir + "/expected.json");
    ASSERT_TRUE(json_text.ok()) << json_text.status().to_string();
    const auto j = nlohmann::json::parse(*json_text);
    const auto images = j.at("images").get<std::vector<std::string>>();
    const auto n_texts = j.at("texts").size();
    auto expected = SafetensorsFile::open(dir + "/expected.safetensors");
    ASSERT_TRUE(expected.ok()) << expected.status().to_string();
    auto pre = SafetensorsFile::open(testing::fixture("preprocess/expected.safetensors"));
    ASSERT_TRUE(pre.ok()) << pre.status().to_string();
    std::vector<float> pixels;
    if (expected->find("pixel_values") != nullptr) {
        pixels = expected->read_f32("pixel_values").value();  // the model's own inputs (the ResNet fixture: 96 px)
    } else {
        for (const auto& image : images) {
            auto p = pre->read_f32(image);
            ASSERT_TRUE(p.ok()) << p.status().to_string();
            pixels.insert(pixels.end(), p->begin(), p->end());
        }
    }
    auto flat_ids = expected->read_i64("text_ids");
    ASSERT_TRUE(flat_ids.ok());
    std::vector<std::vector<std::int32_t>> ids(n_texts);
    for (std::size_t t = 0; t < n_texts; ++t) {
        for (std::size_t i = 0; i < 77; ++i)
            ids[t].push_back(static_cast<std::int32_t>((*flat_ids)[t * 77 + i]));
    }

    // Every kernel setting: plain weights (no packing), each forced kernel, the timed choice, and a choice that
    // uses both kernels per shape (packed up to 8 rows, plain above: from a timings file written to say so), so
    // each path and the switch between them meet the oracle.
    std::string tmpl = (std::filesystem::temp_directory_path() / "hclip-packed-model-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    const std::filesystem::path temp_dir(tmpl);
    const std::string mixed_timings = (temp_dir / "gemm-kernels.txt").string();
    struct Variant {
        const char* name;
        ModelOptions options;
    };
    const Variant variants[] = {
        {"not packed", {.pack_weights = false}},
        {"forced packed", {.pack_weights = true, .gemm_kernel = GemmKernelMode::kPacked}},
        {"forced panels", {.pack_weights = true, .gemm_kernel = GemmKernelMode::kPanels}},
        {"forced plain", {.pack_weights = true, .gemm_kernel = GemmKernelMode::kPlain}},
        {"auto", {.pack_weights = true, .gemm_kernel = GemmKernelMode::kAuto}},
        {"auto, both kernels",
         {.pack_weights = true, .gemm_kernel = GemmKernelMode::kAuto, .gemm_kernel_cache = mixed_timings}},
    };
    std::size_t converted_unpacked = 0;
    for (const Variant& variant : variants) {
        SCOPED_TRACE(variant.name);
        const bool panels = variant.options.gemm_kernel == GemmKernelMode::kPanels;
        if (panels && !panel_gemm_supported()) continue;  // replaced by the first kernel: another variant
        const bool pack =
            variant.options.pack_weights && (variant.options.gemm_kernel == GemmKernelMode::kPacked || panels);
        const bool mixed = !variant.options.gemm_kernel_cache.empty();
        if (mixed) {
            if (!packed_gemm_available()) continue;  // one kernel only: covered by the plain variants
            auto probe = ClipModel::load(dir, {.pack_weights = true, .gemm_kernel = GemmKernelMode::kPacked});
            ASSERT_TRUE(probe.ok()) << probe.status().to_string();
            GemmTimings timings;
            for (const GemmChoice& c : (*probe)->gemm_plan().choices) {
                for (int m : gemm_row_buckets()) {
                    timings[{c.shape, m, GemmKernel::kPanels}] = m <= 8 ? 1.0 : 2.5;
                    timings[{c.shape, m, GemmKernel::kPacked}] = m <= 8 ? 1.5 : 2.0;
                    timings[{c.shape, m, GemmKernel::kPlain}] = m <= 8 ? 2.0 : 1.0;
                }
            }
            ASSERT_TRUE(write_gemm_cache(mixed_timings, current_gemm_cache_key(), timings).ok());
        }
        auto model = ClipModel::load(dir, variant.options);
        ASSERT_TRUE(model.ok()) << model.status().to_string();
        const ClipModel& m = **model;
        if (mixed) {
            EXPECT_EQ(m.gemm_plan().timed, 0) << "every timing came from the file";
            ASSERT_FALSE(m.gemm_plan().choices.empty());
            // The panel kernel where this CPU has it, else the library's (the timings file has both).
            for (const GemmChoice& c : m.gemm_plan().choices) {
                EXPECT_EQ(c.describe(), panel_gemm_supported() ? "panels for m <= 8, plain for m > 8"
                                                               : "packed for m <= 8, plain for m > 8");
            }
            EXPECT_GT(m.packed_count(), 0u);
            EXPECT_GT(m.plain_kept_bytes(), 0u);
            for (const BlockWeights& b : m.text().blocks) {
                EXPECT_NE(b.fc1.packed, nullptr);
                EXPECT_NE(b.fc1.weight, nullptr) << "both copies kept";
            }
        } else if (variant.options.pack_weights && variant.options.gemm_kernel == GemmKernelMode::kPlain) {
            EXPECT_EQ(m.packed_count(), 0u);
        }
        if (panels) {
            for (const GemmChoice& c : m.gemm_plan().choices)
                EXPECT_EQ(c.describe(), "panels");
            // The log says how the panels multiply, and from which copy.
            const auto& notes = m.gemm_plan().notes;
            EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
                return n.find(std::string("panels multiply with ") + std::string(panel_gemm_method())) !=
                       std::string::npos;
            })) << "no note on the panel kernel";
            for (const BlockWeights& b : m.text().blocks) {
                ASSERT_NE(b.fc1.packed, nullptr);
                EXPECT_TRUE(b.fc1.packed->has_panels()) << "the panel kernel would not run";
            }
        }
        if (pack && packed_gemm_available()) {
            expect_all_packed(m.text().blocks);
            if (m.config().vision.kind == VisionKind::kResNet) {
                expect_resnet_packed(m.resnet());
            } else if (m.config().vision.kind == VisionKind::kFastVit) {
                EXPECT_NE(m.fastvit().stem_pointwise.packed, nullptr);
            } else {
                expect_all_packed(m.vision().blocks);
                EXPECT_NE(m.vision().patch_embedding_packed, nullptr);
                EXPECT_NE(m.vision().projection.packed, nullptr);
            }
            EXPECT_NE(m.text().projection.packed, nullptr);
            EXPECT_GT(m.packed_bytes(), 0u);
            // Converted (F16/BF16) copies of packed matrices are freed.
            if (converted_unpacked > 0) {
                EXPECT_LT(m.converted_bytes(), converted_unpacked);
            }
        } else if (!variant.options.pack_weights) {
            EXPECT_EQ(m.packed_count(), 0u);
            converted_unpacked = m.converted_bytes();
        }

        const int e = m.config().embed_dim;
        const int n_img = static_cast<int>(images.size());
        auto vision = make_image_tower(*model, 3);  // batches of 3: chunking and a short last chunk
        std::vector<float> image_embeds(static_cast<std::size_t>(n_img * e));
        ASSERT_TRUE(vision->encode(pixels, n_img, image_embeds).ok());
        normalize_rows(image_embeds, e);
        testing::expect_close(name + " image_embeds_normalized", image_embeds,
                              expected->read_f32("image_embeds_normalized").value(), static_cast<std::size_t>(e),
                              kEmbeddingTolerance);

        TextTower text(*model, 5);
        std::vector<float> text_embeds(ids.size() * static_cast<std::size_t>(e));
        Status s = text.encode(ids, text_embeds);
        ASSERT_TRUE(s.ok()) << s.to_string();
        normalize_rows(text_embeds, e);
        testing::expect_close(name + " text_embeds_normalized", text_embeds,
                              expected->read_f32("text_embeds_normalized").value(), static_cast<std::size_t>(e),
                              kEmbeddingTolerance);
    }
    std::filesystem::remove_all(temp_dir);
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, PackedModel,
                         ::testing::Values("tiny-openai", "tiny-hf", "tiny-openclip-gelu-p16", "tiny-openai-f16",
                                           "tiny-hf-bf16", "tiny-openai-resnet", "tiny-mobileclip2-s0"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                             return testing::fixture_test_name(param_info.param);
                         });

// A model whose weight matrices are packed or kept in 16 bits reads the file's copies once and releases them, while
// the small tensors beside them (biases, LayerNorm) stay in use from the mapping. The mapping is advised to use small
// pages, or Linux may map the file's large page-cache folios 2 MB at a time and keep the released weights around
// each small tensor resident (measured: 150 MB of ViT-B/32's float32 file stayed resident, on Linux 6.18 and ext4).
// The plain float32 model computes from the mapping itself and keeps the kernel's choice.
TEST(PackedModelMapping, ReleasedWeightsAreMappedInSmallPages) {
    const std::string file =
        std::filesystem::canonical(testing::fixture("models/tiny-openai/model.safetensors")).string();
    if (!testing::advice_shows_in_smaps(file))
        GTEST_SKIP() << "this system's /proc/self/smaps does not show madvise advice (qemu's user-mode emulation)";
    struct Variant {
        const char* name;
        ModelOptions options;
        bool small_pages;
    };
    const Variant variants[] = {
        {"not packed", {.pack_weights = false}, false},
        {"plain kernel", {.pack_weights = true, .gemm_kernel = GemmKernelMode::kPlain}, false},
        {"weights bf16", {.pack_weights = false, .weights = WeightStorage::kBf16}, true},
        {"weights fp16, packing asked", {.pack_weights = true, .weights = WeightStorage::kF16}, true},
        {"packed", {.pack_weights = true, .gemm_kernel = GemmKernelMode::kPacked}, packed_gemm_available()},
    };
    for (const Variant& v : variants) {
        SCOPED_TRACE(v.name);
        auto model = ClipModel::load(file, v.options);
        ASSERT_TRUE(model.ok()) << model.status().to_string();
        const auto flags = testing::mapping_flags(file);
        ASSERT_TRUE(flags.has_value()) << "the model's file is not mapped";
        EXPECT_EQ(testing::flags_have(flags, "nh"), v.small_pages) << *flags;
    }
}

}  // namespace
}  // namespace hclip
