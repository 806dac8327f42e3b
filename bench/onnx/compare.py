#!/usr/bin/env python3
"""Checks that torch, onnxruntime and hailo-clip compute the same embeddings, then prints the timing ratios.

    compare.py WORKDIR [--check-only]

WORKDIR holds torch.json (clip_to_onnx.py), ort-check.json (ort_time.mjs, one untimed pass), ours-image.json,
ours-text-short.json, ours-text-long.json (hailo-clip embed-* --raw), and the timings of each round in
WORKDIR/round-1, round-2, ... (or in WORKDIR itself for a single round): ort-before.json and ort-after.json
(ort_time.mjs, run before and after the bench), bench.txt and bench-bf16.txt (hailo-clip bench). Several rounds give
each ratio's median, so that a machine whose speed drifts between the two programs' runs moves one round, not the
verdict. Exits 1 when the embeddings disagree or a figure is missing. With --check-only it compares the embeddings
alone, before anything is timed.
"""
import glob
import json
import re
import sys

import numpy as np

# The fixtures' acceptance for a float32 engine: normalized embeddings within 5e-5 of the reference.
TOLERANCE = 5e-5


def normalized(values):
    v = np.asarray(values, dtype=np.float64)
    return v / np.linalg.norm(v)


def ours(path):
    with open(path) as f:
        return json.load(f)["embeddings"][0]["embedding"]


def bench_figure(text, pattern, what):
    m = re.search(pattern, text, re.MULTILINE)
    if not m:
        raise SystemExit(f"compare: bench output has no {what}")
    return float(m.group(1))


def main():
    work = sys.argv[1]
    check_only = sys.argv[2:] == ["--check-only"]
    load = lambda name: json.load(open(f"{work}/{name}"))
    torch_out = load("torch.json")
    # The embeddings of onnxruntime's untimed pass (the timed rounds compute the same ones).
    before = load("ort-check.json")

    # 1. The same function everywhere: torch (the export's source), onnxruntime (the export), hailo-clip.
    cases = [
        ("image", torch_out["image"], before["image"]["embedding"], ours(f"{work}/ours-image.json")),
        ("text, 7 tokens", torch_out["texts"][0], before["texts"][0]["embedding"], ours(f"{work}/ours-text-short.json")),
        ("text, 77 tokens", torch_out["texts"][1], before["texts"][1]["embedding"], ours(f"{work}/ours-text-long.json")),
    ]
    worst = 0.0
    print("embeddings (L2-normalized), max |difference|:")
    for name, t, o, h in cases:
        t, o, h = normalized(t), normalized(o), normalized(h)
        d_ort, d_ours = np.abs(o - t).max(), np.abs(h - t).max()
        worst = max(worst, d_ort, d_ours)
        print(f"  {name:16s} onnxruntime vs torch {d_ort:.1e}, hailo-clip vs torch {d_ours:.1e}")
    if worst > TOLERANCE:
        print(f"compare: the embeddings differ by more than {TOLERANCE}: the timings would compare different models")
        return 1
    if check_only:
        return 0

    # 2. Timings, round by round (one round: WORKDIR itself), then each ratio's median over the rounds.
    rounds = sorted(glob.glob(f"{work}/round-*"), key=lambda d: int(d.rsplit("-", 1)[1])) or [work]
    results = []
    for number, folder in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f"\nround {number} of {len(rounds)}:")
        results.append(round_ratios(folder))
    print("\nratios:" if len(rounds) == 1 else f"\nratios (median of the {len(rounds)} rounds; each round's in brackets):")
    for name, goal, test in RATIO_GOALS:
        values = [r[name] for r in results if name in r]
        if not values:
            continue
        middle = float(np.median(values))
        share = "% of" in name  # a share of the peak, not a ratio of times
        shown = f"{middle:.0f}%" if share else f"{middle:.2f}x"
        verdict = "" if test is None else ("met" if test(middle) else "NOT met")
        each = ""
        if len(values) > 1:
            each = " [" + ", ".join(f"{v:.0f}%" if share else f"{v:.2f}" for v in values) + "]"
        print(f"  {name:46s} {shown:>7s}  {goal:9s} {verdict:7s}{each}".rstrip())
    return 0


# Each ratio's name, its goal as printed, and the test of a value against it (None: shown, no goal).
RATIO_GOALS = [
    ("image tower, % of the GEMM peak", ">= 85%", lambda v: v >= 85),
    ("image tower, % of a peak measured before it", "", None),
    ("image tower at batch 8, % of the GEMM peak", "", None),
    ("service, one image / onnxruntime image", "<= 1.0x", lambda v: v <= 1.0),
    ("image tower / onnxruntime image", "", None),
    ("service, 7-token text / onnxruntime 77-token", "<= 0.25x", lambda v: v <= 0.25),
    ("text tower 7 tokens / onnxruntime 77 tokens", "<= 0.25x", lambda v: v <= 0.25),
    ("text tower 7 tokens / onnxruntime 7 tokens", "", None),
    ("text tower 77 tokens / onnxruntime 77 tokens", "", None),
    ("bf16 products: image tower / onnxruntime image", "<= 0.5x", lambda v: v <= 0.5),
    ("bf16 products: service, one image / onnxruntime", "<= 0.5x", lambda v: v <= 0.5),
]


def round_ratios(folder):
    """Prints one round's figures (onnxruntime before and after the bench, the bench's own) and returns its ratios."""
    load = lambda name: json.load(open(f"{folder}/{name}"))
    before, after = load("ort-before.json"), load("ort-after.json")
    # onnxruntime ran before and after our bench; the faster median of the two is taken (the one less disturbed by
    # other load), which favours onnxruntime.
    ort_ms = lambda pick: min(pick(before)["median_ms"], pick(after)["median_ms"])
    ort_image = ort_ms(lambda r: r["image"])
    ort_short = ort_ms(lambda r: r["texts"][0])
    ort_long = ort_ms(lambda r: r["texts"][1])
    bench = open(f"{folder}/bench.txt").read()
    tower_image = bench_figure(bench, r"^image tower, batch 1\s+([\d.]+) ms", "image tower time")
    # The goal's figure: the peak and the tower measured in turn, pair by pair (a drifting machine moves both alike);
    # the tower's share of the one peak measured before the towers is shown beside it.
    tower_image_peak = bench_figure(bench, r"^image tower, batch 1, beside the gemm peak .*?: (\d+)% of the peak",
                                    "image %peak beside the peak")
    paired_range = re.search(r"beside the gemm peak .*?\(pairs ([\d-]+)%\)", bench, re.MULTILINE)
    tower_image_peak_before = bench_figure(bench, r"^image tower, batch 1\s+[\d.]+ ms\s+[\d.]+\s+(\d+)%", "image %peak")
    tower_short = bench_figure(bench, r"^text tower, 7 tokens\s+([\d.]+) ms", "7-token text time")
    tower_long = bench_figure(bench, r"^text tower, 77 tokens\s+([\d.]+) ms", "77-token text time")
    peak = bench_figure(bench, r"^gemm peak: ([\d.]+) GFLOP/s", "GEMM peak")
    http_image = bench_figure(bench, r"^service over HTTP, kept-alive\s+([\d.]+) ms", "HTTP image time")
    texts_table = bench[bench.index("7-token texts"):]
    http_short = bench_figure(texts_table, r"^1\s+[\d.]+\s+([\d.]+) ms", "HTTP text p50 at one client")

    print(f"onnxruntime {before['onnxruntime']}, {before['threads']} threads, model only (median, faster of 2 runs):")
    print(f"  image {ort_image:.1f} ms, text 7 tokens {ort_short:.1f} ms, text 77 tokens {ort_long:.1f} ms")
    runs = lambda r: f"{r['image']['median_ms']:.1f} / {r['texts'][0]['median_ms']:.1f} / {r['texts'][1]['median_ms']:.1f}"
    print(f"  (before the bench: {runs(before)} ms; after it: {runs(after)} ms)")
    print("hailo-clip (same run):")
    pairs = f", pairs {paired_range.group(1)}%" if paired_range else ""
    print(f"  image tower {tower_image:.1f} ms ({tower_image_peak:.0f}% of the GEMM peak measured beside it{pairs};"
          f" {tower_image_peak_before:.0f}% of the peak {peak:.0f} GFLOP/s measured before the towers),"
          f" text tower 7 tokens {tower_short:.1f} ms, 77 tokens {tower_long:.1f} ms")
    print(f"  service over HTTP (kept-alive): one JPEG image {http_image:.1f} ms, one new 7-token text {http_short:.1f} ms")
    ratios = {
        "image tower, % of the GEMM peak": tower_image_peak,
        "image tower, % of a peak measured before it": tower_image_peak_before,
        "service, one image / onnxruntime image": http_image / ort_image,
        "image tower / onnxruntime image": tower_image / ort_image,
        "service, 7-token text / onnxruntime 77-token": http_short / ort_long,
        "text tower 7 tokens / onnxruntime 77 tokens": tower_short / ort_long,
        "text tower 7 tokens / onnxruntime 7 tokens": tower_short / ort_short,
        "text tower 77 tokens / onnxruntime 77 tokens": tower_long / ort_long,
    }
    if "image tower, batch 8" in bench:
        ratios["image tower at batch 8, % of the GEMM peak"] = bench_figure(
            bench, r"^image tower, batch 8 \(per image\)\s+[\d.]+ ms\s+[\d.]+\s+(\d+)%", "batch-8 image %peak")
    # The reduced-precision option (clip.compute bf16), where this CPU has bf16 products.
    try:
        bf16 = open(f"{folder}/bench-bf16.txt").read()
    except FileNotFoundError:
        bf16 = None
    if bf16 is not None:
        bf16_tower = bench_figure(bf16, r"^image tower, batch 1\s+([\d.]+) ms", "bf16 image tower time")
        bf16_http = bench_figure(bf16, r"^service over HTTP, kept-alive\s+([\d.]+) ms", "bf16 HTTP image time")
        bf16_short = bench_figure(bf16, r"^text tower, 7 tokens\s+([\d.]+) ms", "bf16 7-token text time")
        print(f"  with clip.compute bf16: image tower {bf16_tower:.1f} ms, service over HTTP one JPEG image"
              f" {bf16_http:.1f} ms, text tower 7 tokens {bf16_short:.1f} ms")
        ratios["bf16 products: image tower / onnxruntime image"] = bf16_tower / ort_image
        ratios["bf16 products: service, one image / onnxruntime"] = bf16_http / ort_image
    else:
        try:
            reason = open(f"{folder}/bf16-refused.txt").read().strip()
        except FileNotFoundError:
            reason = "not run"
        print(f"  clip.compute bf16: not measured ({reason})")
    return ratios


if __name__ == "__main__":
    sys.exit(main())
