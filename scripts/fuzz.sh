#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (+ AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# each for a bounded time on its seed corpus (tests/fuzz/corpus/<target>). Exit status non-zero on any crash, leak,
# sanitizer report, timeout or out-of-memory; the input that caused it is written to $BUILD_DIR/artifacts/.
#   scripts/fuzz.sh                       every target, 20 s each (what scripts/test.sh runs)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh fuzz_image     one target for an hour
# New interesting inputs go to $BUILD_DIR/corpus/<target> (kept between runs), not into the source tree; copy
# a crashing input into tests/fuzz/corpus/<target>/ once it is fixed, as its regression case.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_json_request fuzz_base64 fuzz_image fuzz_safetensors fuzz_config fuzz_tokenizer)

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DHCLIP_FUZZ=ON -DHCLIP_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"

mkdir -p "$build/artifacts"
# One process per target (-fork is not used: it hides the exit status of a crash); OpenBLAS is never called here.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
    mkdir -p "$build/corpus/$t"
    echo "=== fuzz $t for ${seconds}s"
    # Seeds are replayed first, so every kept regression input is checked on every run.
    log="$build/artifacts/$t.log"
    if ! "$build/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
        "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
        tail -n 80 "$log" >&2
        echo "fuzz.sh: $t failed; the input is in $build/artifacts/" >&2
        exit 1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | tr '\n' ' '
    echo
done
