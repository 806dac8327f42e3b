#!/usr/bin/env bash
# Builds hailo-clip for another architecture with Debian's cross toolchain and runs its tests under qemu.
#   scripts/cross-test.sh aarch64        the Raspberry Pi 5 (Cortex-A76), in build-aarch64/
# Installs what it needs (the cross compiler, qemu-user-static, a sysroot of arm64 packages: see
# scripts/arm64-sysroot.sh); safe to run again. Prints CTest's summary and the time it took.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

arch=${1:?usage: scripts/cross-test.sh aarch64}
[ "$arch" = aarch64 ] || { echo "cross-test: only aarch64 is supported, not '$arch'" >&2; exit 2; }
build=build-$arch
sysroot=$(pwd)/$build/sysroot

export HAILO_CLIP_FIXTURES="${HAILO_CLIP_FIXTURES:-$(pwd)/../shared/fixtures}"
if [ ! -f "$HAILO_CLIP_FIXTURES/README.md" ]; then
    echo "cross-test: fixtures not found at $HAILO_CLIP_FIXTURES (set HAILO_CLIP_FIXTURES)" >&2
    exit 1
fi

echo "=== $arch: sysroot"
scripts/arm64-sysroot.sh "$sysroot"

echo "=== $arch: configure and build ($build)"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Installed to /usr: scripts/package.sh --arch arm64 --build-dir build-aarch64 packages this very build.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHCLIP_FATAL_WARNINGS=ON -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DHCLIP_SYSROOT="$sysroot" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
file "$build/cli/hailo-clip" | grep -q 'ARM aarch64' || { echo "cross-test: not an aarch64 program" >&2; exit 1; }

echo "=== $arch: tests under qemu-aarch64-static -cpu cortex-a76"
# OpenBLAS, emulated with more than one thread, spins in its busy-wait loops for minutes (qemu runs the threads on
# whatever host cores are free and the spinning thread starves the one it waits for): one thread.
export OPENBLAS_NUM_THREADS=1
# Not run under emulation: the Python suites (labels e2e and deploy) start the program from Python and shell
# scripts, which on this host needs binfmt_misc (not available in containers). What they test (HTTP, the deploy
# scripts) is the same code on every architecture; the C++ suites, which hold the ISA-dependent code (kernels,
# GEMM, model, image decoding), all run here, including the ones that start the program (through the emulator).
# Also not run, to keep this stage's time near a quarter of the whole test command's:
# - the tests that time things: `hailo-clip bench` in BenchPacked and BenchService (2-5 minutes each under
#   emulation) and the preprocessing test with wall-clock limits. An emulated timing says nothing about the
#   Cortex-A76 (docs/performance.md); BenchPacked.RejectsUnknownPackingMode still runs the bench command.
# - the mutation tests (HailoMutation, MobileClipMutant, ResNetMutants): they show that the tests notice a wrong
#   model, which does not depend on the architecture (they run natively, plain and under the sanitizers).
# - two of MobileCLIP's full-size oracle comparisons, 3 minutes each: its image tower meets the oracle in
#   MobileClip.ImageEmbeddingsFromPixelValuesMatchOracle and its text tower in .TextEmbeddingsOverTheWholeContext...,
#   which do run; decoding pictures and the probabilities are checked with the other fixtures' models.
# - AllFixtures/PackedModel (19 CPU-minutes here): it runs every fixture model under each GEMM kernel setting, but
#   oneDNN packing and the panel kernel are x86-64 only, so on aarch64 each setting is the same OpenBLAS path that
#   AllFixtures/ModelGolden compares with the oracle.
not_run=(-LE 'e2e|deploy'
         -E '^(BenchPacked\.(DefaultRun|OnePath|PrintsTheKernelChoice|SixteenBitWeights|Bf16Products)|BenchService\.|ImagePreprocessTiming\.|HailoMutation\.|(Folding/)?MobileClipMutant\.|ResNetMutants\.|AllFixtures/PackedModel\.|MobileClip\.(ZeroShotProbabilitiesMatchOracle|FromThePictureFilesThroughTheEngineMatchesOracle)$)')
# A private temporary folder: some tests use fixed names under it, and a native run may share the machine.
TMPDIR=$(pwd)/$build/tmp
export TMPDIR
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "${not_run[@]}" --timeout 1500
echo "cross-test: $arch tests not run under emulation: labels e2e, deploy; the timing runs (BenchPacked, BenchService," \
    "ImagePreprocessTiming); the mutation tests; two of MobileCLIP's full-size oracle comparisons; AllFixtures/PackedModel"
echo "cross-test: $arch done in $(($(date +%s) - started)) s"
