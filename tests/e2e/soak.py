"""Soak and overload: many more clients than inference workers hammer the service for a bounded time.

Checks: no 5xx other than 503, every 200 answer equals the answer the same request got on an idle service, resident
memory flat after warm-up. Reports requests, statuses, latency percentiles and memory.

Used by test_soak.py (short) and runnable on its own for longer runs (see docs/reliability.md):
    python3 tests/e2e/soak.py --seconds 300 --clients 16 [--model-dir DIR] [--embedding-dimension N]
"""

import argparse
import http.client
import json
import pathlib
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from conftest import TINY, Service, fixture_image_b64, tiny_config  # noqa: E402

IMAGES = ["CLIP.png", "rocket.jpg", "palette.gif", "lossless.webp", "tiny_1x1.png"]
TEXTS = [f"a photo of item number {i}" for i in range(24)]
PROMPT_SETS = [["a diagram", "a dog", "a rocket"], ["a cat", "a shelf"], TEXTS[:8]]


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


class Client:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def post(self, path, body):
        payload = json.dumps(body)
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request("POST", path, payload, {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")


def requests_catalogue():
    """(path, body) pairs: classify and embed requests over several formats and prompt sets."""
    out = []
    for name in IMAGES:
        image = fixture_image_b64(name)
        for prompts in PROMPT_SETS:
            out.append(("/v1/classify", {"image": image, "prompts": prompts, "top_k": len(prompts)}))
        out.append(("/v1/embed/image", {"image": image}))
    for text in TEXTS:
        out.append(("/v1/embed/text", {"text": text}))
    return out


def same_answer(path, got, expected):
    if path == "/v1/classify":
        a, b = got["classifications"], expected["classifications"]
        return [c["text"] for c in a] == [c["text"] for c in b] and all(
            abs(x["score"] - y["score"]) < 1e-4 and abs(x["similarity"] - y["similarity"]) < 1e-4 for x, y in zip(a, b))
    return len(got["embedding"]) == len(expected["embedding"]) and all(
        abs(x - y) < 1e-4 for x, y in zip(got["embedding"], expected["embedding"]))


def run_soak(service, seconds, clients, warmup_fraction=0.25):
    catalogue = requests_catalogue()
    idle = Client(service.port)
    expected = []
    for path, body in catalogue:
        status, data = idle.post(path, body)
        assert status == 200, (path, status, data[:200])
        expected.append(json.loads(data))

    pid = service.proc.pid
    statuses = {}
    latencies = []
    wrong = []
    errors = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    memory = []  # (seconds since start, VmRSS KiB)
    start = time.monotonic()

    def worker(seed):
        rng = random.Random(seed)
        client = Client(service.port)
        while time.monotonic() < stop_at:
            i = rng.randrange(len(catalogue))
            path, body = catalogue[i]
            t0 = time.monotonic()
            try:
                status, data = client.post(path, body)
            except Exception as e:  # a dropped connection is a failure of the service
                with lock:
                    errors.append(repr(e))
                continue
            ms = (time.monotonic() - t0) * 1000.0
            ok = True
            if status == 200:
                ok = same_answer(path, json.loads(data), expected[i])
            elif status == 503:
                time.sleep(0.005)  # what Retry-After asks for, shortened: keep the pressure on
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(ms)
                if not ok:
                    wrong.append(path)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    # Four samples a second: the medians below then rest on tens of samples even in a 10 s run.
    while time.monotonic() < stop_at:
        memory.append((time.monotonic() - start, rss_kib(pid)))
        time.sleep(0.25)
    for t in threads:
        t.join()
    memory.append((time.monotonic() - start, rss_kib(pid)))

    latencies.sort()
    after_warmup = [kib for t, kib in memory if t >= seconds * warmup_fraction]
    # A leak shows as sustained growth: compare the typical (median) resident size just after warm-up with the
    # typical size at the end, so that a momentary peak (several large pictures decoded at once) is not taken
    # for one.
    early = sorted(kib for t, kib in memory if seconds * warmup_fraction <= t < seconds * 0.5) or [memory[0][1]]
    late = sorted(kib for t, kib in memory if t >= seconds * 0.75) or [memory[-1][1]]
    return {
        "seconds": seconds,
        "clients": clients,
        "requests": sum(statuses.values()),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "wrong_answers": len(wrong),
        "connection_errors": errors[:5],
        "connection_error_count": len(errors),
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p90": round(percentile(latencies, 90), 1),
                       "p99": round(percentile(latencies, 99), 1), "max": round(latencies[-1], 1) if latencies else 0},
        "rss_kib": {"start": memory[0][1], "median_after_warmup": early[len(early) // 2],
                    "median_at_end": late[len(late) // 2], "end": memory[-1][1],
                    "max_after_warmup": max(after_warmup) if after_warmup else memory[-1][1]},
        "rss_mib_each_second": [kib // 1024 for _, kib in memory[::4]],
    }


def check_report(report):
    """The soak's pass criteria; returns a list of failures (empty: passed)."""
    failures = []
    for status, count in report["statuses"].items():
        if status not in ("200", "503"):
            failures.append(f"{count} answers with status {status}")
    if report["wrong_answers"]:
        failures.append(f"{report['wrong_answers']} answers differ from the idle service's")
    if report["connection_error_count"]:
        failures.append(f"{report['connection_error_count']} connection errors: {report['connection_errors']}")
    if report["statuses"].get("200", 0) == 0:
        failures.append("no request succeeded")
    rss = report["rss_kib"]
    # Flat: after warm-up (caches and allocator pools filled), growth stays within allocator noise.
    allowed = max(rss["median_after_warmup"] // 10, 16 * 1024)
    if rss["median_at_end"] - rss["median_after_warmup"] > allowed:
        failures.append(f"resident memory grew from {rss['median_after_warmup']} KiB (median after warm-up) to "
                        f"{rss['median_at_end']} KiB (median of the last quarter)")
    return failures


def soak_config(model_dir, embedding_dimension, workers, queue):
    config = tiny_config(performance={"worker_threads": workers, "max_queue_size": queue},
                         server={"http_threads": 32})
    config["clip"]["model_dir"] = str(model_dir)
    config["clip"]["embedding_dimension"] = embedding_dimension
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue", type=int, default=4)
    parser.add_argument("--model-dir", default=str(TINY))
    parser.add_argument("--embedding-dimension", type=int, default=48)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(soak_config(args.model_dir, args.embedding_dimension, args.workers, args.queue),
                          pathlib.Path(tmp)).wait_ready()
        try:
            report = run_soak(service, args.seconds, args.clients)
        finally:
            code = service.stop()
        report["exit_code"] = code
        print(json.dumps(report, indent=2))
        failures = check_report(report) + ([] if code == 0 else [f"service exited {code}"])
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
