// The Hailo text encoder's .npy files checked against the checkpoint that is served (support_files.h): identical
// files are used; a projection stored the other way round is refused saying so; files from another model are
// refused naming both. The real ViT-B/32 projection is square (512x512), so a square checkpoint is made here from
// tiny-openai with its two projections widened to the text width.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "backends/hailo/support_files.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/clip_model.h"
#include "support/fixtures.h"

namespace hclip::hailo {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

fs::path temp_dir(const std::string& name) {
    const fs::path d =
        fs::temp_directory_path() /
        ("hclip-support-" + name + "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(d);
    return d;
}

// tiny-openai with both projections replaced by random ones of `embed` columns: text width 128, so embed 128 gives
// a square text projection like ViT-B/32's.
fs::path write_tiny_with_embed(const fs::path& dir, int embed, unsigned seed) {
    auto src = SafetensorsFile::open(testing::fixture("models/tiny-openai/model.safetensors"));
    EXPECT_TRUE(src.ok()) << src.status().to_string();
    std::vector<std::vector<float>> data;
    std::vector<TensorToWrite> out;
    data.reserve(src->tensors().size());
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 0.05f);
    for (const TensorView& t : src->tensors()) {
        std::vector<std::int64_t> shape = t.shape;
        if (t.name == "visual.proj" || t.name == "text_projection") {
            shape[1] = embed;
            data.emplace_back(static_cast<std::size_t>(shape[0] * shape[1]));
            for (float& x : data.back())
                x = dist(rng);
        } else {
            data.push_back(std::move(src->read_f32(t.name).value()));
        }
        out.push_back({t.name, shape, data.back()});
    }
    fs::create_directories(dir);
    EXPECT_TRUE(write_safetensors((dir / "model.safetensors").string(), out).ok());
    return dir;
}

struct Served {
    fs::path dir = temp_dir("served");
    std::shared_ptr<const ClipModel> model;  // packed where the build packs, as the service loads it
    TextSupportFiles files;                  // made from the same checkpoint
    std::string lut_path, projection_path;

    explicit Served(const fs::path& model_dir) {
        model = ClipModel::load(model_dir.string()).value();
        auto plain = ClipModel::load(model_dir.string(), {.pack_weights = false});
        files = text_support_files_from_model(**plain).value();
        lut_path = (dir / kLutFileName).string();
        projection_path = (dir / kProjectionFileName).string();
    }
    ~Served() { fs::remove_all(dir); }
    Status check(const TextSupportFiles& f) const {
        return check_text_support_files_match(f, *model, lut_path, projection_path);
    }
};

TEST(HailoSupportCheck, IdenticalFilesAreUsed) {
    Served s(testing::fixture("models/tiny-openai"));
    EXPECT_TRUE(s.check(s.files).ok()) << s.check(s.files).to_string();
    // The same files from the Hugging Face layout of the same weights (projection stored transposed there).
    Served hf(testing::fixture("models/tiny-hf"));
    EXPECT_TRUE(hf.check(s.files).ok()) << hf.check(s.files).to_string();
}

TEST(HailoSupportCheck, SquareProjectionStoredTransposedIsRefusedSayingSo) {
    const fs::path root = temp_dir("square");
    Served s(write_tiny_with_embed(root / "model", 128, 1));
    ASSERT_EQ(s.files.projection.shape, (std::vector<std::size_t>{128, 128}));
    ASSERT_TRUE(s.check(s.files).ok()) << s.check(s.files).to_string();
    TextSupportFiles t = s.files;
    for (std::size_t j = 0; j < 128; ++j)
        for (std::size_t i = 0; i < 128; ++i)
            t.projection.data[i * 128 + j] = s.files.projection.data[j * 128 + i];
    const Status st = s.check(t);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(has(st.message(), "TRANSPOSED")) << st.message();
    EXPECT_TRUE(has(st.message(), s.projection_path)) << st.message();
    EXPECT_TRUE(has(st.message(), "make_hailo_support_files --model-dir " + (root / "model").string())) << st.message();
    fs::remove_all(root);
}

TEST(HailoSupportCheck, RectangularProjectionStoredTransposedIsRefusedSayingSo) {
    Served s(testing::fixture("models/tiny-openai"));  // 128 -> 48
    TextSupportFiles t = s.files;
    t.projection.shape = {48, 128};
    const Status st = s.check(t);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(has(st.message(), "stored transposed")) << st.message();
}

TEST(HailoSupportCheck, FilesFromAnotherModelAreRefusedNamingBoth) {
    const fs::path root = temp_dir("other");
    Served a(write_tiny_with_embed(root / "model-a", 128, 1));
    Served b(write_tiny_with_embed(root / "model-b", 128, 2));  // same shapes, another projection
    // Projection from another model (the LUT is tiny-openai's in both).
    Status st = a.check(b.files);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(has(st.message(), "is not the text projection of the checkpoint in " + (root / "model-a").string()))
        << st.message();
    EXPECT_TRUE(has(st.message(), a.projection_path)) << st.message();
    EXPECT_FALSE(has(st.message(), "TRANSPOSED")) << st.message();
    // A token embedding from another model.
    TextSupportFiles other_lut = a.files;
    other_lut.lut.data[12345] += 0.5f;
    st = a.check(other_lut);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(has(st.message(), a.lut_path + " is not the token embedding of the checkpoint in")) << st.message();
    // Another model's shapes: tiny-openai (embed 48) files against the square model.
    Served tiny(testing::fixture("models/tiny-openai"));
    st = a.check(tiny.files);
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(has(st.message(), "is 128x48 but the text projection of the checkpoint in")) << st.message();
    fs::remove_all(root);
}

// Read from disk, a rectangular projection stored transposed is named as such before any model is compared.
TEST(HailoSupportCheck, TransposedFileIsNamedWhenRead) {
    Served s(testing::fixture("models/tiny-openai"));
    std::vector<float> transposed(s.files.projection.data.size());
    ASSERT_TRUE(write_npy_f32(s.lut_path, s.files.lut.shape, s.files.lut.data).ok());
    const std::vector<std::size_t> transposed_shape{48, 128};
    ASSERT_TRUE(write_npy_f32(s.projection_path, transposed_shape, transposed).ok());
    auto loaded = load_text_support_files(s.lut_path, s.projection_path);
    ASSERT_FALSE(loaded.ok());
    EXPECT_TRUE(has(loaded.status().message(), "stored transposed")) << loaded.status().message();
}

// The check runs on what load_text_support_files reads: written files round-trip to "identical".
TEST(HailoSupportCheck, WrittenFilesPassTheCheck) {
    Served s(testing::fixture("models/tiny-openai"));
    auto plain = ClipModel::load(testing::fixture("models/tiny-openai"), {.pack_weights = false});
    ASSERT_TRUE(write_text_support_files(**plain, s.dir.string()).ok());
    auto loaded = load_text_support_files(s.lut_path, s.projection_path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    EXPECT_TRUE(s.check(*loaded).ok()) << s.check(*loaded).to_string();
}

}  // namespace
}  // namespace hclip::hailo
