// size_pixel_buffer: the size and contents of vector::resize, and for a large fresh buffer the kernel's huge-page
// advice on the whole 2 MiB pages inside it, read back from /proc/self/smaps ("hg" among the mapping's VmFlags).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

#include "image/decode.h"
#include "image/image.h"
#include "support/fixtures.h"
#include "support/mapping_flags.h"

namespace hclip {
namespace {

// Why the advice cannot be checked here, or "" when it can.
const char* why_advice_cannot_be_seen() {
    if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good())
        return "this kernel has no transparent huge pages";
    if (!testing::advice_shows_in_smaps(testing::fixture("README.md")))
        return "this system's /proc/self/smaps does not show madvise advice (qemu's user-mode emulation)";
    return "";
}

bool advised_huge(const void* address) {
    return testing::flags_have(testing::mapping_flags_at(address), "hg");
}

TEST(PixelBuffer, ResizesLikeVectorResize) {
    std::vector<std::uint8_t> small{1, 2, 3};
    size_pixel_buffer(small, 5);
    EXPECT_EQ(small, (std::vector<std::uint8_t>{1, 2, 3, 0, 0}));
    size_pixel_buffer(small, 2);
    EXPECT_EQ(small, (std::vector<std::uint8_t>{1, 2}));

    std::vector<std::uint8_t> large;
    const std::size_t bytes = (std::size_t{36} << 20) + 12345;  // not a whole number of pages
    size_pixel_buffer(large, bytes);
    ASSERT_EQ(large.size(), bytes);
    EXPECT_TRUE(std::all_of(large.begin(), large.end(), [](std::uint8_t v) { return v == 0; }));
}

TEST(PixelBuffer, LargeFreshBufferIsAdvisedHugePages) {
    if (const char* why = why_advice_cannot_be_seen(); *why != '\0') GTEST_SKIP() << why;
    std::vector<std::uint8_t> large;
    size_pixel_buffer(large, std::size_t{36} << 20);
    // The middle of the buffer lies in a whole 2 MiB page of it, which madvise split off as a mapping of its own.
    ASSERT_TRUE(testing::mapping_flags_at(large.data() + large.size() / 2).has_value());
    EXPECT_TRUE(advised_huge(large.data() + large.size() / 2))
        << *testing::mapping_flags_at(large.data() + large.size() / 2);

    // A small buffer is left to the allocator as it is.
    std::vector<std::uint8_t> small;
    size_pixel_buffer(small, std::size_t{1} << 20);
    EXPECT_FALSE(advised_huge(small.data() + small.size() / 2));
}

TEST(PixelBuffer, DecodedPhotoLiesInAdvisedPages) {
    if (const char* why = why_advice_cannot_be_seen(); *why != '\0') GTEST_SKIP() << why;
    std::ifstream in(testing::fixture("images/large_4000x3000.jpg"), std::ios::binary);
    ASSERT_TRUE(in.good());
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto image = decode_image(bytes);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    ASSERT_EQ(image->pixels.size(), std::size_t{4000} * 3000 * 3);
    EXPECT_TRUE(advised_huge(image->pixels.data() + image->pixels.size() / 2));
}

}  // namespace
}  // namespace hclip
