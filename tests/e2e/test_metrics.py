"""GET /metrics: Prometheus text format accepted by promtool, with the metric names clients scrape, counting what
the service did; open without the API key unless server.metrics_require_api_key."""

import re
import shutil
import subprocess

import requests

from conftest import fixture_image_b64, tiny_config

KEY = "s3cret-key-0123456789"


def scrape(service, **kwargs):
    r = requests.get(service.url + "/metrics", timeout=10, **kwargs)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text


def value(text, sample):
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(sample + " not in\n" + text)


def test_promtool_accepts_the_metrics_and_they_count(tiny_service):
    image = fixture_image_b64("CLIP.png")
    tiny_service.post("/v1/classify", {"image": image, "prompts": ["a cat", "a dog"]})
    tiny_service.post("/v1/classify", {"image": image, "prompts": ["a cat", "a dog"]})
    tiny_service.post("/v1/embed/text", {"text": ""})
    tiny_service.post("/v1/embeddings", {"input": ["a cat", {"image": image}]})
    requests.get(tiny_service.url + "/no/such/path", timeout=10)
    text = scrape(tiny_service)

    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/install-deps.sh installs Debian's prometheus package"
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr

    assert value(text, 'hailo_clip_requests_total{endpoint="/v1/classify",status="200"}') >= 2
    assert value(text, 'hailo_clip_requests_total{endpoint="/v1/embed/text",status="400"}') >= 1
    assert value(text, 'hailo_clip_requests_total{endpoint="/v1/embeddings",status="200"}') >= 1
    assert value(text, 'hailo_clip_requests_total{endpoint="other",status="404"}') >= 1  # no label per path
    assert value(text, 'hailo_clip_request_duration_seconds_count{endpoint="/v1/classify"}') >= 2
    assert value(text, 'hailo_clip_request_duration_seconds_bucket{endpoint="/v1/classify",le="+Inf"}') >= 2
    assert value(text, 'hailo_clip_inference_duration_seconds_count{tower="image"}') >= 1
    assert value(text, 'hailo_clip_inference_duration_seconds_count{tower="text"}') >= 1
    assert value(text, "hailo_clip_queue_depth") == 0
    assert value(text, "hailo_clip_busy_workers") == 0
    assert value(text, "hailo_clip_workers") == 2
    assert value(text, "hailo_clip_text_cache_hits_total") >= 2  # the second classify's prompts
    assert value(text, "hailo_clip_text_cache_misses_total") >= 2
    assert value(text, 'hailo_clip_backend_info{backend="cpu"}') == 1
    assert value(text, "hailo_clip_npu_errors_total") == 0
    assert value(text, "hailo_clip_healthy") == 1
    for name in ("hailo_clip_requests_total", "hailo_clip_request_duration_seconds",
                 "hailo_clip_inference_duration_seconds"):
        assert re.search(r"^# TYPE %s (counter|histogram)$" % name, text, re.M), name


def test_metrics_open_or_guarded_by_the_key(start_service):
    open_metrics = start_service(tiny_config(server={"api_key": KEY}))
    scrape(open_metrics)
    assert requests.post(open_metrics.url + "/metrics", timeout=10).status_code == 405
    guarded = start_service(tiny_config(server={"api_key": KEY, "metrics_require_api_key": True}))
    assert requests.get(guarded.url + "/metrics", timeout=10).status_code == 401
    scrape(guarded, headers={"Authorization": "Bearer " + KEY})
