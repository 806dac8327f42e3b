"""MobileCLIP over HTTP: the tiny MobileCLIP2-S0 fixture (FastViT image tower, non-causal text tower) served by the
real binary. Texts and pictures against the oracle: the pictures go through the service's own decoder and
MobileCLIP's preprocessing from preprocess_cfg (Pillow bilinear, mean 0, std 1); then a classification."""

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


def test_image_embeddings_equal_golden(mobileclip_service):
    for i, name in enumerate(G["images"]):
        r = mobileclip_service.post("/v1/embed/image", {"image": fixture_image_b64(name)})
        assert r.status_code == 200, r.text
        assert r.json()["dimension"] == 48
        want = G["image_embeds_normalized"][i]
        assert max(abs(a - b) for a, b in zip(r.json()["embedding"], want)) < 5e-5, name


def test_classification_equals_golden_probabilities(mobileclip_service):
    for i, name in enumerate(G["images"]):
        r = mobileclip_service.post("/v1/classify", {"image": fixture_image_b64(name), "prompts": G["texts"],
                                                      "top_k": len(G["texts"])})
        assert r.status_code == 200, r.text
        got = {c["text"]: c["score"] for c in r.json()["classifications"]}
        for t, text in enumerate(G["texts"]):
            assert abs(got[text] - G["probs_scale100"][i][t]) < 1e-3, (name, text)
