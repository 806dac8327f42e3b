"""MobileCLIP over HTTP: the tiny MobileCLIP2-S0 fixture (FastViT image tower, non-causal text tower) served by the
real binary. Texts against the oracle; images only for shape and norm, since the fixture's images need MobileCLIP's
own (bilinear, unnormalized) preprocessing to match its oracle."""

import requests
import pytest

from conftest import FIXTURES, Service, fixture_image_b64, golden, tiny_config

G = golden("tiny-mobileclip2-s0")
MOBILECLIP = FIXTURES / "models" / "tiny-mobileclip2-s0"


@pytest.fixture(scope="module")
def mobileclip_service(tmp_path_factory):
    config = tiny_config(clip={"model": "tiny-mobileclip", "model_dir": str(MOBILECLIP), "embedding_dimension": 48,
                               "image_size": 256})
    service = Service(config, tmp_path_factory.mktemp("mobileclip")).wait_ready()
    yield service
    assert service.stop() == 0, service.log()


def test_text_embeddings_equal_golden(mobileclip_service):
    for i, text in enumerate(G["texts"]):
        r = mobileclip_service.post("/v1/embed/text", {"text": text})
        assert r.status_code == 200, r.text
        assert r.json()["dimension"] == 48 and r.json()["model"] == "tiny-mobileclip"
        want = G["text_embeds_normalized"][i]
        assert max(abs(a - b) for a, b in zip(r.json()["embedding"], want)) < 5e-5, text


def test_health_reports_the_model(mobileclip_service):
    h = requests.get(mobileclip_service.url + "/health", timeout=10).json()
    assert h["status"] == "healthy" and h["model_loaded"] is True, h
    assert h["model"] == "tiny-mobileclip", h
    assert h["inferences"] >= 1  # the warm-up ran both towers


def test_image_embedding_has_the_model_dimension(mobileclip_service):
    r = mobileclip_service.post("/v1/embed/image", {"image": fixture_image_b64("chelsea.png")})
    assert r.status_code == 200, r.text
    assert r.json()["dimension"] == 48
    assert abs(sum(v * v for v in r.json()["embedding"]) - 1.0) < 1e-5
