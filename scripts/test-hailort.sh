#!/usr/bin/env bash
# The HailoRT configuration, as a Raspberry Pi with hailo-h10-all builds it, minus the chip: configures against a
# HailoRT 5.2.0 (libhailort and its headers), builds with warnings as errors into build-hailort/ and runs the whole
# suite. Tests that need a Hailo device report as skipped, never passed (docs/hailo.md).
#   scripts/test-hailort.sh
#   HAILORT_DIR=/opt/hailort-5.2.0 scripts/test-hailort.sh     another HailoRT (default: ../shared/hailort-5.2.0-x86_64)
# Called by scripts/test.sh; SKIP_HAILORT=1 there leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

hailort_dir="${HAILORT_DIR:-$(pwd)/../shared/hailort-5.2.0-x86_64}"
if [ ! -f "$hailort_dir/lib/cmake/HailoRTConfig.cmake" ] && [ ! -f "$hailort_dir/lib/cmake/HailoRT/HailoRTConfig.cmake" ]; then
    echo "test-hailort.sh: no HailoRT at $hailort_dir (set HAILORT_DIR, or SKIP_HAILORT=1 to leave this stage out)" >&2
    exit 1
fi
hailort_dir=$(realpath "$hailort_dir")

# libhailort's own runtime libraries (Debian 12 names; the library was built against them).
scripts/install-deps.sh libprotobuf-lite32 libspdlog1.10 libfmt9

export HAILO_CLIP_FIXTURES="${HAILO_CLIP_FIXTURES:-$(pwd)/../shared/fixtures}"
# libhailort writes ./hailort.log and ~/.hailo/hailort/ when it is loaded (even a folder here still leaves the
# second): NONE writes no files; its error lines still reach each test's output on stderr.
export HAILORT_LOGGER_PATH=NONE

configure_log=$(cmake -S . -B build-hailort -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHCLIP_FATAL_WARNINGS=ON \
    -DCMAKE_PREFIX_PATH="$hailort_dir")
status_line=$(grep -o 'hailo-clip HailoRT: .*' <<<"$configure_log" || true)
echo "$status_line"
if [[ "$status_line" != "hailo-clip HailoRT: ON "* ]]; then
    echo "test-hailort.sh: CMake did not find HailoRT in $hailort_dir" >&2
    exit 1
fi
cmake --build build-hailort -j "$(nproc)"
# The imported target gives the binaries an RPATH to $hailort_dir/lib; check it rather than trust it.
if ldd build-hailort/cli/hailo-clip | grep -q 'libhailort.*not found'; then
    echo "test-hailort.sh: build-hailort/cli/hailo-clip does not find libhailort at run time" >&2
    exit 1
fi

set +e
HCLIP_SOAK_SECONDS=${HCLIP_SOAK_SECONDS:-10} HCLIP_SOAK_REPORT="$(pwd)/build-hailort/soak-report.json" \
    ctest --test-dir build-hailort --output-on-failure -j "$(nproc)" | tee build-hailort/ctest.log
result=${PIPESTATUS[0]}
set -e
echo "=== HailoRT stage: ${status_line#hailo-clip }; $(grep -E 'tests passed|tests failed' build-hailort/ctest.log | tail -1)"
echo "skipped (need a Hailo device or a build without HailoRT; never counted as passed):"
sed -n '/The following tests did not run/,/^$/p' build-hailort/ctest.log | grep -E '^\s+[0-9]+ - .*\(Skipped\)' ||
    echo "  none"
sed -n '/The following tests FAILED/,/^$/p' build-hailort/ctest.log
echo "=== HailoRT stage took $((SECONDS - started)) s"
exit "$result"
