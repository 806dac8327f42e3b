// The service's building blocks on their own: base64, the prompt cache, the inference pool.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "server/http/base64.h"
#include "server/http/error_mapping.h"
#include "server/inference/inference_pool.h"
#include "server/inference/text_cache.h"

namespace hclip::server {
namespace {

std::string as_string(const std::vector<std::uint8_t>& v) {
    return {v.begin(), v.end()};
}

TEST(Base64, DecodesStandardWithAndWithoutPaddingAndWhitespace) {
    EXPECT_EQ(as_string(decode_base64("aGVsbG8=").value()), "hello");
    EXPECT_EQ(as_string(decode_base64("aGVsbG8").value()), "hello");
    EXPECT_EQ(as_string(decode_base64("aGVs\r\nbG8=").value()), "hello");
    EXPECT_EQ(as_string(decode_image_field("data:image/png;base64,aGk=").value()), "hi");
}

TEST(Base64, RejectsWhatLenientDecodersAccept) {
    for (const char* bad :
         {"", "a", "aGk*", "aG=k", "aGk===", "a===", "aGVsbG8==", "data:image/png,aGk=", "data:aGk="}) {
        auto r = decode_image_field(bad);
        EXPECT_FALSE(r.ok()) << "'" << bad << "' was accepted";
        if (!r.ok()) {
            EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
        }
    }
}

// An independent decoder for the same rules: first the first offending character (not base64, or a symbol after
// padding), then the counts, then the bytes from the symbols alone. The decoder must give the same bytes, or the
// same message (with the same position), for every text.
Result<std::vector<std::uint8_t>> decode_base64_by_the_rules(std::string_view text) {
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::vector<int> values;
    std::size_t padding = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool space = std::string_view(" \n\r\t").find(c) != std::string_view::npos;
        const auto value = c == '\0' ? std::string::npos : alphabet.find(c);
        if (space) continue;
        if (c == '=') {
            ++padding;
        } else if (value == std::string::npos || padding > 0) {
            return invalid_argument("'image' is not valid base64: unexpected character at position " +
                                    std::to_string(i));
        } else {
            values.push_back(static_cast<int>(value));
        }
    }
    if (values.empty()) return invalid_argument("'image' is empty");
    if (values.size() % 4 == 1 || padding > 2 || (padding > 0 && (values.size() + padding) % 4 != 0)) {
        return invalid_argument("'image' is not valid base64: its length or padding is wrong (truncated data?)");
    }
    std::vector<std::uint8_t> out;
    for (std::size_t bit = 0; bit + 8 <= values.size() * 6; bit += 8) {  // byte by byte from the bit string
        int byte = 0;
        for (std::size_t b = bit; b < bit + 8; ++b)
            byte = byte << 1 | (values[b / 6] >> (5 - b % 6) & 1);
        out.push_back(static_cast<std::uint8_t>(byte));
    }
    return out;
}

TEST(Base64, WholeGroupsDecodeAsSymbolBySymbol) {
    std::mt19937 rng(1128);
    const std::string symbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const std::string odd(" \r\n\t=*-_.\0\xff", 11);  // a NUL and a byte above ASCII among them
    int decoded = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        std::string text(rng() % 64, 'A');
        for (auto& c : text)
            c = symbols[rng() % symbols.size()];
        // Now and then: line breaks, padding, strays, at random places (most texts stay valid).
        for (int e = static_cast<int>(rng() % 4) - 1; e > 0 && !text.empty(); --e)
            text.insert(rng() % text.size(), 1, odd[rng() % odd.size()]);
        if (rng() % 3 == 0) text += std::string(rng() % 3, '=');
        const auto got = decode_base64(text);
        const auto want = decode_base64_by_the_rules(text);
        ASSERT_EQ(got.ok(), want.ok()) << text;
        if (got.ok()) {
            ASSERT_EQ(*got, *want) << text;
            ++decoded;
        } else {
            ASSERT_EQ(got.status().message(), want.status().message()) << text;
        }
    }
    EXPECT_GT(decoded, 5000);
    EXPECT_LT(decoded, 19000);  // both verdicts were compared many times
}

TEST(ErrorMapping, OnePlaceForEveryCode) {
    EXPECT_EQ(http_status_for(invalid_argument("x")), 400);
    EXPECT_EQ(http_status_for(unsupported("x")), 400);
    EXPECT_EQ(http_status_for(resource_exhausted("x")), 413);
    EXPECT_EQ(http_status_for(unavailable("x")), 503);
    EXPECT_EQ(http_status_for(deadline_exceeded("x")), 504);
    EXPECT_EQ(http_status_for(internal_error("x")), 500);
}

TEST(TextCache, EvictsLeastRecentlyUsedAndNeverExceedsCapacity) {
    TextEmbeddingCache cache(16, 2);
    std::vector<float> out(2);
    for (int i = 0; i < 100; ++i) {
        const float v = static_cast<float>(i);
        cache.insert("p" + std::to_string(i), std::vector<float>{v, -v});
    }
    EXPECT_LE(cache.size(), 16u);
    EXPECT_TRUE(cache.lookup("p99", out));
    EXPECT_EQ(out[0], 99.0f);
    EXPECT_FALSE(cache.lookup("p0", out));
    TextEmbeddingCache off(0, 2);
    off.insert("a", std::vector<float>{1, 2});
    EXPECT_FALSE(off.lookup("a", out));
}

TEST(TextCache, ConcurrentUseIsSafe) {
    TextEmbeddingCache cache(64, 4);
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::vector<float> out(4);
            for (int i = 0; i < 2000; ++i) {
                const std::string key = "k" + std::to_string((i * 7 + t) % 100);
                const float v = static_cast<float>((i * 7 + t) % 100);
                if (cache.lookup(key, out) && out[0] != v) wrong.fetch_add(1);
                cache.insert(key, std::vector<float>{v, v, v, v});
            }
        });
    }
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
}

// Encoders that return a constant direction per input, with an optional delay or failure, to test the pool alone.
struct FakeImageEncoder : ImageEncoder {
    std::chrono::milliseconds delay{0};
    bool fail = false;
    std::string_view backend_name() const override { return "fake"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::uint8_t> rgb, int count, std::span<float> out) override {
        std::this_thread::sleep_for(delay);
        if (fail) return unavailable("device lost");
        for (int i = 0; i < count; ++i) {
            out[static_cast<std::size_t>(i) * 2] = static_cast<float>(rgb[static_cast<std::size_t>(i) * 12]);
            out[static_cast<std::size_t>(i) * 2 + 1] = 0.0f;
        }
        return {};
    }
};
struct FakeTextEncoder : TextEncoder {
    std::string_view backend_name() const override { return "fake"; }
    int max_batch() const override { return 8; }
    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) override {
        for (std::size_t i = 0; i < texts.size(); ++i) {
            out[i * 2] = 0.0f;
            out[i * 2 + 1] = static_cast<float>(texts[i].size());
        }
        return {};
    }
};

EncoderFactory fake_factory(std::chrono::milliseconds delay, bool fail = false) {
    return {.image = [=]() -> Result<std::unique_ptr<ImageEncoder>> {
                auto e = std::make_unique<FakeImageEncoder>();
                e->delay = delay;
                e->fail = fail;
                return std::unique_ptr<ImageEncoder>(std::move(e));
            },
            .text = []() -> Result<std::unique_ptr<TextEncoder>> {
                return std::unique_ptr<TextEncoder>(std::make_unique<FakeTextEncoder>());
            }};
}

InferenceInput one_image(std::uint8_t value) {
    InferenceInput in;
    PreparedImage img;
    img.size = 2;
    img.rgb.assign(12, value);
    in.images.push_back(img);
    in.texts.push_back({1, 2, 3});
    return in;
}

TEST(InferencePool, AnswersEveryJobWithItsOwnResult) {
    InferencePool pool(2, 2, 50, 4);
    ASSERT_TRUE(pool.start(fake_factory(std::chrono::milliseconds(1))).ok());
    std::vector<std::future<Result<InferenceOutput>>> futures;
    for (int i = 1; i <= 40; ++i) {
        auto f = pool.submit(one_image(static_cast<std::uint8_t>(i)), Clock::now() + std::chrono::seconds(10));
        ASSERT_TRUE(f.ok()) << f.status().to_string();
        futures.push_back(std::move(f).value());
    }
    for (auto& f : futures) {
        auto r = f.get();
        ASSERT_TRUE(r.ok());
        EXPECT_FLOAT_EQ(r->image_embeddings[0], 1.0f);  // normalized (v, 0)
        EXPECT_FLOAT_EQ(r->text_embeddings[1], 1.0f);
    }
    EXPECT_TRUE(pool.health().last_inference_ok);
}

TEST(InferencePool, AWorkerIsIdleBeforeItsAnswerIsReleased) {
    // Whoever reads the gauges right after an answer (a scrape of /metrics, a health check) must not see the
    // worker that produced it as busy. Repeated because the stale reading was a race.
    InferencePool pool(2, 1, 4, 1);
    ASSERT_TRUE(pool.start(fake_factory(std::chrono::milliseconds(0))).ok());
    for (int i = 0; i < 300; ++i) {
        auto f = pool.submit(one_image(1), Clock::now() + std::chrono::seconds(10));
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE(f->get().ok());
        ASSERT_EQ(pool.health().busy_workers, 0) << "after answer " << i;
        ASSERT_EQ(pool.health().oldest_batch_seconds, 0.0) << "after answer " << i;
    }
}

TEST(InferencePool, FullQueueIsRejectedAtOnceAndExpiredJobsAreNotRun) {
    InferencePool pool(2, 1, 1, 1);
    ASSERT_TRUE(pool.start(fake_factory(std::chrono::milliseconds(200))).ok());
    auto a = pool.submit(one_image(1), Clock::now() + std::chrono::seconds(10));  // taken by the worker
    ASSERT_TRUE(a.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto b = pool.submit(one_image(2), Clock::now() + std::chrono::milliseconds(20));  // waits, then expires
    ASSERT_TRUE(b.ok());
    auto c = pool.submit(one_image(3), Clock::now() + std::chrono::seconds(10));  // no room
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
    EXPECT_TRUE(a->get().ok());
    EXPECT_EQ(b->get().status().code(), StatusCode::kDeadlineExceeded);
    EXPECT_EQ(pool.health().rejected, 1u);
}

TEST(InferencePool, EncoderFailureIsReportedAndMakesHealthFalse) {
    InferencePool pool(2, 1, 4, 1);
    ASSERT_TRUE(pool.start(fake_factory(std::chrono::milliseconds(0), /*fail=*/true)).ok());
    auto f = pool.submit(one_image(1), Clock::now() + std::chrono::seconds(10));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->get().status().code(), StatusCode::kUnavailable);
    EXPECT_FALSE(pool.health().last_inference_ok);
    EXPECT_NE(pool.health().last_error.find("device lost"), std::string::npos);
}

TEST(InferencePool, ShutdownFailsWhatCannotFinish) {
    InferencePool pool(2, 1, 10, 1);
    ASSERT_TRUE(pool.start(fake_factory(std::chrono::milliseconds(100))).ok());
    std::vector<std::future<Result<InferenceOutput>>> futures;
    for (int i = 0; i < 5; ++i)
        futures.push_back(pool.submit(one_image(1), Clock::now() + std::chrono::seconds(10)).value());
    pool.shutdown(Clock::now() + std::chrono::milliseconds(150));
    int ok = 0, unavailable_count = 0;
    for (auto& f : futures) {
        auto r = f.get();  // every accepted job gets exactly one answer
        if (r.ok())
            ++ok;
        else if (r.status().code() == StatusCode::kUnavailable)
            ++unavailable_count;
    }
    EXPECT_GE(ok, 1);
    EXPECT_GE(unavailable_count, 1);
    EXPECT_EQ(ok + unavailable_count, 5);
    EXPECT_FALSE(pool.submit(one_image(1), Clock::now() + std::chrono::seconds(1)).ok());
}

}  // namespace
}  // namespace hclip::server
