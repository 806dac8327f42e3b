"""ResNet CLIP over HTTP: the tiny ResNet fixture against its oracle, and the user's seed configuration
(clip-resnet-50x4, 640-dimension embeddings) on a full-size random-weight RN50x4."""

import math
import subprocess

import pytest

from conftest import FIXTURES, MAKE_RANDOM_MODEL, Service, fixture_image_b64, golden, tiny_config

G = golden("tiny-openai-resnet")
RESNET = FIXTURES / "models" / "tiny-openai-resnet"


def softmax(xs, scale=100.0):
    m = max(xs)
    e = [math.exp(scale * (x - m)) for x in xs]
    s = sum(e)
    return [v / s for v in e]


@pytest.fixture(scope="module")
def resnet_service(tmp_path_factory):
    config = tiny_config(clip={"model": "tiny-resnet", "model_dir": str(RESNET), "embedding_dimension": 48,
                               "image_size": 96})
    service = Service(config, tmp_path_factory.mktemp("resnet")).wait_ready()
    yield service
    assert service.stop() == 0, service.log()


@pytest.mark.parametrize("name", ["CLIP.png", "chelsea.png", "franz-kafka.jpg", "gray_L.png"])
def test_resnet_classify_equals_golden_probabilities(resnet_service, name):
    i = G["images"].index(name)
    texts = G["texts"][1:]  # an empty prompt is a 400 here
    want = softmax(G["cosine"][i][1:])
    r = resnet_service.post("/v1/classify", {"image": fixture_image_b64(name), "prompts": texts, "top_k": len(texts)})
    assert r.status_code == 200, r.text
    got = {c["text"]: c["score"] for c in r.json()["classifications"]}
    for text, p in zip(texts, want):
        assert abs(got[text] - p) < 1e-3, (text, got[text], p)


def test_resnet_embeddings_equal_golden(resnet_service):
    r = resnet_service.post("/v1/embed/image", {"image": fixture_image_b64("rocket.jpg")})
    assert r.status_code == 200, r.text
    assert r.json()["dimension"] == 48 and r.json()["model"] == "tiny-resnet"
    want = G["image_embeds_normalized"][G["images"].index("rocket.jpg")]
    assert max(abs(a - b) for a, b in zip(r.json()["embedding"], want)) < 5e-5
    r = resnet_service.post("/v1/embed/text", {"text": "a photo of a cat"})
    want = G["text_embeds_normalized"][G["texts"].index("a photo of a cat")]
    assert max(abs(a - b) for a, b in zip(r.json()["embedding"], want)) < 5e-5


@pytest.fixture(scope="module")
def rn50x4_dir(tmp_path_factory):
    """A full-size random-weight RN50x4 (288 px, 640-dimension embeddings): the model the seed configuration names."""
    out = tmp_path_factory.mktemp("rn50x4")
    subprocess.run([MAKE_RANDOM_MODEL, "--preset", "rn50x4", "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def seed_config(model_dir, **clip):
    # The seed's configuration as written, with the address made local and the model directory given.
    config = {"server": {"host": "127.0.0.1", "port": 0, "debug": False},
              "clip": {"model": "clip-resnet-50x4", "model_dir": str(model_dir), "embedding_dimension": 640,
                       "device": 0, "batch_size": 1},
              "performance": {"worker_threads": 2, "request_timeout": 30}}
    config["clip"].update(clip)
    return config


def test_seed_configuration_serves_rn50x4(rn50x4_dir, tmp_path):
    service = Service(seed_config(rn50x4_dir), tmp_path).wait_ready(timeout=300)
    try:
        r = service.post("/v1/classify", {"image": fixture_image_b64("chelsea.png"),
                                          "prompts": ["empty shelf", "stocked shelf"], "top_k": 1})
        assert r.status_code == 200, r.text
        assert r.json()["model"] == "clip-resnet-50x4"
        r = service.post("/v1/embed/image", {"image": fixture_image_b64("coffee.png")})
        assert r.json()["dimension"] == 640
        assert abs(sum(v * v for v in r.json()["embedding"]) - 1.0) < 1e-5
    finally:
        assert service.stop() == 0, service.log()


def test_seed_image_size_224_is_refused_naming_288(rn50x4_dir, tmp_path):
    service = Service(seed_config(rn50x4_dir, image_size=224), tmp_path)
    code = service.proc.wait(300)
    service._reader.join(5)
    assert code == 1, service.log()
    assert service.port is None
    assert "clip.image_size is 224" in service.log() and "288" in service.log(), service.log()
