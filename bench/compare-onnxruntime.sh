#!/usr/bin/env bash
# hailo-clip next to onnxruntime on the same random-weight ViT-B/32, in one run on this machine:
#   1. a full-size random ViT-B/32 from tools/make_random_model;
#   2. its ONNX export from plain torch (bench/onnx/clip_to_onnx.py, Debian's python3-torch);
#   3. embeddings checked equal (torch, onnxruntime, hailo-clip) before any timing;
#   4. onnxruntime-node model-only (one image, a 7-token and a 77-token text), hailo-clip bench (towers, the
#      service over HTTP), onnxruntime again; then the ratios the performance goals are stated in.
# A benchmark, not a test: it installs python3-torch (large) and onnxruntime-node (into a throwaway folder).
#   bench/compare-onnxruntime.sh [--threads N] [--iterations N] [--build-dir DIR] [--keep]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
threads=2 iterations=20 build="$root/build" keep=0
while [ $# -gt 0 ]; do
    case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--threads N] [--iterations N] [--build-dir DIR] [--keep]" >&2; exit 2 ;;
    esac
done

# The build's packages, Debian's torch and numpy for the export, npm for onnxruntime-node. Python is called by its Debian
# path: a python3 earlier on PATH (pyenv, a venv) would not see Debian's torch.
"$root/scripts/install-deps.sh" python3-torch python3-numpy
python=/usr/bin/python3

if [ ! -x "$build/cli/hailo-clip" ] || [ ! -x "$build/tools/make_random_model" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --parallel "$(nproc)" --target hailo-clip make_random_model >/dev/null
hclip="$build/cli/hailo-clip"

work="$(mktemp -d "${TMPDIR:-/tmp}/hailo-clip-vs-onnxruntime.XXXXXX")"
if [ "$keep" = 1 ]; then echo "work folder (kept): $work"; else trap 'rm -rf "$work"' EXIT; fi

echo "== model, ONNX export, onnxruntime-node"
"$build/tools/make_random_model" --preset vit-b-32 --out "$work/model" >/dev/null
"$python" "$root/bench/onnx/test_picture.py" 224 "$work/picture.bmp" "$work/pixels.f32"
short_prompt="a photo of a cat"
long_prompt="$(for _ in $(seq 12); do printf 'a photo of a cat on a shelf, '; done)"  # over 77 tokens: truncated
ids() { "$hclip" tokenize "$1" | "$python" -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["tokens"][0]["ids"])))'; }
short_ids="$(ids "$short_prompt")"
long_ids="$(ids "$long_prompt")"
"$python" "$root/bench/onnx/clip_to_onnx.py" "$work/model" "$work" --pixels "$work/pixels.f32" \
    --ids "$short_ids" --ids "$long_ids" >"$work/torch.json" 2>"$work/export.log"
mkdir "$work/ort"
cp "$root/bench/onnx/package.json" "$root/bench/onnx/package-lock.json" "$root/bench/onnx/ort_time.mjs" "$work/ort/"
# The CPU library ships in the package; its install step would only fetch CUDA libraries from elsewhere.
(cd "$work/ort" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)

echo "== embeddings of the same inputs"
"$hclip" embed-image --model-dir "$work/model" --raw "$work/picture.bmp" >"$work/ours-image.json" 2>/dev/null
"$hclip" embed-text --model-dir "$work/model" --raw "$short_prompt" >"$work/ours-text-short.json" 2>/dev/null
"$hclip" embed-text --model-dir "$work/model" --raw "$long_prompt" >"$work/ours-text-long.json" 2>/dev/null

echo "== timings: onnxruntime, hailo-clip bench, onnxruntime (threads $threads, $iterations iterations)"
ort() { node "$work/ort/ort_time.mjs" "$work" "$work/pixels.f32" "$iterations" "$threads" "$short_ids" "$long_ids"; }
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
ort >"$work/ort-before.json"
"$hclip" bench --model-dir "$work/model" --iterations "$iterations" --threads "$threads" --packing on \
    >"$work/bench.txt" 2>"$work/bench.log"
ort >"$work/ort-after.json"

lscpu | sed -n 's/^Model name:[[:space:]]*/cpu: /p'
echo "load average: $load_before before the timings, $(cut -d' ' -f1-3 /proc/loadavg) after them"
cat "$work/bench.txt"
echo
"$python" "$root/bench/onnx/compare.py" "$work"
