#!/usr/bin/env bash
# Builds hailo-clip and starts the service in the foreground on port 5000.
#   MODEL_DIR=/path/to/model scripts/run.sh [extra serve options, e.g. --port 8080]
# Uses config/hailo-clip.yaml unless HAILO_CLIP_CONFIG names another file.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MODEL_DIR:-}" ]; then
    echo "run.sh: set MODEL_DIR to a CLIP model directory (model.safetensors, plus config.json for Hugging Face files)" >&2
    exit 2
fi
scripts/build.sh
exec build/cli/hailo-clip serve --config "${HAILO_CLIP_CONFIG:-config/hailo-clip.yaml}" --model-dir "$MODEL_DIR" "$@"
