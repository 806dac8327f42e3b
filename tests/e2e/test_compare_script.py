"""bench/onnx/compare.py, the side-by-side script's last step, reads `hailo-clip bench`'s own output. Run on the real
bench output of the tiny model with onnxruntime figures made up here, it must find every figure and compute each
ratio from them; embeddings that disagree must stop it before any ratio."""

import json
import re
import subprocess

import pytest

from conftest import CLI, SOURCE_DIR, TINY

COMPARE = SOURCE_DIR / "bench" / "onnx" / "compare.py"
EMBEDDING = [0.6, 0.8, 0.0]


def ort_run(image_ms, short_ms, long_ms):
    return {"onnxruntime": "1.30.0", "threads": 2,
            "image": {"median_ms": image_ms, "embedding": EMBEDDING},
            "texts": [{"median_ms": short_ms, "embedding": EMBEDDING}, {"median_ms": long_ms, "embedding": EMBEDDING}]}


def figure(text, pattern):
    found = re.search(pattern, text, re.MULTILINE)
    assert found, pattern
    return float(found.group(1))


@pytest.fixture(scope="module")
def bench_output():
    r = subprocess.run([CLI, "bench", "--model-dir", str(TINY), "--iterations", "1", "--threads", "2",
                        "--packing", "on"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return r.stdout


def work_folder(tmp_path, bench, ours_image=EMBEDDING):
    def write(name, value):
        (tmp_path / name).write_text(json.dumps(value))
    write("torch.json", {"image": EMBEDDING, "texts": [EMBEDDING, EMBEDDING]})
    write("ort-check.json", ort_run(0, 0, 0))
    write("ours-image.json", {"embeddings": [{"embedding": ours_image}]})
    write("ours-text-short.json", {"embeddings": [{"embedding": EMBEDDING}]})
    write("ours-text-long.json", {"embeddings": [{"embedding": EMBEDDING}]})
    # The faster of the two runs counts: before for the image, after for the texts.
    write("ort-before.json", ort_run(40.0, 9.0, 30.0))
    write("ort-after.json", ort_run(50.0, 6.0, 24.0))
    (tmp_path / "bench.txt").write_text(bench)
    return tmp_path


def test_ratios_come_from_the_bench_output(tmp_path, bench_output):
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), str(work_folder(tmp_path, bench_output))],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    tower = figure(bench_output, r"^image tower, batch 1\s+([\d.]+) ms")
    http_image = figure(bench_output, r"^service over HTTP, kept-alive\s+([\d.]+) ms")
    short = figure(bench_output, r"^text tower, 7 tokens\s+([\d.]+) ms")
    peak_share = figure(bench_output, r"^image tower, batch 1, beside the gemm peak .*?: (\d+)% of the peak")
    peak_share_before = figure(bench_output, r"^image tower, batch 1\s+[\d.]+ ms\s+[\d.]+\s+(\d+)%")
    expected = {
        "image tower, % of the GEMM peak": f"{peak_share:.0f}%",
        "image tower, % of a peak measured before it": f"{peak_share_before:.0f}%",
        "service, one image / onnxruntime image": f"{http_image / 40.0:.2f}x",
        "image tower / onnxruntime image": f"{tower / 40.0:.2f}x",
        "text tower 7 tokens / onnxruntime 77 tokens": f"{short / 24.0:.2f}x",
        "text tower 7 tokens / onnxruntime 7 tokens": f"{short / 6.0:.2f}x",
    }
    for name, value in expected.items():
        assert re.search(rf"^  {re.escape(name)}\s+{re.escape(value)}(?=\s|$)", r.stdout, re.MULTILINE), (name, value, r.stdout)
    assert "service, 7-token text / onnxruntime 77-token" in r.stdout
    assert "clip.compute bf16: not measured (not run)" in r.stdout  # no bench-bf16.txt in this folder


def test_embeddings_that_disagree_stop_it(tmp_path, bench_output):
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), str(work_folder(tmp_path, bench_output, [0.8, 0.6, 0.0]))],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the embeddings differ by more than" in r.stdout
    assert "ratios" not in r.stdout
