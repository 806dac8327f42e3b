#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "support/fixtures.h"
#include "support/mapping_flags.h"
#include "support/temp_dir.h"

namespace hclip {
namespace {

std::vector<std::uint8_t> make_file(const std::string& header, std::size_t data_bytes, std::uint64_t len_override = 0) {
    std::vector<std::uint8_t> bytes(8 + header.size() + data_bytes, 0);
    const std::uint64_t len = len_override ? len_override : header.size();
    std::memcpy(bytes.data(), &len, 8);
    std::memcpy(bytes.data() + 8, header.data(), header.size());
    return bytes;
}

TEST(Safetensors, ParsesValidHeaderAndConvertsDtypes) {
    // F16 1.0 = 0x3c00, BF16 -2.0 = 0xc000
    auto bytes = make_file(R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},)"
                           R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]},"__metadata__":{"k":"v"}})",
                           4);
    const std::size_t d = bytes.size() - 4;
    bytes[d] = 0x00;
    bytes[d + 1] = 0x3c;
    bytes[d + 2] = 0x00;
    bytes[d + 3] = 0xc0;
    auto st = SafetensorsFile::parse(bytes);
    ASSERT_TRUE(st.ok()) << st.status().to_string();
    EXPECT_EQ(st->metadata().at("k"), "v");
    EXPECT_EQ(st->read_f32("a").value()[0], 1.0f);
    EXPECT_EQ(st->read_f32("b").value()[0], -2.0f);
    EXPECT_EQ(st->read_f32("c").status().code(), StatusCode::kNotFound);
}

TEST(Safetensors, RejectsTruncatedAndMalformedFiles) {
    std::vector<std::uint8_t> tiny = {1, 2, 3};
    EXPECT_EQ(SafetensorsFile::parse(tiny).status().code(), StatusCode::kDataLoss);

    auto huge_len = make_file("{}", 0, 1ull << 62);
    auto s = SafetensorsFile::parse(huge_len).status();
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("header length"), std::string::npos) << s.message();

    auto not_json = make_file("{not json", 0);
    EXPECT_EQ(SafetensorsFile::parse(not_json).status().code(), StatusCode::kDataLoss);

    auto out_of_range = make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8);
    s = SafetensorsFile::parse(out_of_range).status();
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();

    auto size_mismatch = make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16);
    EXPECT_EQ(SafetensorsFile::parse(size_mismatch).status().code(), StatusCode::kDataLoss);

    auto bad_dtype = make_file(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1);
    EXPECT_EQ(SafetensorsFile::parse(bad_dtype).status().code(), StatusCode::kUnsupported);

    auto negative = make_file(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", 1);
    EXPECT_EQ(SafetensorsFile::parse(negative).status().code(), StatusCode::kDataLoss);
}

TEST(Safetensors, OpensFixtureModelAndRoundTripsWriter) {
    auto st = SafetensorsFile::open(testing::fixture("models/tiny-openai/model.safetensors"));
    ASSERT_TRUE(st.ok()) << st.status().to_string();
    const TensorView* t = st->find("visual.conv1.weight");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->shape_string(), "[192, 3, 32, 32]");

    std::vector<float> v = {1.5f, -2.25f, 3.0f, 0.125f, 7.0f, 8.0f};
    const auto path = (std::filesystem::temp_directory_path() / "hclip_st_roundtrip.safetensors").string();
    ASSERT_TRUE(write_safetensors(path, {{"z", {2, 3}, v}, {"a", {1}, std::span<const float>(v).first(1)}}).ok());
    auto back = SafetensorsFile::open(path);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->read_f32("z").value(), v);
    EXPECT_EQ(back->read_f32("a").value()[0], 1.5f);
    std::filesystem::remove(path);
}

TEST(Safetensors, TruncatedFixtureFileGivesClearError) {
    auto full = read_file(testing::fixture("models/tiny-openai/model.safetensors"));
    ASSERT_TRUE(full.ok());
    std::vector<std::uint8_t> cut(full->begin(), full->begin() + static_cast<long>(full->size() / 2));
    auto s = SafetensorsFile::parse(cut).status();
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
}

// Weights that are read once and released must not stay resident because a small tensor next to them is in use:
// the advice that keeps the kernel from mapping 2 MB of the file at a time shows on the mapping.
TEST(MappedFile, SmallPagesAdviceShowsOnTheMapping) {
    testing::TempDir dir;
    const std::string path = (dir.path() / "weights.bin").string();
    ASSERT_TRUE(write_safetensors(path, {{"w", {4096}, std::vector<float>(4096, 1.0f)}}).ok());
    if (!testing::advice_shows_in_smaps(path))
        GTEST_SKIP() << "this system's /proc/self/smaps does not show madvise advice (qemu's user-mode emulation)";
    auto file = MappedFile::open(path);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    ASSERT_TRUE(testing::mapping_flags(path).has_value());
    EXPECT_FALSE(testing::flags_have(testing::mapping_flags(path), "nh")) << *testing::mapping_flags(path);
    file->map_in_small_pages();
    EXPECT_TRUE(testing::flags_have(testing::mapping_flags(path), "nh")) << *testing::mapping_flags(path);
}

}  // namespace
}  // namespace hclip
