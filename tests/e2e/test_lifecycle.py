"""Start-up, overload, timeouts and shutdown of the real process."""

import json
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import CLI, FIXTURES, TINY, Service, fixture_image_b64, tiny_config


def start_expecting_failure(tmp_path, config, words):
    service = Service(config, tmp_path)
    code = service.proc.wait(60)
    service._reader.join(5)
    assert code == 1, service.log()
    assert service.port is None, "the service must never listen without a working model"
    for w in words:
        assert w in service.log(), (w, service.log())
    return service.log()


def test_missing_model_exits_non_zero_with_reason(tmp_path):
    config = tiny_config(clip={"model_dir": str(tmp_path / "no-such-model")})
    start_expecting_failure(tmp_path, config, ["cannot start", "no-such-model", "does not exist"])


def test_config_contradicting_the_model_is_refused(tmp_path):
    config = tiny_config(clip={"embedding_dimension": 640})
    start_expecting_failure(tmp_path, config, ["clip.embedding_dimension", "640", "48"])


def test_dimension_and_image_size_left_out_are_the_models(start_service):
    # The tiny model has 48-dimension embeddings: a config that states neither key must start and serve them
    # (the built-in 512 / 224 used to stop it).
    config = tiny_config()
    del config["clip"]["embedding_dimension"]
    service = start_service(config)
    health = requests.get(service.url + "/health", timeout=10).json()
    assert health["embedding_dimension"] == 48
    r = service.post("/v1/embed/text", {"text": "a photo of a cat"})
    assert r.status_code == 200 and len(r.json()["embedding"]) == 48


def test_image_size_contradicting_the_model_is_refused(tmp_path):
    start_expecting_failure(tmp_path, tiny_config(clip={"image_size": 336}), ["clip.image_size is 336", "224"])


def test_unknown_key_and_wrong_type_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    start_expecting_failure(tmp_path / "a", tiny_config(clip={"modle": "x"}), ["unknown setting clip.modle"])
    (tmp_path / "b").mkdir()
    start_expecting_failure(tmp_path / "b", tiny_config(server={"port": "http"}), ["server.port", "whole number"])


def test_truncated_resnet_checkpoint_is_refused_not_faked(tmp_path):
    # A ResNet checkpoint cut in half: refused with the reason, never served.
    model = tmp_path / "broken-resnet"
    model.mkdir()
    source = (FIXTURES / "models" / "tiny-openai-resnet" / "model.safetensors").read_bytes()
    (model / "model.safetensors").write_bytes(source[:len(source) // 2])
    config = tiny_config(clip={"model_dir": str(model)})
    start_expecting_failure(tmp_path, config, ["cannot start", "broken-resnet"])


def test_config_path_from_environment(tmp_path):
    config_path = tmp_path / "from-env.yaml"
    config_path.write_text(json.dumps(tiny_config()))  # JSON is YAML
    proc = subprocess.Popen([CLI, "serve"], env={"HAILO_CLIP_CONFIG": str(config_path)}, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stderr:
            if "listening on" in line:
                break
            assert "cannot start" not in line, line
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


def test_graceful_shutdown_finishes_requests_in_flight(start_service, vit_b32_dir):
    service = start_service({"server": {"host": "127.0.0.1", "port": 0},
                             "clip": {"model_dir": str(vit_b32_dir), "backend": "cpu"},
                             "performance": {"worker_threads": 1, "gemm_threads": 1}})
    body = {"image": fixture_image_b64("chelsea.png"), "prompts": ["a cat %d" % i for i in range(8)]}
    result = {}

    def call():
        result["response"] = service.post("/v1/classify", body, timeout=120)

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.05)  # let the request reach the worker
    service.proc.send_signal(signal.SIGTERM)
    t.join(120)
    assert result["response"].status_code == 200, result["response"].text
    assert service.proc.wait(60) == 0, service.log()
    assert "stopped" in service.log()
    try:
        requests.get(service.url + "/health", timeout=2)
        raise AssertionError("the service still accepts connections after stopping")
    except requests.ConnectionError:
        pass


def test_overload_gets_503_quickly_and_accepted_requests_are_right(start_service, vit_b32_dir):
    service = start_service({"server": {"host": "127.0.0.1", "port": 0},
                             "clip": {"model_dir": str(vit_b32_dir), "backend": "cpu", "batch_size": 1,
                                      "text_cache_size": 0},
                             "performance": {"worker_threads": 1, "max_queue_size": 1, "gemm_threads": 1}})
    body = {"image": fixture_image_b64("horse.png"), "prompts": ["a horse", "a cow", "a dog"]}
    reference = service.post("/v1/classify", body, timeout=120).json()["classifications"]

    def call(_):
        start = time.monotonic()
        r = service.post("/v1/classify", body, timeout=120)
        return r, time.monotonic() - start

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(call, range(10)))
    ok = [r for r, _ in results if r.status_code == 200]
    busy = [(r, s) for r, s in results if r.status_code == 503]
    assert len(ok) + len(busy) == 10, [r.status_code for r, _ in results]
    assert busy, "10 concurrent requests for 1 worker and 1 queue place must overflow"
    assert len(ok) >= 2
    for r, seconds in busy:
        assert r.headers.get("Retry-After") == "1"
        assert "busy" in r.json()["error"]
        assert seconds < 5.0, "a rejected request must be answered at once, not after queueing"
    for r in ok:
        got = r.json()["classifications"]
        assert [c["text"] for c in got] == [c["text"] for c in reference]
        assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in zip(got, reference))
    health = requests.get(service.url + "/health", timeout=10).json()
    assert health["status"] == "healthy" and health["rejected_requests"] == len(busy)


def test_request_timeout_gives_504_and_the_service_recovers(start_service):
    service = start_service(tiny_config(performance={"request_timeout": 0.02}))
    # Decoding and resizing a 4000x3000 JPEG alone takes longer than 20 ms.
    r = service.post("/v1/embed/image", {"image": fixture_image_b64("large_4000x3000.jpg")})
    assert r.status_code == 504, r.text
    assert "request_timeout" in r.json()["error"]
    assert requests.get(service.url + "/health", timeout=10).json()["status"] == "healthy"


def test_startup_lines_and_debug_detail(start_service):
    service = start_service(tiny_config(server={"debug": True}))
    r = service.post("/v1/classify", {"image": fixture_image_b64("chelsea.png"), "prompts": ["a cat", "a dog"]})
    assert r.status_code == 200
    service.stop()
    log = service.log()
    for words in ["configuration:", "model: ViT width 192", "embedding dimension 48, backend cpu",
                  "warm-up inference passed", "listening on http://127.0.0.1:", "POST /v1/classify 200",
                  "DEBUG classify: PNG 451x300 image", "2 prompts (2 encoded)", "received SIGTERM", "stopped"]:
        assert words in log, (words, log)


def test_sigterm_right_after_startup_still_stops(tmp_path):
    # A signal that arrives as soon as the service says it listens (before its accept loop runs) must stop it.
    for attempt in range(5):
        sub = tmp_path / str(attempt)
        sub.mkdir()
        service = Service(tiny_config(), sub).wait_ready()
        service.proc.send_signal(signal.SIGTERM)
        assert service.proc.wait(30) == 0, service.log()
