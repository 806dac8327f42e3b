#!/usr/bin/env bash
# hailo-clip next to onnxruntime on the same random-weight models (ViT-B/32, RN50x4), in one run on this machine.
# For each model:
#   1. a full-size random checkpoint from tools/make_random_model;
#   2. its ONNX export from plain torch (bench/onnx/clip_to_onnx.py, Debian's python3-torch);
#   3. embeddings checked equal (torch, onnxruntime, hailo-clip) before any timing;
#   4. onnxruntime-node model-only (one image, a 7-token and a 77-token text), hailo-clip bench (towers, the
#      service over HTTP), onnxruntime again; then the ratios the performance goals are stated in.
# A benchmark, not a test: it installs python3-torch (large) and onnxruntime-node (into a throwaway folder).
#   bench/compare-onnxruntime.sh [--models vit-b-32,rn50x4] [--threads N] [--iterations N] [--rounds N]
#                                [--build-dir DIR] [--keep]
# --rounds N repeats the timings (onnxruntime, hailo-clip bench, onnxruntime) N times and judges each ratio by its
# median over the rounds: on a machine whose speed drifts, one slow phase then moves one round, not the verdict.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
threads=2 iterations=20 rounds=1 build="$root/build" keep=0 models=vit-b-32,rn50x4
usage="usage: $0 [--models vit-b-32,rn50x4] [--threads N] [--iterations N] [--rounds N] [--build-dir DIR] [--keep]"
while [ $# -gt 0 ]; do
    case "$1" in
    --models) models="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
    esac
done
case "$rounds" in
'' | *[!0-9]* | 0) echo "--rounds must be a positive whole number" >&2; exit 2 ;;
esac
IFS=, read -r -a model_list <<<"$models"
[ "${#model_list[@]}" -gt 0 ] || { echo "$usage" >&2; exit 2; }
for model in "${model_list[@]}"; do
    case "$model" in
    vit-b-32 | rn50x4) ;;
    *) echo "unknown model '$model' (known: vit-b-32, rn50x4)" >&2; exit 2 ;;
    esac
done

# The build's packages, Debian's torch and numpy for the export, npm for onnxruntime-node. Python is called by its Debian
# path: a python3 earlier on PATH (pyenv, a venv) would not see Debian's torch.
"$root/scripts/install-deps.sh" python3-torch python3-numpy
python=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1  # clip_to_onnx.py imports resnet_image_tower.py: no __pycache__ in the source tree

if [ ! -x "$build/cli/hailo-clip" ] || [ ! -x "$build/tools/make_random_model" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --parallel "$(nproc)" --target hailo-clip make_random_model >/dev/null
hclip="$build/cli/hailo-clip"

work="$(mktemp -d "${TMPDIR:-/tmp}/hailo-clip-vs-onnxruntime.XXXXXX")"
if [ "$keep" = 1 ]; then echo "work folder (kept): $work"; else trap 'rm -rf "$work"' EXIT; fi

mkdir "$work/ort"
cp "$root/bench/onnx/package.json" "$root/bench/onnx/package-lock.json" "$root/bench/onnx/ort_time.mjs" "$work/ort/"
# The CPU library ships in the package; its install step would only fetch CUDA libraries from elsewhere.
(cd "$work/ort" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
short_prompt="a photo of a cat"
long_prompt="$(for _ in $(seq 12); do printf 'a photo of a cat on a shelf, '; done)"  # over 77 tokens: truncated
ids() { "$hclip" tokenize "$1" | "$python" -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["tokens"][0]["ids"])))'; }
short_ids="$(ids "$short_prompt")"
long_ids="$(ids "$long_prompt")"

# One model from its checkpoint to its ratios, in its own folder: PRESET IMAGE_SIZE TITLE [hailo-clip bench options].
compare_model() {
    local preset="$1" size="$2" title="$3" dir="$work/$1"
    shift 3
    mkdir "$dir"
    [ -z "$title" ] || printf '\n######## %s\n' "$title"
    echo "== model, ONNX export, onnxruntime-node"
    "$build/tools/make_random_model" --preset "$preset" --out "$dir/model" >/dev/null
    # A picture of the model's own input size, so that no resize is involved.
    "$python" "$root/bench/onnx/test_picture.py" "$size" "$dir/picture.bmp" "$dir/pixels.f32"
    "$python" "$root/bench/onnx/clip_to_onnx.py" "$dir/model" "$dir" --pixels "$dir/pixels.f32" \
        --ids "$short_ids" --ids "$long_ids" >"$dir/torch.json" 2>"$dir/export.log"

    echo "== embeddings of the same inputs"
    "$hclip" embed-image --model-dir "$dir/model" --raw "$dir/picture.bmp" >"$dir/ours-image.json" 2>/dev/null
    "$hclip" embed-text --model-dir "$dir/model" --raw "$short_prompt" >"$dir/ours-text-short.json" 2>/dev/null
    "$hclip" embed-text --model-dir "$dir/model" --raw "$long_prompt" >"$dir/ours-text-long.json" 2>/dev/null
    # onnxruntime's embeddings from one untimed pass; nothing is timed unless the three agree.
    local ort=(node "$work/ort/ort_time.mjs" "$dir" "$dir/pixels.f32")
    "${ort[@]}" 1 "$threads" "$short_ids" "$long_ids" >"$dir/ort-check.json"
    if ! "$python" "$root/bench/onnx/compare.py" "$dir" --check-only >"$dir/check.txt"; then
        cat "$dir/check.txt"
        return 1
    fi

    echo "== timings: onnxruntime, hailo-clip bench, onnxruntime (threads $threads, $iterations iterations, $rounds round(s))"
    local load_before round folder
    load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
    for round in $(seq "$rounds"); do
        folder="$dir/round-$round"
        mkdir "$folder"
        "${ort[@]}" "$iterations" "$threads" "$short_ids" "$long_ids" >"$folder/ort-before.json"
        "$hclip" bench --model-dir "$dir/model" --iterations "$iterations" --threads "$threads" --packing on "$@" \
            >"$folder/bench.txt" 2>"$folder/bench.log"
        # The reduced-precision option where this CPU has bf16 products (the bench refuses elsewhere, and says why).
        if ! "$hclip" bench --model-dir "$dir/model" --iterations "$iterations" --threads "$threads" --compute bf16 \
            "$@" >"$folder/bench-bf16.txt" 2>"$folder/bench-bf16.log"; then
            tail -n 1 "$folder/bench-bf16.log" >"$folder/bf16-refused.txt"
            rm -f "$folder/bench-bf16.txt"
        fi
        "${ort[@]}" "$iterations" "$threads" "$short_ids" "$long_ids" >"$folder/ort-after.json"
    done

    lscpu | sed -n 's/^Model name:[[:space:]]*/cpu: /p'
    echo "load average: $load_before before the timings, $(cut -d' ' -f1-3 /proc/loadavg) after them"
    cat "$dir/round-1/bench.txt"
    echo
    "$python" "$root/bench/onnx/compare.py" "$dir"
}

# Called plainly (not in an `||` list), so that errexit still stops the run inside compare_model.
for model in "${model_list[@]}"; do
    case "$model" in
    vit-b-32) compare_model vit-b-32 224 "" ;;
    # RN50x4's image tower is about ten times ViT-B/32's work: bench at batch 2 (the ratios need batch 1 and the
    # service's single image only).
    rn50x4) compare_model rn50x4 288 "RN50x4 (ModifiedResNet, 288 px; text tower width 640)" --batch 2 ;;
    esac
done
