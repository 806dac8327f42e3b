// The GEMM kernel choice: from injected timings (no clock), forced by configuration, and through the timings file
// (round trip, another machine's file, a corrupt file).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/mapped_file.h"
#include "kernels/kernel_cache.h"
#include "kernels/kernel_choice.h"
#include "kernels/kernel_plan.h"
#include "kernels/kernel_timing.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;

constexpr GemmKernel kBoth[] = {GemmKernel::kPlain, GemmKernel::kPacked};
const GemmShape kFc1{3072, 768}, kQkv{1536, 512};

// Made-up seconds: packed takes `packed_factor` x plain's time up to row count `crossover`, plain is
// `plain_factor` x packed's above it.
struct FakeTimes {
    int crossover = 64;
    double packed_factor = 0.5, plain_factor = 0.6;
    int calls = 0;

    Result<double> operator()(GemmShape s, int m, GemmKernel k) {
        ++calls;
        const double base = 1e-9 * m * s.n * s.k;
        if (m <= crossover) return k == GemmKernel::kPacked ? base * packed_factor : base;
        return k == GemmKernel::kPlain ? base * plain_factor : base;
    }
};

GemmPlan plan_with(FakeTimes& fake, const GemmPlanOptions& options = {}, std::vector<GemmShape> shapes = {kFc1, kQkv}) {
    return plan_gemm_kernels(shapes, options, kBoth, [&](GemmShape s, int m, GemmKernel k) { return fake(s, m, k); });
}

TEST(GemmKernelChoice, PicksTheFasterKernelPerRowBucket) {
    FakeTimes fake;  // packed 2x faster up to 64 rows, plain 1/0.6 faster above
    const GemmPlan plan = plan_with(fake);
    // Every bucket of both shapes, then the buckets past 64 rows (the second kernel's) twice more: two copies of
    // a matrix are kept only for a win that holds when timed again.
    const int buckets = static_cast<int>(gemm_row_buckets().size()), above_64 = 3;
    EXPECT_EQ(fake.calls, 2 * 2 * buckets + 2 * 2 * 2 * above_64);
    EXPECT_EQ(plan.timed, fake.calls);
    const GemmChoice* c = plan.find(kFc1);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->kernel_for(1), GemmKernel::kPacked);
    EXPECT_EQ(c->kernel_for(50), GemmKernel::kPacked);  // one image: bucket 64
    EXPECT_EQ(c->kernel_for(64), GemmKernel::kPacked);
    EXPECT_EQ(c->kernel_for(65), GemmKernel::kPlain);
    EXPECT_EQ(c->kernel_for(400), GemmKernel::kPlain);
    EXPECT_EQ(c->kernel_for(5000), GemmKernel::kPlain);  // past the last bucket: the last bucket's choice
    EXPECT_EQ(c->describe(), "packed for m <= 64, plain for m > 64");
    EXPECT_TRUE(c->uses(GemmKernel::kPacked));
    EXPECT_TRUE(c->uses(GemmKernel::kPlain));

    FakeTimes flipped{.crossover = 64, .packed_factor = 2.0, .plain_factor = 2.0};  // the opposite winners
    const GemmPlan flipped_plan = plan_with(flipped);
    const GemmChoice* f = flipped_plan.find(kFc1);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->kernel_for(8), GemmKernel::kPlain);
    EXPECT_EQ(f->kernel_for(400), GemmKernel::kPacked);
}

// Two kernels on the same packed copy (packed and panels) cost no memory: the faster one takes a bucket by a
// small margin (5% here, above kMinGainSameCopy), such buckets are not timed again, and no plain copy is kept.
TEST(GemmKernelChoice, KernelsOnThePackedCopySplitBucketsWithoutAMargin) {
    constexpr GemmKernel kAll[] = {GemmKernel::kPlain, GemmKernel::kPacked, GemmKernel::kPanels};
    int calls = 0;
    // Panels 5% faster than packed up to 64 rows, packed 5% faster above; plain 2x slower everywhere.
    const auto measure = [&](GemmShape s, int m, GemmKernel k) -> Result<double> {
        ++calls;
        const double base = 1e-9 * m * s.n * s.k;
        if (k == GemmKernel::kPlain) return 2.0 * base;
        if (k == GemmKernel::kPanels) return m <= 64 ? 0.95 * base : base;
        return m <= 64 ? base : 0.95 * base;
    };
    const GemmPlan plan = plan_gemm_kernels(std::vector<GemmShape>{kFc1}, {}, kAll, measure);
    EXPECT_EQ(calls, 3 * static_cast<int>(gemm_row_buckets().size())) << "no bucket was timed again";
    const GemmChoice* c = plan.find(kFc1);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->describe(), "panels for m <= 64, packed for m > 64");
    EXPECT_TRUE(c->uses_packed_copy());
    EXPECT_FALSE(c->uses(GemmKernel::kPlain));
    EXPECT_TRUE(use_panels(c, 50));
    EXPECT_FALSE(use_panels(c, 400));
    EXPECT_FALSE(use_panels(nullptr, 50));
    // Either kernel runs on the packed copy.
    const auto* some_packed = reinterpret_cast<const PackedWeights*>(c);  // only compared with nullptr
    const float plain = 0.0f;
    EXPECT_TRUE(use_packed(some_packed, &plain, c, 50));
    EXPECT_TRUE(use_packed(some_packed, &plain, c, 400));
    EXPECT_TRUE(same_copy(GemmKernel::kPacked, GemmKernel::kPanels));
    EXPECT_FALSE(same_copy(GemmKernel::kPlain, GemmKernel::kPanels));
    EXPECT_EQ(parse_gemm_kernel("panels"), GemmKernel::kPanels);
    EXPECT_EQ(parse_gemm_kernel_mode("panels"), GemmKernelMode::kPanels);

    // A 1% difference either way is a tie: one kernel for every bucket, not a choice that flips on noise.
    const auto tie = [](GemmShape s, int m, GemmKernel k) -> Result<double> {
        const double base = 1e-9 * m * s.n * s.k;
        if (k == GemmKernel::kPlain) return 2.0 * base;
        if (k == GemmKernel::kPanels) return m <= 64 ? 0.99 * base : base;
        return m <= 64 ? base : 0.99 * base;
    };
    const GemmPlan tied = plan_gemm_kernels(std::vector<GemmShape>{kFc1}, {}, kAll, tie);
    ASSERT_NE(tied.find(kFc1), nullptr);
    EXPECT_EQ(tied.find(kFc1)->kernels.size(), gemm_row_buckets().size());
    const auto& ks = tied.find(kFc1)->kernels;
    EXPECT_TRUE(std::all_of(ks.begin(), ks.end(), [&](GemmKernel k) { return k == ks[0]; }))
        << tied.find(kFc1)->describe();
}

// Where the library packs in another layout than the panel kernel's (AVX2 CPUs), packed and panels are two copies:
// a matrix keeps at most one of them, so a choice never uses both, and between them the usual margin for a second
// copy holds.
TEST(GemmKernelChoice, PackedAndPanelsOnTwoCopiesAreNeverBothUsed) {
    constexpr GemmKernel kAll[] = {GemmKernel::kPlain, GemmKernel::kPacked, GemmKernel::kPanels};
    const GemmPlanOptions two_copies{.packed_panels_shared = false};
    // Panels 30% faster than packed up to 64 rows, packed 5% faster above; plain 2x slower everywhere. Shared,
    // that splits the buckets; as two copies, panels everywhere (the least summed slow-down).
    const auto measure = [](GemmShape s, int m, GemmKernel k) -> Result<double> {
        const double base = 1e-9 * m * s.n * s.k;
        if (k == GemmKernel::kPlain) return 2.0 * base;
        if (k == GemmKernel::kPanels) return m <= 64 ? 0.7 * base : base;
        return m <= 64 ? base : 0.95 * base;
    };
    const GemmPlan shared = plan_gemm_kernels(std::vector<GemmShape>{kFc1}, {}, kAll, measure);
    ASSERT_NE(shared.find(kFc1), nullptr);
    EXPECT_EQ(shared.find(kFc1)->describe(), "panels for m <= 64, packed for m > 64");
    const GemmPlan split = plan_gemm_kernels(std::vector<GemmShape>{kFc1}, two_copies, kAll, measure);
    ASSERT_NE(split.find(kFc1), nullptr);
    EXPECT_EQ(split.find(kFc1)->describe(), "panels");
    EXPECT_FALSE(same_copy(GemmKernel::kPacked, GemmKernel::kPanels, false));
    EXPECT_TRUE(same_copy(GemmKernel::kPanels, GemmKernel::kPanels, false));

    // Plain fastest for one prompt, panels up to one image, packed for batches: plain with one packed copy, never
    // plain with both; the copy kept is the one that wins where single requests fall (8 to 64 rows), although
    // packed wins more buckets (128 to 512).
    const auto three_ways = [](GemmShape s, int m, GemmKernel k) -> Result<double> {
        const double base = 1e-9 * m * s.n * s.k;
        if (k == GemmKernel::kPlain) return m <= 8 ? 0.5 * base : 2.0 * base;
        if (k == GemmKernel::kPanels) return m > 8 && m <= 64 ? 0.6 * base : base;
        return m > 64 ? 0.5 * base : base;
    };
    const GemmPlan mixed = plan_gemm_kernels(std::vector<GemmShape>{kFc1}, two_copies, kAll, three_ways);
    const GemmChoice* c = mixed.find(kFc1);
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->uses(GemmKernel::kPacked) && c->uses(GemmKernel::kPanels)) << c->describe();
    EXPECT_EQ(c->describe(), "plain for m <= 8, panels for m > 8") << c->describe();
    const GemmPlan mixed_shared = plan_gemm_kernels(std::vector<GemmShape>{kFc1}, {}, kAll, three_ways);
    ASSERT_NE(mixed_shared.find(kFc1), nullptr);
    EXPECT_TRUE(mixed_shared.find(kFc1)->uses(GemmKernel::kPanels) &&
                mixed_shared.find(kFc1)->uses(GemmKernel::kPacked))
        << mixed_shared.find(kFc1)->describe();
}

TEST(GemmKernelChoice, ASmallGainKeepsOneKernelPerShape) {
    // Plain is 5% faster above 64 rows: under kMinGainForSecondKernel, so the shape stays packed (one copy).
    FakeTimes fake{.crossover = 64, .packed_factor = 0.5, .plain_factor = 0.95};
    const GemmPlan plan = plan_with(fake);
    const GemmChoice* c = plan.find(kFc1);
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->uses(GemmKernel::kPlain)) << c->describe();
    EXPECT_EQ(c->describe(), "packed");
    // Plain 5% faster everywhere: plain is the main kernel, nothing packed.
    FakeTimes plain{.crossover = 0, .packed_factor = 1.0, .plain_factor = 0.95};
    const GemmPlan plain_plan = plan_with(plain);
    const GemmChoice* p = plain_plan.find(kFc1);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->describe(), "plain");
}

TEST(GemmKernelChoice, ABurstOfOtherWorkDuringOneTimingDoesNotSplitAShape) {
    // Packed is 2x faster everywhere, but its first timing at 256 rows ran 4x slow (the machine was busy then).
    int packed_256 = 0;
    const std::vector<GemmShape> shapes = {kFc1};
    const GemmPlan plan = plan_gemm_kernels(shapes, {}, kBoth, [&](GemmShape, int m, GemmKernel k) -> Result<double> {
        double t = 1e-6 * m * (k == GemmKernel::kPacked ? 1.0 : 2.0);
        if (k == GemmKernel::kPacked && m == 256 && packed_256++ == 0) t *= 4.0;
        return t;
    });
    EXPECT_EQ(packed_256, 2) << "timed once more";
    EXPECT_EQ(plan.find(kFc1)->describe(), "packed");
}

TEST(GemmKernelChoice, TinyWeightsAreNotTimed) {
    FakeTimes fake{.crossover = 1000, .packed_factor = 2.0};  // plain faster everywhere
    const GemmPlan plan = plan_with(fake, {}, {GemmShape{64, 256}, kQkv});
    EXPECT_EQ(fake.calls, 2 * static_cast<int>(gemm_row_buckets().size())) << "only the large shape";
    EXPECT_EQ(plan.find(GemmShape{64, 256})->describe(), "packed");
    EXPECT_EQ(plan.find(kQkv)->describe(), "plain");
}

TEST(GemmKernelChoice, AKernelThatCannotRunAShapeIsNeverChosen) {
    const std::vector<GemmShape> shapes = {kFc1};
    const GemmPlan plan = plan_gemm_kernels(shapes, {}, kBoth, [](GemmShape, int, GemmKernel k) -> Result<double> {
        if (k == GemmKernel::kPacked) return unsupported("no packed kernel for this shape");
        return 1.0;
    });
    ASSERT_NE(plan.find(kFc1), nullptr);
    EXPECT_EQ(plan.find(kFc1)->describe(), "plain");
}

TEST(GemmKernelChoice, AForcedKernelIsUsedWithoutTiming) {
    for (GemmKernelMode mode : {GemmKernelMode::kPacked, GemmKernelMode::kPlain}) {
        FakeTimes fake;
        const GemmPlan plan = plan_with(fake, {.mode = mode});
        EXPECT_EQ(fake.calls, 0);
        ASSERT_EQ(plan.choices.size(), 2u);
        const std::string name(gemm_kernel_mode_name(mode));
        for (const GemmChoice& c : plan.choices)
            EXPECT_EQ(c.describe(), name);
    }
    // Forced packed in a build without it: the only kernel there is.
    const std::vector<GemmShape> shapes = {kFc1};
    const GemmKernel plain_only[] = {GemmKernel::kPlain};
    const GemmPlan plan = plan_gemm_kernels(shapes, {.mode = GemmKernelMode::kPacked}, plain_only,
                                            [](GemmShape, int, GemmKernel) -> Result<double> { return 1.0; });
    EXPECT_EQ(plan.find(kFc1)->describe(), "plain");
    EXPECT_EQ(parse_gemm_kernel_mode("sometimes"), std::nullopt);
    EXPECT_EQ(parse_gemm_kernel_mode("auto"), GemmKernelMode::kAuto);
}

TEST(GemmKernelChoice, UsePackedFollowsTheChoiceOnlyWhenBothCopiesExist) {
    FakeTimes fake;
    const GemmPlan plan = plan_with(fake);
    const GemmChoice* c = plan.find(kFc1);
    const auto* packed = reinterpret_cast<const PackedWeights*>(&fake);  // never dereferenced
    const float plain = 0.0f;
    EXPECT_TRUE(use_packed(packed, &plain, c, 8));
    EXPECT_FALSE(use_packed(packed, &plain, c, 400));
    EXPECT_TRUE(use_packed(packed, nullptr, c, 400));  // the plain copy was released
    EXPECT_FALSE(use_packed(nullptr, &plain, c, 8));   // never packed
}

class GemmTimingsFile : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "hclip-gemm-cache-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        path_ = (dir_ / "sub" / "gemm-kernels.txt").string();  // the directory is created on write
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::string path_;
};

TEST_F(GemmTimingsFile, RoundTripsAndSkipsTheTiming) {
    FakeTimes first;
    const GemmPlan written = plan_with(first, {.cache_path = path_});
    EXPECT_GT(first.calls, 0);
    EXPECT_EQ(written.timed, first.calls);
    ASSERT_TRUE(fs::exists(path_));
    auto read = read_gemm_cache(path_, current_gemm_cache_key());
    ASSERT_TRUE(read.ok()) << read.status().to_string();
    EXPECT_EQ(*read, written.timings);

    // Timings that would choose the opposite: not taken, because the file has them all.
    FakeTimes opposite{.crossover = 64, .packed_factor = 2.0, .plain_factor = 2.0};
    const GemmPlan again = plan_with(opposite, {.cache_path = path_});
    EXPECT_EQ(opposite.calls, 0);
    EXPECT_EQ(again.cached, static_cast<int>(written.timings.size()));
    EXPECT_EQ(again.find(kFc1)->describe(), written.find(kFc1)->describe());

    // A shape the file lacks is timed (only that one) and added.
    FakeTimes more, alone;
    const GemmPlan extended = plan_with(more, {.cache_path = path_}, {kFc1, kQkv, GemmShape{512, 512}});
    (void)plan_with(alone, {}, {GemmShape{512, 512}});
    EXPECT_EQ(more.calls, alone.calls);
    EXPECT_EQ(read_gemm_cache(path_, current_gemm_cache_key())->size(), extended.timings.size());
}

TEST_F(GemmTimingsFile, AnotherMachinesFileIsIgnored) {
    FakeTimes first;
    const GemmPlan written = plan_with(first, {.cache_path = path_});
    const GemmCacheKey here = current_gemm_cache_key();
    for (int part = 0; part < 4; ++part) {
        GemmCacheKey other = here;
        if (part == 0) other.cpu += " (another)";
        if (part == 1) other.libraries += " (another build)";
        if (part == 2) other.threads += 1;
        if (part == 3) other = current_gemm_cache_key(PackedType::kBf16);  // bf16 products' timings
        ASSERT_TRUE(write_gemm_cache(path_, other, written.timings).ok());
        const auto read = read_gemm_cache(path_, here);
        EXPECT_EQ(read.status().code(), StatusCode::kUnavailable) << read.status().to_string();
        FakeTimes retimed;
        const GemmPlan plan = plan_with(retimed, {.cache_path = path_});
        EXPECT_EQ(retimed.calls, first.calls) << "part " << part;
        ASSERT_FALSE(plan.notes.empty());
        EXPECT_NE(plan.notes[0].find("ignoring the timings file"), std::string::npos) << plan.notes[0];
        EXPECT_NE(plan.notes[0].find("is for another"), std::string::npos) << plan.notes[0];
        // Rewritten under this machine's key.
        EXPECT_TRUE(read_gemm_cache(path_, here).ok());
    }
}

TEST_F(GemmTimingsFile, ACorruptFileIsIgnoredWithANote) {
    FakeTimes first;
    (void)plan_with(first, {.cache_path = path_});
    auto file = read_file(path_);
    ASSERT_TRUE(file.ok());
    const std::string good = *file;
    const std::string cut = good.substr(0, good.size() / 2);  // cut short, no end line
    const std::string bad_kernel = std::string(good).replace(good.find(" packed "), 8, " simd42 ");
    for (const std::string& text : {std::string("\x7f"
                                                "ELF garbage\n"),
                                    cut, bad_kernel, std::string()}) {
        std::ofstream(path_, std::ios::trunc) << text;
        const auto read = read_gemm_cache(path_, current_gemm_cache_key());
        EXPECT_EQ(read.status().code(), StatusCode::kDataLoss) << read.status().to_string();
        FakeTimes retimed;
        const GemmPlan plan = plan_with(retimed, {.cache_path = path_});
        EXPECT_EQ(retimed.calls, first.calls);
        ASSERT_FALSE(plan.notes.empty());
        EXPECT_NE(plan.notes[0].find("is not valid"), std::string::npos) << plan.notes[0];
    }
}

// bf16 products are timed into a file of their own next to the float32 one, so a service switched between
// clip.compute fp32 and bf16 keeps both.
TEST_F(GemmTimingsFile, Bf16ProductsKeepTheirOwnFile) {
    EXPECT_EQ(gemm_cache_path_for(path_, PackedType::kF32), path_);
    const std::string bf16_path = gemm_cache_path_for(path_, PackedType::kBf16);
    EXPECT_EQ(bf16_path, (dir_ / "sub" / "gemm-kernels-bf16.txt").string());
    EXPECT_EQ(gemm_cache_path_for("", PackedType::kBf16), "");
    EXPECT_EQ(gemm_cache_path_for("timings", PackedType::kBf16), "timings-bf16");

    FakeTimes f32, bf16;
    (void)plan_with(f32, {.cache_path = path_});
    (void)plan_with(bf16, {.cache_path = bf16_path, .products = PackedType::kBf16});
    EXPECT_GT(bf16.calls, 0);  // the float32 file does not answer for bf16
    EXPECT_TRUE(read_gemm_cache(path_, current_gemm_cache_key()).ok());
    EXPECT_TRUE(read_gemm_cache(bf16_path, current_gemm_cache_key(PackedType::kBf16)).ok());
    EXPECT_EQ(read_gemm_cache(bf16_path, current_gemm_cache_key()).status().code(), StatusCode::kUnavailable);
    FakeTimes again;
    (void)plan_with(again, {.cache_path = bf16_path, .products = PackedType::kBf16});
    EXPECT_EQ(again.calls, 0);
}

// Few-row products are timed on enough copies of the weights to pass the last-level cache, within a cap: a guest
// that reports its host's whole L3 must not make a first start hold gigabytes of copies.
TEST(GemmTimingCopies, PassTheCacheWithinACap) {
    constexpr std::size_t kMiB = std::size_t{1} << 20;
    const GemmShape mlp{3072, 768};                                        // 9 MiB of float32, 4.5 MiB of bf16
    EXPECT_EQ(gemm_timing_copies(mlp, PackedType::kF32, 2 * kMiB), 1);     // a Raspberry Pi 5's L3
    EXPECT_EQ(gemm_timing_copies(mlp, PackedType::kF32, 32 * kMiB), 6);    // 48 MiB: 1.5 times the cache
    EXPECT_EQ(gemm_timing_copies(mlp, PackedType::kBf16, 32 * kMiB), 11);  // the same in bf16
    const int big_cache = gemm_timing_copies(mlp, PackedType::kF32, 300 * kMiB);
    EXPECT_EQ(big_cache, 14);  // not 48: 14 x 9 MiB is the most under the cap
    EXPECT_LE(static_cast<std::size_t>(big_cache) * 3072 * 768 * sizeof(float), kMaxTimingCopyBytes);
    EXPECT_EQ(gemm_timing_copies({64, 64}, PackedType::kF32, 300 * kMiB), 48);     // small matrices: 48 at most
    EXPECT_EQ(gemm_timing_copies({8192, 8192}, PackedType::kF32, 300 * kMiB), 1);  // one copy above the cap
}

// bf16 products are chosen among the kernels that multiply bf16: never the float32 plain GEMM.
TEST(GemmCandidates, Bf16ProductsAreTimedOnlyAmongBf16Kernels) {
    const std::vector<GemmKernel> kernels = available_gemm_kernels(PackedType::kBf16);
    const auto has = [&](GemmKernel k) { return std::find(kernels.begin(), kernels.end(), k) != kernels.end(); };
    EXPECT_FALSE(has(GemmKernel::kPlain));
    if (!packed_bf16_support().ok()) {
        EXPECT_TRUE(kernels.empty());
        return;
    }
    EXPECT_TRUE(has(GemmKernel::kPacked));
    EXPECT_EQ(has(GemmKernel::kPanels), panel_gemm_bf16_supported());
    GemmKernelTimer timer(PackedType::kBf16);
    for (GemmKernel k : kernels) {
        auto seconds = timer.seconds({128, 256}, 8, k);
        ASSERT_TRUE(seconds.ok()) << gemm_kernel_name(k) << ": " << seconds.status().to_string();
        EXPECT_GT(*seconds, 0.0);
    }
    EXPECT_EQ(timer.seconds({128, 256}, 8, GemmKernel::kPlain).status().code(), StatusCode::kUnsupported);
}

TEST(GemmTimingsFileLocation, FollowsSystemdThenXdgThenHome) {
    const char* saved[] = {std::getenv("CACHE_DIRECTORY"), std::getenv("XDG_CACHE_HOME"), std::getenv("HOME")};
    const std::string keep[] = {saved[0] ? saved[0] : "", saved[1] ? saved[1] : "", saved[2] ? saved[2] : ""};
    ::setenv("CACHE_DIRECTORY", "/var/cache/hailo-clip", 1);
    ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
    ::setenv("HOME", "/home/u", 1);
    EXPECT_EQ(default_gemm_cache_path(), "/var/cache/hailo-clip/gemm-kernels.txt");
    ::unsetenv("CACHE_DIRECTORY");
    EXPECT_EQ(default_gemm_cache_path(), "/x/cache/hailo-clip/gemm-kernels.txt");
    ::unsetenv("XDG_CACHE_HOME");
    EXPECT_EQ(default_gemm_cache_path(), "/home/u/.cache/hailo-clip/gemm-kernels.txt");
    ::unsetenv("HOME");
    EXPECT_EQ(default_gemm_cache_path(), "");
    const char* names[] = {"CACHE_DIRECTORY", "XDG_CACHE_HOME", "HOME"};
    for (int i = 0; i < 3; ++i) {
        if (saved[i] != nullptr) ::setenv(names[i], keep[i].c_str(), 1);
    }
}

}  // namespace
}  // namespace hclip
