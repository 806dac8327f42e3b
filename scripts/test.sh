#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with warnings as errors, runs every test (unit, end-to-end,
# hostile requests, a 60 s soak), then runs them again under AddressSanitizer + UndefinedBehaviorSanitizer, the
# concurrency tests under ThreadSanitizer, and every fuzz target for 20 s (docs/reliability.md); then the HailoRT
# configuration a Raspberry Pi builds, against a HailoRT without a chip (scripts/test-hailort.sh), the Debian
# packages (built, checked, the amd64 one installed and purged) and the aarch64 build under qemu
# (docs/deployment.md). Each stage prints its elapsed time.
#   scripts/test.sh            everything
#   SKIP_SANITIZERS=1 scripts/test.sh   the plain build only
#   SKIP_FUZZ=1 scripts/test.sh         everything but the fuzzing
#   SKIP_HAILORT=1 scripts/test.sh      everything but the HailoRT build (scripts/test-hailort.sh)
#   SKIP_PACKAGES=1 / SKIP_CROSS=1      everything but the packages / the aarch64 build
# Fixtures are read from $HAILO_CLIP_FIXTURES (default: ../shared/fixtures beside the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
# Compiling is most of this run's time. ccache (scripts/install-deps.sh) lets the builds with the same compiler and
# flags share their objects: the HailoRT build and the amd64 package's compile almost nothing that the plain build
# did not. It keys on the folder a compile runs in only for the debug information's record of it, so that is
# turned off (the source paths in the debug information are absolute either way).
if command -v ccache >/dev/null; then
    export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_NOHASHDIR=true
fi
# Line tables only (-g1, CMakeLists.txt): backtraces and sanitizer reports keep their files and lines, and every
# build compiles in about two thirds of the time.
export HCLIP_DEBUG_INFO="${HCLIP_DEBUG_INFO-lines}"
export HAILO_CLIP_FIXTURES="${HAILO_CLIP_FIXTURES:-$(pwd)/../shared/fixtures}"
if [ ! -f "$HAILO_CLIP_FIXTURES/README.md" ]; then
    echo "test.sh: fixtures not found at $HAILO_CLIP_FIXTURES (set HAILO_CLIP_FIXTURES)" >&2
    exit 1
fi

# Every stage prints its elapsed time when it ends, and the run ends with all of them (CI has a time limit).
stage_current="" stage_started=0 stage_report=""
end_stage() {
    [ -n "$stage_current" ] || return 0
    local took=$((SECONDS - stage_started))
    local line
    line=$(printf '%3d min %2d s  %s' $((took / 60)) $((took % 60)) "$stage_current")
    echo "=== done: $line"
    stage_report+="$line"$'\n'
    stage_current=""
}
stage() {
    end_stage
    stage_current=$1
    stage_started=$SECONDS
    echo "=== $1"
}
report_stages() {
    local status=$?
    end_stage
    printf '\n=== stage times (exit status %d)\n%s%3d min %2d s  in all\n' "$status" "$stage_report" \
        $((SECONDS / 60)) $((SECONDS % 60))
}
trap report_stages EXIT

build_suite() {
    local dir=$1; shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHCLIP_FATAL_WARNINGS=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

stage "build and test (RelWithDebInfo, -Werror)"
build_suite build
HCLIP_SOAK_SECONDS=${HCLIP_SOAK_SECONDS:-60} HCLIP_SOAK_REPORT="$(pwd)/build/soak-report.json" \
    ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${SKIP_HAILORT:-0}" != "1" ]; then
    stage "build and test against HailoRT (build-hailort/, -Werror)"
    scripts/test-hailort.sh
fi

if [ "${SKIP_SANITIZERS:-0}" != "1" ]; then
    stage "build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
    build_suite build-asan -DHCLIP_SANITIZE=address,undefined
    # OpenBLAS's own threads are not instrumented; one thread keeps the reports about our code. Every test runs but
    # the deployment suite (label deploy: the install scripts and the systemd unit around the program, whose
    # request paths the e2e suite runs here) and the two runs of `hailo-clip bench` that time the whole towers (the
    # model tests run the same kernels): together about two minutes under the sanitizers.
    OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        HCLIP_SOAK_SECONDS=30 HCLIP_SOAK_REPORT="$(pwd)/build-asan/soak-report.json" \
        ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE deploy \
        -E '^BenchPacked\.(DefaultRunComparesBothPathsAndReportsMemory|OnePathAtATime)$'

    stage "concurrency tests under ThreadSanitizer"
    tsan_tests=(server_parts_test service_health_test compute_pool_test prompt_set_store_test tokenizer_test image_decode_test image_preprocess_test jpeg_bands_test)
    # Without -Werror: GCC's flow warnings (-Wstringop-overflow) misfire on TSan-instrumented code; the plain and
    # ASan builds above already hold the code to zero warnings.
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHCLIP_SANITIZE=thread >/dev/null
    cmake --build build-tsan -j "$jobs" --target "${tsan_tests[@]}"
    # Third-party libraries are not instrumented: one OpenBLAS thread, and suppressions naming only those
    # libraries (tests/tsan.supp). Any report fails the run (exit code 66).
    export OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$(pwd)/tests/tsan.supp"
    build-tsan/tests/server_parts_test
    build-tsan/tests/service_health_test
    build-tsan/tests/compute_pool_test
    build-tsan/tests/prompt_set_store_test --gtest_filter='*Concurrent*'
    build-tsan/tests/tokenizer_test --gtest_filter='*Concurrent*'
    build-tsan/tests/image_decode_test --gtest_filter='*Concurrent*'
    build-tsan/tests/image_preprocess_test --gtest_filter='*Concurrent*'
    build-tsan/tests/jpeg_bands_test
    unset OPENBLAS_NUM_THREADS TSAN_OPTIONS
fi

if [ "${SKIP_FUZZ:-0}" != "1" ]; then
    stage "fuzzing, ${FUZZ_SECONDS:-20} s per target"
    FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
fi

# Both stages build for arm64 on an amd64 machine (CI); on others they are not run, and say so.
host_arch=$(dpkg --print-architecture)
if [ "$host_arch" != amd64 ]; then
    echo "=== Debian packages and the aarch64 cross build: not run (they need an amd64 machine, this is $host_arch)"
    SKIP_PACKAGES=1 SKIP_CROSS=1
fi

if [ "${SKIP_CROSS:-0}" != "1" ]; then
    stage "aarch64: cross build, tests under qemu (Cortex-A76)"
    scripts/cross-test.sh aarch64
fi

if [ "${SKIP_PACKAGES:-0}" != "1" ]; then
    stage "Debian packages: amd64, arm64 (cross-built); the amd64 one installed, removed and purged"
    scripts/package.sh --arch amd64
    # The arm64 package is the program the aarch64 stage just built and tested, when there is one.
    arm64_build=()
    [ ! -x build-aarch64/cli/hailo-clip ] || arm64_build=(--build-dir build-aarch64)
    scripts/package.sh --arch arm64 "${arm64_build[@]}"
    /usr/bin/python3 -m pytest -v -p no:cacheprovider -rs tests/package
fi
