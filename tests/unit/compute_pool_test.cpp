// The process-wide compute pool: it splits a lone caller's work across threads, gives the same bits for one and
// for several threads and under concurrent callers, and never runs more tasks at once than it is allowed to
// when every allowed thread already has a caller. Also run under TSan (scripts/test.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/compute_pool.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"
#include "model/clip_model.h"
#include "model/text_tower.h"
#include "model/vision_tower.h"
#include "support/fixtures.h"
#include "support/random.h"

namespace hclip {
namespace {

using namespace std::chrono_literals;

// Restores the process-wide thread count after each test.
class ComputePoolTest : public ::testing::Test {
  protected:
    void TearDown() override { set_compute_threads(0); }
};

TEST_F(ComputePoolTest, RunsEveryIterationExactlyOnce) {
    for (int threads : {1, 2, 4}) {
        set_compute_threads(threads);
        std::vector<std::atomic<int>> runs(1000);
        parallel_for(static_cast<int>(runs.size()), [&](int i) { runs[static_cast<std::size_t>(i)].fetch_add(1); });
        for (std::size_t i = 0; i < runs.size(); ++i)
            ASSERT_EQ(runs[i].load(), 1) << "iteration " << i << " with " << threads << " threads";
    }
}

// Two iterations that each wait for the other can only both finish when two threads run them at once.
// Every index in exactly one range, the ranges contiguous and as many as asked (never more than the count).
TEST_F(ComputePoolTest, RangesCoverTheCountOnceInAtMostCountParts) {
    for (const auto& [count, parts] : {std::pair{10, 3}, std::pair{2, 8}, std::pair{7, 1}, std::pair{5, 0}}) {
        std::vector<std::atomic<int>> seen(static_cast<std::size_t>(count));
        std::atomic<int> ranges{0};
        parallel_ranges(count, parts, [&](int begin, int end) {
            EXPECT_LT(begin, end);
            ranges.fetch_add(1);
            for (int i = begin; i < end; ++i)
                seen[static_cast<std::size_t>(i)].fetch_add(1);
        });
        EXPECT_EQ(ranges.load(), std::clamp(parts, 1, count)) << count << " in " << parts;
        for (const auto& s : seen)
            EXPECT_EQ(s.load(), 1) << count << " in " << parts;
    }
    parallel_ranges(0, 4, [](int, int) { ADD_FAILURE() << "a range of nothing ran"; });
}

TEST_F(ComputePoolTest, ALoneCallerGetsASecondThread) {
    set_compute_threads(2);
    std::atomic<int> arrived{0};
    std::atomic<bool> met[2] = {false, false};
    std::mutex ids_mutex;
    std::set<std::thread::id> ids;
    parallel_for(2, [&](int i) {
        {
            std::lock_guard lock(ids_mutex);
            ids.insert(std::this_thread::get_id());
        }
        arrived.fetch_add(1);
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (arrived.load() < 2 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(100us);
        met[i] = arrived.load() == 2;
    });
    EXPECT_TRUE(met[0] && met[1]) << "the two iterations never ran at the same time";
    EXPECT_EQ(ids.size(), 2u);
}

TEST_F(ComputePoolTest, OneThreadRunsOnTheCaller) {
    set_compute_threads(1);
    const auto caller = std::this_thread::get_id();
    std::atomic<int> elsewhere{0};
    parallel_for(64, [&](int) {
        if (std::this_thread::get_id() != caller) elsewhere.fetch_add(1);
    });
    EXPECT_EQ(elsewhere.load(), 0);
}

TEST_F(ComputePoolTest, NestedLoopsRunInline) {
    set_compute_threads(2);
    std::atomic<int> inner{0};
    parallel_for(4, [&](int) {
        const auto outer_thread = std::this_thread::get_id();
        parallel_for(8, [&](int) {
            EXPECT_EQ(std::this_thread::get_id(), outer_thread);
            inner.fetch_add(1);
        });
    });
    EXPECT_EQ(inner.load(), 32);
}

// With two callers computing and two threads allowed, no pool thread may join: at most two tasks at once.
TEST_F(ComputePoolTest, CallersThatFillEveryThreadGetNoHelpers) {
    set_compute_threads(2);
    std::atomic<int> running{0}, most{0}, inside{0};
    const auto caller = [&] {
        const ComputeScope computing;
        inside.fetch_add(1);
        while (inside.load() < 2)
            std::this_thread::yield();
        for (int round = 0; round < 5; ++round) {
            parallel_for(8, [&](int) {
                const int now = running.fetch_add(1) + 1;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                std::this_thread::sleep_for(500us);
                running.fetch_sub(1);
            });
        }
    };
    std::thread a(caller), b(caller);
    a.join();
    b.join();
    EXPECT_LE(most.load(), 2);
    EXPECT_GE(most.load(), 1);
}

// Full-size ViT-B/32 MLP shapes: the split happens, and the bits do not depend on the thread count or on other
// callers computing at the same time.
struct Product {
    int m, n, k;
};
constexpr Product kProducts[] = {{50, 3072, 768}, {50, 768, 3072}, {7, 2048, 512}, {1, 512, 768}};

std::vector<float> plain_product(const Product& p, const std::vector<float>& a, const std::vector<float>& b) {
    std::vector<float> c(static_cast<std::size_t>(p.m) * static_cast<std::size_t>(p.n));
    gemm_f32({.m = p.m,
              .n = p.n,
              .k = p.k,
              .a = a.data(),
              .lda = p.k,
              .b = b.data(),
              .ldb = p.k,
              .b_transposed = true,
              .c = c.data(),
              .ldc = p.n});
    return c;
}

std::vector<float> packed_product(const Product& p, const std::vector<float>& a, const PackedWeights& b) {
    std::vector<float> c(static_cast<std::size_t>(p.m) * static_cast<std::size_t>(p.n));
    gemm_f32_packed({.m = p.m, .a = a.data(), .lda = p.k, .b = &b, .c = c.data(), .ldc = p.n});
    return c;
}

bool same_bits(const std::vector<float>& x, const std::vector<float>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

TEST_F(ComputePoolTest, ProductsAreBitIdenticalForAnyThreadCountAndConcurrentCallers) {
    for (const Product& p : kProducts) {
        SCOPED_TRACE(std::to_string(p.m) + "x" + std::to_string(p.n) + "x" + std::to_string(p.k));
        const auto a = testing::random_vector(static_cast<std::size_t>(p.m) * static_cast<std::size_t>(p.k), 1);
        const auto b = testing::random_vector(static_cast<std::size_t>(p.n) * static_cast<std::size_t>(p.k), 2);
        std::unique_ptr<const PackedWeights> packed;
        if (packed_gemm_available()) packed = PackedWeights::pack(b.data(), p.n, p.k, p.k, true).value();
        set_compute_threads(1);
        const auto plain_one = plain_product(p, a, b);
        const auto packed_one = packed ? packed_product(p, a, *packed) : std::vector<float>{};
        // The plain product against the double-precision oracle: the split computes the right thing.
        std::vector<float> oracle(plain_one.size());
        gemm_f32_reference({.m = p.m,
                            .n = p.n,
                            .k = p.k,
                            .a = a.data(),
                            .lda = p.k,
                            .b = b.data(),
                            .ldb = p.k,
                            .b_transposed = true,
                            .c = oracle.data(),
                            .ldc = p.n});
        for (std::size_t i = 0; i < oracle.size(); ++i)
            ASSERT_NEAR(plain_one[i], oracle[i], 1e-3) << "element " << i;  // K <= 3072 sums of N(0,1) products
        for (int threads : {2, 3, 8}) {
            set_compute_threads(threads);
            EXPECT_TRUE(same_bits(plain_product(p, a, b), plain_one)) << threads << " threads, plain";
            if (packed) {
                EXPECT_TRUE(same_bits(packed_product(p, a, *packed), packed_one)) << threads << " threads";
            }
        }
        set_compute_threads(2);
        std::atomic<int> mismatches{0};
        std::vector<std::thread> callers;
        for (int t = 0; t < 4; ++t) {
            callers.emplace_back([&] {
                for (int round = 0; round < 3; ++round) {
                    if (!same_bits(plain_product(p, a, b), plain_one)) mismatches.fetch_add(1);
                    if (packed && !same_bits(packed_product(p, a, *packed), packed_one)) mismatches.fetch_add(1);
                }
            });
        }
        for (auto& t : callers)
            t.join();
        EXPECT_EQ(mismatches.load(), 0);
    }
}

// Whole towers (their attention heads run as parallel tasks): the same bits on one thread, on several, and from
// several sessions encoding at once.
TEST_F(ComputePoolTest, TowersAreBitIdenticalForAnyThreadCountAndConcurrentSessions) {
    auto model_r = ClipModel::load(testing::fixture("models/tiny-openai"), {});
    ASSERT_TRUE(model_r.ok()) << model_r.status().to_string();
    std::shared_ptr<const ClipModel> model = std::move(model_r).value();
    const ClipConfig& cfg = model->config();
    const int batch = 3;
    const auto pixels = testing::random_vector(
        static_cast<std::size_t>(batch) * 3u * static_cast<std::size_t>(cfg.vision.image_size * cfg.vision.image_size),
        3);
    const std::vector<std::vector<std::int32_t>> texts = {{cfg.text.eot_token - 1, 320, cfg.text.eot_token},
                                                          {cfg.text.eot_token - 1, 320, 1125, 539, cfg.text.eot_token}};
    const auto e = static_cast<std::size_t>(cfg.embed_dim);
    const auto encode = [&](std::vector<float>& images, std::vector<float>& text) {
        VisionTower vision(model, batch);
        TextTower text_tower(model, 2);
        images.assign(static_cast<std::size_t>(batch) * e, 0.0f);
        text.assign(texts.size() * e, 0.0f);
        return vision.encode(pixels, batch, images).ok() && text_tower.encode(texts, text).ok();
    };
    set_compute_threads(1);
    std::vector<float> images_one, text_one;
    ASSERT_TRUE(encode(images_one, text_one));
    for (int threads : {2, 4}) {
        set_compute_threads(threads);
        std::vector<float> images, text;
        ASSERT_TRUE(encode(images, text));
        EXPECT_TRUE(same_bits(images, images_one)) << threads << " threads";
        EXPECT_TRUE(same_bits(text, text_one)) << threads << " threads";
    }
    set_compute_threads(2);
    std::atomic<int> mismatches{0};
    std::vector<std::thread> sessions;
    for (int t = 0; t < 3; ++t) {
        sessions.emplace_back([&] {
            std::vector<float> images, text;
            if (!encode(images, text) || !same_bits(images, images_one) || !same_bits(text, text_one))
                mismatches.fetch_add(1);
        });
    }
    for (auto& t : sessions)
        t.join();
    EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace hclip
