// A product kernel for few rows (an image's 50 tokens, a prompt's 7) over weights packed in 64-column panels,
// [n / 64][k_padded][64]: the layout oneDNN packs float32 weights in on AVX-512 CPUs (its BA16a64b), so there the
// panel kernel computes from the same packed copy as the library and costs no memory. On CPUs with AVX2 and FMA
// but no AVX-512 it computes 16 columns of a panel per tile, from a copy packed as panels for it
// (PackedLayout::kPanels: oneDNN itself packs another layout there).
//
// Why it exists: at batch 1 a tower streams every weight from memory once (350 MB for ViT-B/32's image tower),
// and the library's kernel stalls on that stream: measured with two threads on an AVX-512 EPYC, 50 rows ran at
// 75% of the arithmetic peak with weights coming from memory against about 95% with them in cache. This kernel
// reads each weight from memory exactly once, in order, and prefetches the next chunk of weights into L2 while it
// computes on the current one, spread over all its passes, so the memory works while the arithmetic does
// (docs/performance.md). It is one more candidate of the per-shape kernel choice (kernels/kernel_choice.h), taken
// where it is faster on the machine; for float32 products, and for bf16 products (clip.compute bf16) on CPUs with
// AVX512-BF16, from the library's bf16 packing.
#pragma once

#include <cstdint>
#include <string_view>

namespace hclip {

struct Epilogue;

// True when this build and CPU run the float32 panel kernel (x86-64 with AVX-512F, or with AVX2 and FMA); false
// elsewhere, where the library's own kernel is the only one on a packed copy.
bool panel_gemm_supported();

// The instructions the float32 panel kernel uses here, for the start-up log and `hailo-clip bench` ("AVX-512",
// "AVX2 + FMA"; "" where it does not run).
std::string_view panel_gemm_method();

// Which instructions panel_gemm uses: the widest the CPU has, or AVX2 + FMA even where AVX-512 is there (so that
// the tests check the AVX2 path on any x86-64 CPU with AVX2; it aborts elsewhere).
enum class PanelInstructions { kBest, kAvx2 };

// Weights [k, n] as panels: column j of row r is at data[(j / 64) * k_padded * 64 + r * 64 + j % 64]. Columns
// past n in the last panel are never written out.
struct PanelWeights {
    const float* data = nullptr;  // 64-byte aligned
    int n = 0, k = 0, k_padded = 0;
};

// C[m, n] = A[m, k] * B with the epilogue (C = act(AB + bias), or C += act(AB + bias) when accumulating), on the
// calling thread. Row-major A and C with any leading dimensions. Requires panel_gemm_supported().
void panel_gemm(int m, const float* a, int lda, const PanelWeights& b, float* c, int ldc, const Epilogue& epilogue,
                PanelInstructions instructions = PanelInstructions::kBest);

// The same for bf16 products (kernels/packed_gemm.h, PackedType::kBf16), from oneDNN's bf16 packing on AVX-512
// CPUs (its BA16a64b2a): panels of 64 columns whose rows come in pairs, column j's two values of rows 2i and
// 2i + 1 side by side, [n / 64][k_padded / 2][64][2]. One native bf16 dot product (AVX512-BF16's vdpbf16ps) then
// multiplies a pair of A's values into 16 columns at once, twice the arithmetic of a float32 FMA.
bool panel_gemm_bf16_supported();

// Weights [k, n] as paired panels: column j of row r is at data[(j / 64) * k_padded * 64 + (r / 2) * 128 +
// (j % 64) * 2 + r % 2]; k_padded is even.
struct PanelWeightsBf16 {
    const std::uint16_t* data = nullptr;  // 64-byte aligned
    int n = 0, k = 0, k_padded = 0;
};

// How panel_gemm_bf16 multiplies. kAuto: AMX tiles where the CPU has them and k is a multiple of 32 (a tile
// step's depth), else the AVX512-BF16 dot products. The others force one (tests; kTiles aborts where it cannot run).
enum class Bf16Multiply { kAuto, kDotProducts, kTiles };

// True when this CPU and OS run AMX-BF16 tiles (Intel Sapphire Rapids and later, Linux 5.16+).
bool panel_gemm_bf16_tiles_supported();

// How kAuto multiplies on this CPU, in words for the start-up log and `hailo-clip bench` ("" where the bf16 panel
// kernel does not run).
std::string_view panel_gemm_bf16_method();

// C[m, n] = A[m, k] * B with the epilogue, A already rounded to bf16 (kernels/bf16_convert.h). lda is even and,
// when k is odd, each row has a zero after its k values (a row is read in pairs). The weights' padding is never
// used. Requires panel_gemm_bf16_supported().
void panel_gemm_bf16(int m, const std::uint16_t* a, int lda, const PanelWeightsBf16& b, float* c, int ldc,
                     const Epilogue& epilogue, Bf16Multiply how = Bf16Multiply::kAuto);

}  // namespace hclip
