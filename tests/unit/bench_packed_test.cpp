// `hailo-clip bench` compares packed and plain weights in one run and reports memory; its options are checked.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/compute_pool.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"
#include "support/fixtures.h"
#include "support/test_programs.h"

namespace hclip {
namespace {

struct CliResult {
    int exit_code = -1;
    std::string out;
};

// stdout and stderr together, with the exit code.
CliResult run_cli(const std::vector<std::string>& args) {
    std::string cmd = std::string("'") + testing::cli_path() + "'";
    for (const auto& a : args)
        cmd += " '" + a + "'";
    cmd += " 2>&1";
    CliResult r;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return r;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0)
        r.out.append(buf.data(), n);
    const int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

const std::string kModel = testing::fixture("models/tiny-openai");

TEST(BenchPacked, DefaultRunComparesBothPathsAndReportsMemory) {
    const CliResult r = run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--batch", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("image tower, batch 1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("image tower, batch 2 (per image)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("gemm peak"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("RSS"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("speed-up") != std::string::npos, packed_gemm_available()) << r.out;
}

// The service half: started in the process, timed over HTTP next to the tower, under 1, 2, 4 and 8 clients for
// images and for texts, and one classify request taken apart.
TEST(BenchService, ServiceOverHttpNextToTheTowerAndUnderConcurrentClients) {
    const CliResult r =
        run_cli({"bench", "--model-dir", kModel, "--iterations", "2", "--batch", "2", "--workers", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    for (const char* line :
         {"image tower alone, batch 1, 1 thread", "service in-process", "service over HTTP, kept-alive",
          "over the tower", "concurrent HTTP clients, one image each", "images/s",
          "image tower's best batch throughput", "concurrent HTTP clients, 7-token texts", "texts/s",
          "text tower's best batch throughput", "one POST /v1/classify", "JSON parse of the body", "base64 decode",
          "JPEG decode", "resize + centre crop", "whole request over HTTP, kept-alive"}) {
        EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
    }
    // Each client count twice: once for images, once for texts.
    for (const char* clients : {"\n1 ", "\n2 ", "\n4 ", "\n8 "}) {
        const auto first = r.out.find(clients);
        ASSERT_NE(first, std::string::npos) << clients << "\n" << r.out;
        EXPECT_NE(r.out.find(clients, first + 1), std::string::npos) << clients << "\n" << r.out;
    }
    const CliResult off = run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--service", "off"});
    ASSERT_EQ(off.exit_code, 0) << off.out;
    EXPECT_EQ(off.out.find("service over HTTP"), std::string::npos) << off.out;
    EXPECT_NE(run_cli({"bench", "--model-dir", kModel, "--service", "maybe"}).exit_code, 0);
}

TEST(BenchPacked, OnePathAtATime) {
    const CliResult off = run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--packing", "off"});
    ASSERT_EQ(off.exit_code, 0) << off.out;
    EXPECT_NE(off.out.find("memory (plain)"), std::string::npos) << off.out;
    EXPECT_EQ(off.out.find("speed-up"), std::string::npos) << off.out;
    const CliResult on = run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--packing", "on"});
    if (packed_gemm_available()) {
        ASSERT_EQ(on.exit_code, 0) << on.out;
        // "packed" when the choice at load packs every shape; "chosen" when it keeps some on the plain GEMM, which
        // the timing does where OpenBLAS is the fastest for a shape and row count on this machine.
        bool some_plain = false;
        std::istringstream lines(on.out);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("  gemm kernel for ", 0) == 0 && line.find("plain") != std::string::npos) some_plain = true;
        }
        EXPECT_NE(on.out.find(some_plain ? "memory (chosen)" : "memory (packed)"), std::string::npos) << on.out;
    } else {
        EXPECT_EQ(on.exit_code, 2) << on.out;  // a usage error that says why
        EXPECT_NE(on.out.find("no packed gemm"), std::string::npos) << on.out;
    }
}

// 16-bit weights: the 16-bit model against the float32 one in the same run, and the resident memory after warm-up.
TEST(BenchPacked, SixteenBitWeightsAgainstFloat32) {
    const CliResult r =
        run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--weights", "fp16", "--service", "off"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("memory (fp16)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("rss after warm-up: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(weights fp16, "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("fp32"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("speed-up"), std::string::npos) << r.out;
    const CliResult fp32 = run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--service", "off"});
    ASSERT_EQ(fp32.exit_code, 0) << fp32.out;
    EXPECT_NE(fp32.out.find("(weights fp32, 0 MiB of them 16-bit)"), std::string::npos) << fp32.out;
    const CliResult bad = run_cli({"bench", "--model-dir", kModel, "--weights", "int8"});
    EXPECT_NE(bad.exit_code, 0) << bad.out;
    EXPECT_NE(bad.out.find("--weights must be fp32, bf16 or fp16"), std::string::npos) << bad.out;
}

// bf16 products: against the packed float32 model in the same run, with the memory line; refused with the reason
// where the CPU or build has none.
TEST(BenchPacked, Bf16ProductsAgainstFloat32) {
    const CliResult r =
        run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--compute", "bf16", "--service", "off"});
    if (Status s = packed_bf16_support(); !s.ok()) {
        EXPECT_NE(r.exit_code, 0) << r.out;
        EXPECT_NE(r.out.find("clip.compute bf16 is not available"), std::string::npos) << r.out;
        GTEST_SKIP() << "no bf16 products here (refusal checked): " << s.message();
    }
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("image tower, batch 1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("bf16-prod"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("speed-up"), std::string::npos) << r.out;
    // The kernels are chosen by timing among those that multiply bf16, and timed again next to the peak.
    EXPECT_NE(r.out.find("gemm kernels: bf16 products (clip.compute bf16)"), std::string::npos) << r.out;
    // ... and how the panel kernel multiplies on this CPU (AMX tiles or AVX512-BF16 dot products), where it runs.
    if (const std::string_view how = panel_gemm_bf16_method(); !how.empty()) {
        EXPECT_NE(r.out.find("panels multiply with " + std::string(how)), std::string::npos) << r.out;
    }
    EXPECT_NE(r.out.find("gemm kernels timed now (bf16 products, "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find(" weights: plain"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find(" plain for m"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("), products bf16 ("), std::string::npos) << r.out;
    const CliResult bad = run_cli({"bench", "--model-dir", kModel, "--compute", "fp16"});
    EXPECT_NE(bad.exit_code, 0) << bad.out;
    EXPECT_NE(bad.out.find("--compute must be fp32 or bf16"), std::string::npos) << bad.out;
}

// The kernel choice at load and every candidate timed again, per weight shape; a forced kernel is reported as such.
TEST(BenchPacked, PrintsTheKernelChoiceAndEveryCandidatesGflops) {
    const CliResult r = run_cli({"bench", "--model-dir", kModel, "--iterations", "1", "--service", "off"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("gemm kernels at load"), std::string::npos) << r.out;
    // The compute pool's hand-off figure, where there is a second core to hand off to.
    if (machine_cores() >= 2) {
        EXPECT_NE(r.out.find("compute pool hand-off: a pool thread took the second part of "), std::string::npos)
            << r.out;
    }
    if (packed_gemm_available()) {
        EXPECT_NE(r.out.find("gemm kernels timed now"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("weights: "), std::string::npos) << r.out;
        const CliResult plain = run_cli(
            {"bench", "--model-dir", kModel, "--iterations", "1", "--service", "off", "--gemm-kernel", "plain"});
        ASSERT_EQ(plain.exit_code, 0) << plain.out;
        EXPECT_NE(plain.out.find("plain for every shape (performance.gemm_kernel)"), std::string::npos) << plain.out;
        EXPECT_EQ(plain.out.find("weights: packed"), std::string::npos) << plain.out;
        // The panel kernel forced: taken where the CPU has it, else said so and replaced.
        const CliResult panels = run_cli(
            {"bench", "--model-dir", kModel, "--iterations", "1", "--service", "off", "--gemm-kernel", "panels"});
        ASSERT_EQ(panels.exit_code, 0) << panels.out;
        if (panel_gemm_supported()) {
            EXPECT_NE(panels.out.find("panels for every shape (performance.gemm_kernel)"), std::string::npos)
                << panels.out;
        } else {
            EXPECT_NE(panels.out.find("asks for panels, which this build or CPU does not have"), std::string::npos)
                << panels.out;
        }
    } else {
        // A build without a packed GEMM (aarch64) has nothing to choose from and says so.
        EXPECT_NE(r.out.find("plain for every shape (this build has no packed GEMM)"), std::string::npos) << r.out;
    }
    const CliResult bad = run_cli({"bench", "--model-dir", kModel, "--gemm-kernel", "fastest"});
    EXPECT_NE(bad.exit_code, 0) << bad.out;
    EXPECT_NE(bad.out.find("--gemm-kernel must be auto, packed, panels or plain"), std::string::npos) << bad.out;
}

TEST(BenchPacked, RejectsUnknownPackingMode) {
    const CliResult r = run_cli({"bench", "--model-dir", kModel, "--packing", "sometimes"});
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("--packing"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace hclip
