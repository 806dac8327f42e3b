#!/usr/bin/env bash
# Builds hailo-clip and starts the service in the foreground on port 5000.
#   MODEL_DIR=/path/to/model scripts/run.sh [extra serve options, e.g. --port 8080]
#   scripts/run.sh      without MODEL_DIR: downloads clip-vit-b-32 (hailo-clip models pull) into
#                       ~/.cache/hailo-clip/models once, and serves it
# Uses config/hailo-clip.yaml unless HAILO_CLIP_CONFIG names another file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if [ -z "${MODEL_DIR:-}" ]; then
    models=${XDG_CACHE_HOME:-$HOME/.cache}/hailo-clip/models
    echo "run.sh: no MODEL_DIR given; using clip-vit-b-32 in $models (downloaded once)"
    build/cli/hailo-clip models pull clip-vit-b-32 --dest "$models"
    MODEL_DIR=$models/clip-vit-b-32
fi
exec build/cli/hailo-clip serve --config "${HAILO_CLIP_CONFIG:-config/hailo-clip.yaml}" --model-dir "$MODEL_DIR" "$@"
