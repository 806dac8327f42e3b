#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with warnings as errors, runs every test, then runs the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            everything
#   SKIP_SANITIZERS=1 scripts/test.sh   the plain build only
# Fixtures are read from $HAILO_CLIP_FIXTURES (default: ../shared/fixtures beside the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
export HAILO_CLIP_FIXTURES="${HAILO_CLIP_FIXTURES:-$(pwd)/../shared/fixtures}"
if [ ! -f "$HAILO_CLIP_FIXTURES/README.md" ]; then
    echo "test.sh: fixtures not found at $HAILO_CLIP_FIXTURES (set HAILO_CLIP_FIXTURES)" >&2
    exit 1
fi

run_suite() {
    local dir=$1; shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHCLIP_FATAL_WARNINGS=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

echo "=== build and test (RelWithDebInfo, -Werror)"
run_suite build

if [ "${SKIP_SANITIZERS:-0}" != "1" ]; then
    echo "=== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
    # OpenBLAS's own threads are not instrumented; one thread keeps the reports about our code.
    OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_suite build-asan -DHCLIP_SANITIZE=address,undefined
fi
