"""Every endpoint and field of the API specification, against the oracle outputs of the fixture model."""

import math

import pytest
import requests

from conftest import fixture_image_b64, golden

G = golden()


def softmax(xs, scale=100.0):
    m = max(xs)
    e = [math.exp(scale * (x - m)) for x in xs]
    s = sum(e)
    return [v / s for v in e]


def test_health_reports_a_real_loaded_model(tiny_service):
    r = requests.get(tiny_service.url + "/health", timeout=10)
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "healthy"
    assert h["service"] == "hailo-clip"
    assert h["model_loaded"] is True
    assert h["model"] == "clip-vit-b-32"
    assert h["backend"] == "cpu"
    assert h["embedding_dimension"] == 48
    assert h["inferences"] >= 1  # the warm-up ran a real inference before the service listened
    assert isinstance(h["version"], str) and isinstance(h["uptime_seconds"], (int, float))


@pytest.mark.parametrize("image_index", [0, 9, 10, 16])  # CLIP.png, exif jpg, franz-kafka.jpg, webp
def test_classify_scores_equal_golden_probabilities(tiny_service, image_index):
    # All fixture texts except the empty one (an empty prompt is a 400 here): softmax over them from the oracle cosine.
    texts = G["texts"][1:]
    cos = G["cosine"][image_index][1:]
    want = softmax(cos)
    r = tiny_service.post("/v1/classify", {"image": fixture_image_b64(G["images"][image_index]), "prompts": texts,
                                           "top_k": len(texts)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "clip-vit-b-32"
    assert isinstance(body["inference_time_ms"], (int, float)) and body["inference_time_ms"] >= 0
    got = body["classifications"]
    assert len(got) == len(texts)
    assert [c["rank"] for c in got] == list(range(1, len(texts) + 1))
    assert all(a["score"] >= b["score"] for a, b in zip(got, got[1:]))
    # Duplicate prompts ("a photo of a cat" twice) each keep their own entry.
    by_text = {}
    for c in got:
        by_text.setdefault(c["text"], []).append(c)
    for i, t in enumerate(texts):
        match = by_text[t].pop(0)
        assert abs(match["score"] - want[i]) < 1e-3, (t, match["score"], want[i])
        assert abs(match["similarity"] - cos[i]) < 5e-5, (t, match["similarity"], cos[i])


def test_classify_defaults_top_k_threshold_and_bare_base64(tiny_service):
    prompts = ["a diagram", "a dog", "a cat", "a photo of a cat", "empty shelf"]
    r = tiny_service.post("/v1/classify", {"image": fixture_image_b64("CLIP.png", data_uri=False), "prompts": prompts})
    assert r.status_code == 200, r.text
    assert len(r.json()["classifications"]) == 3  # default top_k
    r = tiny_service.post("/v1/classify", {"image": fixture_image_b64("CLIP.png"), "prompts": prompts[:2], "top_k": 10})
    assert len(r.json()["classifications"]) == 2  # capped at the number of prompts
    full = tiny_service.post("/v1/classify", {"image": fixture_image_b64("CLIP.png"), "prompts": prompts,
                                              "top_k": 5}).json()["classifications"]
    cut = sorted(c["score"] for c in full)[2]
    r = tiny_service.post("/v1/classify", {"image": fixture_image_b64("CLIP.png"), "prompts": prompts, "top_k": 5,
                                           "threshold": cut})
    kept = r.json()["classifications"]
    assert kept and all(c["score"] >= cut for c in kept)
    assert len(kept) == sum(1 for c in full if c["score"] >= cut)


def test_embed_image_and_text_equal_golden(tiny_service):
    r = tiny_service.post("/v1/embed/image", {"image": fixture_image_b64("franz-kafka.jpg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dimension"] == 48 and body["model"] == "clip-vit-b-32"
    want = G["image_embeds_normalized"][G["images"].index("franz-kafka.jpg")]
    assert max(abs(a - b) for a, b in zip(body["embedding"], want)) < 5e-5
    assert abs(sum(v * v for v in body["embedding"]) - 1.0) < 1e-5

    r = tiny_service.post("/v1/embed/text", {"text": "a photo of a cat"})
    assert r.status_code == 200, r.text
    want = G["text_embeds_normalized"][G["texts"].index("a photo of a cat")]
    assert max(abs(a - b) for a, b in zip(r.json()["embedding"], want)) < 5e-5


def test_repeated_prompts_come_from_the_cache(tiny_service):
    prompts = ["a photo of a parking lot.", "a photo of the shower."]
    body = {"image": fixture_image_b64("coffee.png"), "prompts": prompts}
    first = tiny_service.post("/v1/classify", body).json()
    hits_before = requests.get(tiny_service.url + "/health", timeout=10).json()["text_cache_hits"]
    second = tiny_service.post("/v1/classify", body).json()
    hits_after = requests.get(tiny_service.url + "/health", timeout=10).json()["text_cache_hits"]
    assert hits_after - hits_before == 2
    assert first["classifications"] == second["classifications"]


def test_truncated_prompt_is_reported(tiny_service):
    long_prompt = "a photo of a cat " * 30
    r = tiny_service.post("/v1/classify", {"image": fixture_image_b64("chelsea.png"), "prompts": [long_prompt, "a dog"]})
    assert r.status_code == 200
    assert any("truncated" in w for w in r.json()["warnings"])
    r = tiny_service.post("/v1/embed/text", {"text": long_prompt})
    assert any("truncated" in w for w in r.json()["warnings"])


def test_parallel_requests_get_their_own_answers(tiny_service):
    from concurrent.futures import ThreadPoolExecutor

    names = ["CLIP.png", "chelsea.png", "horse.png", "rocket.jpg", "coffee.png", "page.png"]
    sequential = {n: tiny_service.post("/v1/embed/image", {"image": fixture_image_b64(n)}).json()["embedding"]
                  for n in names}
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda n: (n, tiny_service.post("/v1/embed/image", {"image": fixture_image_b64(n)})),
                                names * 3))
    for name, r in results:
        assert r.status_code == 200
        # Batched with other requests or not, a picture gets the same embedding (float32 summation order may
        # differ with the batch size, hence not bit-exact).
        assert max(abs(a - b) for a, b in zip(r.json()["embedding"], sequential[name])) < 1e-5, name
