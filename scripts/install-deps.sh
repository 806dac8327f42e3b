#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages hailo-clip builds and tests with. Safe to run again: it installs only what
# is missing. Needs root (or sudo). Extra package names given as arguments are installed too (scripts/test-hailort.sh
# passes HailoRT's runtime libraries).
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config clang-format
    ccache  # the test builds share their objects (scripts/test.sh)
    libopenblas-dev
    libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev
    libutf8proc-dev zlib1g-dev nlohmann-json3-dev libsimdjson-dev libssl-dev
    libyaml-cpp-dev libcpp-httplib-dev libsystemd-dev systemd
    libgtest-dev libgmock-dev
    python3-pytest python3-requests python3-yaml curl
    lintian file  # the Debian packages (scripts/package.sh, tests/package)
    clang  # libFuzzer (scripts/fuzz.sh): GCC has no fuzzer
    prometheus  # promtool checks the /metrics text (tests/e2e/test_metrics.py)
    python3-jsonschema  # answers validated against /openapi.json (tests/e2e/test_openapi.py)
    python3-numpy  # bench/onnx/compare.py, run by tests/e2e/test_compare_script.py
    chromium  # the page at / in headless Chromium (tests/web: playwright-core from npm)
)
# npm: Debian's package, unless Node.js came from elsewhere with its own npm (Debian's npm cannot be installed
# beside such a nodejs).
command -v npm >/dev/null || packages+=(npm)
# Debian calls libjpeg-turbo's headers libjpeg62-turbo-dev; Ubuntu calls them libjpeg-turbo8-dev.
if ! apt-cache show libjpeg62-turbo-dev >/dev/null 2>&1; then
    packages=("${packages[@]/libjpeg62-turbo-dev/libjpeg-turbo8-dev}")
fi

# Weights packed once at load use oneDNN, on x86-64 only (see CMakeLists.txt: HCLIP_PACKED_GEMM).
if [ "$(dpkg --print-architecture)" = amd64 ]; then
    packages+=(libdnnl-dev)
fi

packages+=("$@")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
