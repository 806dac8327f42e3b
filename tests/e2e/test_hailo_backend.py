"""The Hailo backend through the real service of the test program (hailo-clip-test: hailo-clip's main with the CPU
stand-in of the NPU registered as its "hailo" backend; the installed hailo-clip has no stand-in). The stand-in
emulates each HEF's contract with the CPU towers, so the service's hailo path must give the CPU backend's
embeddings; it is always reported as hailo-emulated."""

import json
import os
import pathlib
import subprocess
import time

import pytest
import requests
import yaml

from conftest import TEST_CLI, TINY, Service, fixture_image_b64, golden, tiny_config

G = golden()
TOOL = os.environ.get("HCLIP_MAKE_STAND_IN_HEFS",
                      str(pathlib.Path(TEST_CLI).resolve().parent / "make_stand_in_hefs"))
IMAGES = ["franz-kafka.jpg", "CLIP.png", "odd_223x331.png", "gray.jpg"]
TEXTS = ["a photo of a cat", "empty shelf", "hi !$ there", "a photo of the number: \"4\"."]


@pytest.fixture(scope="module")
def hailo_resources(tmp_path_factory):
    out = tmp_path_factory.mktemp("hailo-resources")
    subprocess.run([TOOL, "--model-dir", str(TINY), "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def hailo_config(res, **hailo):
    section = {
        "image_hef": str(res / "clip_image_encoder.stand-in.hef"),
        "text_hef": str(res / "clip_text_encoder.stand-in.hef"),
        "token_embedding_lut": str(res / "token_embedding_lut.npy"),
        "text_projection": str(res / "text_projection.npy"),
        "retry_max_seconds": 1,
    }
    section.update(hailo)
    return tiny_config(clip={"backend": "hailo"}, hailo=section)


def embed(service, kind, value):
    body = {"image": fixture_image_b64(value)} if kind == "image" else {"text": value}
    r = service.post("/v1/embed/" + kind, body)
    assert r.status_code == 200, r.text
    return r.json()["embedding"]


def max_diff(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


def test_emulated_hailo_equals_cpu_over_http(start_service, hailo_resources):
    cpu = start_service(tiny_config(clip={"backend": "cpu"}))
    npu = start_service(hailo_config(hailo_resources), program=TEST_CLI)
    health = requests.get(npu.url + "/health", timeout=10).json()
    assert health["backend"] == "hailo-emulated", health
    assert health["status"] == "healthy", health
    assert requests.get(cpu.url + "/health", timeout=10).json()["backend"] == "cpu"
    assert "CPU EMULATION" in npu.log()
    assert "backend hailo-emulated" in npu.log()
    for name in IMAGES:
        assert max_diff(embed(npu, "image", name), embed(cpu, "image", name)) < 1e-4, name
    for text in TEXTS:
        assert max_diff(embed(npu, "text", text), embed(cpu, "text", text)) < 1e-4, text
    want = G["text_embeds_normalized"][G["texts"].index("empty shelf")]
    assert max_diff(embed(npu, "text", "empty shelf"), want) < 1e-4
    body = {"image": fixture_image_b64("CLIP.png"), "prompts": TEXTS, "top_k": len(TEXTS)}
    a = {c["text"]: c["score"] for c in npu.post("/v1/classify", body).json()["classifications"]}
    b = {c["text"]: c["score"] for c in cpu.post("/v1/classify", body).json()["classifications"]}
    assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-3 for k in a), (a, b)


def test_text_encoder_on_the_cpu(start_service, hailo_resources):
    service = start_service(hailo_config(hailo_resources, text_encoder="cpu"), program=TEST_CLI)
    assert requests.get(service.url + "/health", timeout=10).json()["backend"] == "hailo-emulated+cpu-text"
    assert embed(service, "text", "empty shelf")


def test_busy_device_falls_back_to_cpu_when_configured(start_service, hailo_resources, monkeypatch):
    monkeypatch.setenv("HAILO_CLIP_STAND_IN_FAULT", "open:74")
    service = start_service(hailo_config(hailo_resources, on_unavailable="cpu"), program=TEST_CLI)
    health = requests.get(service.url + "/health", timeout=10).json()
    assert health["backend"] == "cpu" and health["status"] == "healthy", health
    assert "HAILO_OUT_OF_PHYSICAL_DEVICES (74)" in service.log()
    assert "the CPU serves" in service.log()
    assert "backend cpu" in service.log()


def test_busy_device_fails_by_default(tmp_path, hailo_resources, monkeypatch):
    monkeypatch.setenv("HAILO_CLIP_STAND_IN_FAULT", "open:74")
    service = Service(hailo_config(hailo_resources), tmp_path, program=TEST_CLI)
    code = service.proc.wait(60)
    service._reader.join(5)
    assert code != 0 and service.port is None, service.log()
    assert "HAILO_OUT_OF_PHYSICAL_DEVICES (74)" in service.log()
    assert "group_id" in service.log()


def test_missing_hef_fails_even_with_cpu_fallback(tmp_path, hailo_resources):
    config = hailo_config(hailo_resources, on_unavailable="cpu", image_hef=str(tmp_path / "nope.hef"))
    service = Service(config, tmp_path, program=TEST_CLI)
    code = service.proc.wait(60)
    service._reader.join(5)
    assert code != 0 and service.port is None, service.log()
    assert "HAILO_OPEN_FILE_FAILURE (13)" in service.log() and "nope.hef" in service.log()


def test_lost_device_gives_503_then_recovers(start_service, hailo_resources, monkeypatch):
    # The warm-up runs two pictures and two prompts, one frame per run (four runs); the next run loses the device.
    monkeypatch.setenv("HAILO_CLIP_STAND_IN_FAULT", "run:62:4:1")
    config = hailo_config(hailo_resources)
    config["performance"]["health_probe_interval"] = 0.2  # the probes bring health back without outside traffic
    config["clip"]["self_test"] = "off"  # its runs would take the fault meant for the request
    service = start_service(config, program=TEST_CLI)
    r = service.post("/v1/embed/image", {"image": fixture_image_b64("CLIP.png")})
    assert r.status_code == 503, r.text
    assert "HAILO_COMMUNICATION_CLOSED (62)" in r.json()["error"]
    health = requests.get(service.url + "/health", timeout=10)
    assert health.json()["status"] == "unhealthy", health.text
    deadline = time.time() + 30
    while True:
        r = service.post("/v1/embed/image", {"image": fixture_image_b64("CLIP.png")})
        if r.status_code == 200:
            break
        assert r.status_code == 503, r.text
        assert time.time() < deadline, service.log()
        time.sleep(0.1)
    # The failed passes while the device was reopened stay in the health window until the probes outweigh them.
    while requests.get(service.url + "/health", timeout=10).json()["status"] != "healthy":
        assert time.time() < deadline + 30, service.log()
        time.sleep(0.1)
    assert "Hailo device lost" in service.log() and "reinitialized" in service.log()
    assert service.proc.poll() is None


def test_installed_program_cannot_emulate_the_npu(tmp_path, hailo_resources, monkeypatch):
    """The same configuration in the installed hailo-clip: no stand-in, so no NPU here; it fails with the reason,
    and the fault-injection variable does nothing."""
    monkeypatch.setenv("HAILO_CLIP_STAND_IN_FAULT", "open:74")
    service = Service(hailo_config(hailo_resources), tmp_path)
    code = service.proc.wait(60)
    service._reader.join(5)
    log = service.log()
    assert code != 0 and service.port is None, log
    if os.environ.get("HCLIP_BUILD_HAS_HAILORT") == "ON":
        assert "no Hailo device found" in log, log  # HailoRT's own answer: there is no device here
    else:
        assert "the hailo backend is not available" in log, log  # no HailoRT in this build
    assert "EMULATION" not in log and "injected fault" not in log, log


def test_cli_commands_use_the_configured_backend(tmp_path, hailo_resources):
    """embed-text, embed-image and classify build their engine from the same configuration as the service."""
    config = tmp_path / "hailo-clip.yaml"
    config.write_text(yaml.safe_dump(hailo_config(hailo_resources)))
    run = lambda *args: subprocess.run([TEST_CLI, *args, "--config", str(config)], capture_output=True, text=True,
                                       timeout=120)
    text = run("embed-text", "empty shelf")
    assert text.returncode == 0, text.stderr
    assert "CPU EMULATION" in text.stderr
    want = G["text_embeds_normalized"][G["texts"].index("empty shelf")]
    assert max_diff(json.loads(text.stdout)["embeddings"][0]["embedding"], want) < 1e-4
    cpu = run("embed-text", "empty shelf", "--backend", "cpu")
    assert cpu.returncode == 0 and "EMULATION" not in cpu.stderr, cpu.stderr
