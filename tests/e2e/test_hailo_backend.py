"""The Hailo backend through the real service, with the CPU stand-in for the NPU (hailo.device_emulation:
cpu-stand-in, builds without HailoRT only). The stand-in emulates each HEF's contract with the CPU towers, so the
service's hailo path must give the CPU backend's embeddings; it is always reported as hailo-emulated."""

import os
import pathlib
import subprocess
import time

import pytest
import requests

from conftest import CLI, TINY, Service, fixture_image_b64, golden, tiny_config

G = golden()
TOOL = os.environ.get("HCLIP_MAKE_HAILO_SUPPORT_FILES",
                      str(pathlib.Path(CLI).resolve().parents[1] / "tools" / "make_hailo_support_files"))
IMAGES = ["franz-kafka.jpg", "CLIP.png", "odd_223x331.png", "gray.jpg"]
TEXTS = ["a photo of a cat", "empty shelf", "hi !$ there", "a photo of the number: \"4\"."]


@pytest.fixture(scope="module")
def hailo_resources(tmp_path_factory):
    out = tmp_path_factory.mktemp("hailo-resources")
    subprocess.run([TOOL, "--model-dir", str(TINY), "--out", str(out), "--stand-in-hefs"], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def hailo_config(res, **hailo):
    section = {
        "image_hef": str(res / "clip_image_encoder.stand-in.hef"),
        "text_hef": str(res / "clip_text_encoder.stand-in.hef"),
        "token_embedding_lut": str(res / "token_embedding_lut.npy"),
        "text_projection": str(res / "text_projection.npy"),
        "device_emulation": "cpu-stand-in",
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
    npu = start_service(hailo_config(hailo_resources))
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
    service = start_service(hailo_config(hailo_resources, text_encoder="cpu"))
    assert requests.get(service.url + "/health", timeout=10).json()["backend"] == "hailo-emulated+cpu-text"
    assert embed(service, "text", "empty shelf")


def test_busy_device_falls_back_to_cpu_when_configured(start_service, hailo_resources, monkeypatch):
    monkeypatch.setenv("HAILO_CLIP_STAND_IN_FAULT", "open:74")
    service = start_service(hailo_config(hailo_resources, on_unavailable="cpu"))
    health = requests.get(service.url + "/health", timeout=10).json()
    assert health["backend"] == "cpu" and health["status"] == "healthy", health
    assert "HAILO_OUT_OF_PHYSICAL_DEVICES (74)" in service.log()
    assert "the CPU serves" in service.log()
    assert "backend cpu" in service.log()


def test_busy_device_fails_by_default(tmp_path, hailo_resources, monkeypatch):
    monkeypatch.setenv("HAILO_CLIP_STAND_IN_FAULT", "open:74")
    service = Service(hailo_config(hailo_resources), tmp_path)
    code = service.proc.wait(60)
    service._reader.join(5)
    assert code != 0 and service.port is None, service.log()
    assert "HAILO_OUT_OF_PHYSICAL_DEVICES (74)" in service.log()
    assert "group_id" in service.log()


def test_missing_hef_fails_even_with_cpu_fallback(tmp_path, hailo_resources):
    config = hailo_config(hailo_resources, on_unavailable="cpu", image_hef=str(tmp_path / "nope.hef"))
    service = Service(config, tmp_path)
    code = service.proc.wait(60)
    service._reader.join(5)
    assert code != 0 and service.port is None, service.log()
    assert "HAILO_OPEN_FILE_FAILURE (13)" in service.log() and "nope.hef" in service.log()


def test_lost_device_gives_503_then_recovers(start_service, hailo_resources, monkeypatch):
    # The warm-up runs the image and the text model twice each (two pictures, two prompts); the next run loses
    # the device.
    monkeypatch.setenv("HAILO_CLIP_STAND_IN_FAULT", "run:62:4:1")
    service = start_service(hailo_config(hailo_resources))
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
    assert requests.get(service.url + "/health", timeout=10).json()["status"] == "healthy"
    assert "Hailo device lost" in service.log() and "reinitialized" in service.log()
    assert service.proc.poll() is None
