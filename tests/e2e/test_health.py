"""Liveness, readiness and the health probe of the real service (tiny fixture model).

The unhealthy paths (a worker stuck inside an encoder, failing batches, recovery by probes) need an encoder that
misbehaves on purpose; production code has no such hook, so they are proved with test doubles in
tests/unit/service_health_test.cpp.
"""

import time

import requests

from conftest import tiny_config

SEED_HEALTH_KEYS = {"status", "service", "model_loaded", "model"}  # the user's API specification


def test_health_keeps_the_seed_shape_and_reports_reality(tiny_service):
    r = requests.get(tiny_service.url + "/health", timeout=10)
    assert r.status_code == 200
    h = r.json()
    assert SEED_HEALTH_KEYS <= h.keys()
    assert h["status"] == "healthy" and h["service"] == "hailo-clip" and h["model_loaded"] is True
    assert h["inferences"] >= 1  # the warm-up
    for key in ("expired_requests", "oldest_batch_seconds", "probes", "failed_probes"):
        assert key in h, key
    assert "reason" not in h


def wait_for_self_test(service, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = requests.get(service.url + "/health", timeout=10).json()
        if "last_self_test" in h:
            return h
        time.sleep(0.05)
    raise AssertionError("no last_self_test in /health after %d s: %s" % (timeout, service.log()))


def test_the_self_test_runs_after_start_up_and_health_reports_its_verdict(start_service):
    service = start_service(tiny_config())  # clip.self_test defaults to report
    h = wait_for_self_test(service)
    st = h["last_self_test"]
    assert set(st) == {"time", "passed", "verified", "verdict"}
    # Random weights: no published outputs to compare with, and the sanity check sees they recognise nothing.
    assert st["passed"] is False and st["verified"] is False
    assert st["verdict"].startswith("FAIL (sanity only)"), st
    assert time.strptime(st["time"], "%Y-%m-%dT%H:%M:%SZ")
    # The verdict is reported, not acted on: inference works, so the service stays healthy and ready.
    assert h["status"] == "healthy"
    assert requests.get(service.url + "/health/ready", timeout=10).status_code == 200
    assert "self-test: FAIL (sanity only)" in service.log()


def test_self_test_off_runs_nothing(start_service):
    service = start_service(tiny_config(clip={"self_test": "off"}))
    assert service.post("/v1/embed/text", {"text": "x"}).status_code == 200
    time.sleep(1.0)  # with report, the tiny model's self-test is done in about 0.1 s
    assert "last_self_test" not in requests.get(service.url + "/health", timeout=10).json()
    assert "self-test" not in service.log()


def test_self_test_require_refuses_to_start_a_model_that_fails_it(start_service):
    service = start_service(tiny_config(clip={"self_test": "require"}), ready=False)
    assert service.proc.wait(timeout=120) == 1
    log = service.log()
    assert "self-test: FAIL (sanity only)" in log, log
    assert "cannot start: the self-test failed (clip.self_test: require)" in log, log
    assert "listening on" not in log, log


def test_liveness_and_readiness_of_a_healthy_service(tiny_service):
    live = requests.get(tiny_service.url + "/health/live", timeout=10)
    ready = requests.get(tiny_service.url + "/health/ready", timeout=10)
    assert (live.status_code, live.json()) == (200, {"live": True})
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    assert live.headers["Content-Type"] == "application/json"


def test_health_endpoints_need_no_api_key(start_service):
    service = start_service(tiny_config(server={"api_key": "k" * 24}))
    for path in ("/health", "/health/live", "/health/ready"):
        assert requests.get(service.url + path, timeout=10).status_code == 200, path
    assert service.post("/v1/embed/text", {"text": "x"}).status_code == 401


def test_idle_service_probes_itself_with_a_real_inference(start_service):
    service = start_service(tiny_config(performance={"health_probe_interval": 0.1}))
    deadline = time.monotonic() + 20
    h = {}
    while time.monotonic() < deadline:
        h = requests.get(service.url + "/health", timeout=10).json()
        if h["probes"] >= 3:
            break
        time.sleep(0.05)
    # Each probe ran the cached picture and prompt through both towers and matched the warm-up's answer.
    assert h["probes"] >= 3, h
    assert h["failed_probes"] == 0, h
    assert h["status"] == "healthy", h


def test_hung_worker_timeout_below_request_timeout_is_refused(tmp_path):
    from test_lifecycle import start_expecting_failure

    config = tiny_config(performance={"request_timeout": 30, "hung_worker_timeout": 5})
    start_expecting_failure(tmp_path, config, ["performance.hung_worker_timeout", "request_timeout"])
