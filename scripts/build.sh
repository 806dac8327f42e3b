#!/usr/bin/env bash
# Installs the build dependencies and builds an optimised hailo-clip into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
echo "built: build/cli/hailo-clip"
