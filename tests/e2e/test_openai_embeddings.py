"""POST /v1/embeddings in OpenAI's shape: every input form, float and base64, usage, the model check, and every
error with the index of the offending item. Embeddings equal those of /v1/embed/* and the fixture oracle."""

import base64
import struct

import pytest

from conftest import fixture_image_b64, golden

G = golden()


def close(a, b, tol=5e-5):
    return len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) < tol


def decode_b64_floats(text):
    raw = base64.b64decode(text)
    return list(struct.unpack("<" + "f" * (len(raw) // 4), raw))


def test_string_input_equals_embed_text_and_the_oracle(tiny_service):
    r = tiny_service.post("/v1/embeddings", {"model": "clip-vit-b-32", "input": "a photo of a cat"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and body["model"] == "clip-vit-b-32"
    assert len(body["data"]) == 1
    item = body["data"][0]
    assert item["object"] == "embedding" and item["index"] == 0
    want = G["text_embeds_normalized"][G["texts"].index("a photo of a cat")]
    assert close(item["embedding"], want)
    seed = tiny_service.post("/v1/embed/text", {"text": "a photo of a cat"}).json()["embedding"]
    assert close(item["embedding"], seed, 1e-6)
    # "a photo of a cat" is 5 BPE tokens plus the start and end tokens.
    assert body["usage"] == {"prompt_tokens": 7, "total_tokens": 7}


def test_every_item_form_in_one_request_keeps_order(tiny_service):
    kafka = fixture_image_b64("franz-kafka.jpg")
    chelsea_bare = fixture_image_b64("chelsea.png", data_uri=False)
    inputs = [
        "a photo of a cat",
        {"text": "a dog"},
        {"image": kafka},
        {"image": chelsea_bare},
        {"type": "image_url", "image_url": {"url": kafka}},
        {"type": "text", "text": "a diagram"},
    ]
    r = tiny_service.post("/v1/embeddings", {"input": inputs})  # model omitted: the served one
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["index"] for d in data] == list(range(len(inputs)))
    texts = {t: tiny_service.post("/v1/embed/text", {"text": t}).json()["embedding"]
             for t in ("a photo of a cat", "a dog", "a diagram")}
    kafka_seed = tiny_service.post("/v1/embed/image", {"image": kafka}).json()["embedding"]
    chelsea_seed = tiny_service.post("/v1/embed/image", {"image": chelsea_bare}).json()["embedding"]
    assert close(data[0]["embedding"], texts["a photo of a cat"], 1e-6)
    assert close(data[1]["embedding"], texts["a dog"], 1e-6)
    # Pictures in one batch may be summed in another order than one alone (float32), hence 1e-5, not bit-exact.
    assert close(data[2]["embedding"], kafka_seed, 1e-5)
    assert close(data[3]["embedding"], chelsea_seed, 1e-5)
    assert close(data[4]["embedding"], kafka_seed, 1e-5)
    assert close(data[5]["embedding"], texts["a diagram"], 1e-6)
    assert close(data[2]["embedding"], G["image_embeds_normalized"][G["images"].index("franz-kafka.jpg")])
    assert close(data[3]["embedding"], G["image_embeds_normalized"][G["images"].index("chelsea.png")])
    # Images cost no tokens; the three texts do.
    assert r.json()["usage"]["prompt_tokens"] == 7 + 4 + 4


def test_base64_encoding_is_little_endian_float32(tiny_service):
    inputs = ["a photo of a cat", {"image": fixture_image_b64("CLIP.png")}]
    floats = tiny_service.post("/v1/embeddings", {"input": inputs, "encoding_format": "float"}).json()["data"]
    packed = tiny_service.post("/v1/embeddings", {"input": inputs, "encoding_format": "base64"})
    assert packed.status_code == 200, packed.text
    for f, b in zip(floats, packed.json()["data"]):
        assert isinstance(b["embedding"], str)
        values = decode_b64_floats(b["embedding"])
        assert len(values) == 48
        # The float form prints each float32 exactly (shortest round trip), so both forms are the same numbers.
        assert values == [struct.unpack("<f", struct.pack("<f", v))[0] for v in f["embedding"]]
        assert abs(sum(v * v for v in values) - 1.0) < 1e-5


def test_another_model_name_is_404_naming_the_served_model(tiny_service):
    r = tiny_service.post("/v1/embeddings", {"model": "text-embedding-3-small", "input": "a cat"})
    assert r.status_code == 404
    assert "clip-vit-b-32" in r.json()["error"] and "text-embedding-3-small" in r.json()["error"]


@pytest.mark.parametrize("body,status,needle", [
    ({}, 400, "missing required field 'input'"),
    ({"input": []}, 400, "'input' must contain at least one item"),
    ({"input": ""}, 400, "input[0] must not be empty"),
    ({"input": ["a cat", ""]}, 400, "input[1] must not be empty"),
    ({"input": 42}, 400, "'input' must be a string or an array"),
    ({"input": ["a", [1, 2, 3]]}, 400, "input[1] must be a string or an object"),
    ({"input": ["a", 7]}, 400, "input[1] must be a string or an object"),
    ({"input": ["a", {"type": "audio", "audio": "x"}]}, 400, "input[1] has unknown type 'audio'"),
    ({"input": [{"foo": 1}]}, 400, "input[0] is an object without"),
    ({"input": [{"text": 5}]}, 400, "input[0]: 'text' must be a string"),
    ({"input": ["a", "b", {"image": "not base64!"}]}, 400, "input[2]: 'image' is not valid base64"),
    ({"input": ["a", {"image": base64.b64encode(b"not a picture at all").decode()}]}, 400, "input[1]:"),
    ({"input": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}, 400,
     "input[0]: the service does not fetch URLs"),
    ({"input": [{"type": "image_url", "image_url": 5}]}, 400, "input[0]: 'image_url' must be"),
    ({"input": "a", "encoding_format": "int8"}, 400, "'encoding_format' must be"),
    ({"input": "a", "model": 5}, 400, "'model' must be a string"),
    ({"input": ["x"] * 65}, 413, "limits.max_batch_items"),
    ({"input": "x" * 4097}, 413, "input[0] is 4097 bytes"),
])
def test_errors_name_the_offending_item(tiny_service, body, status, needle):
    r = tiny_service.post("/v1/embeddings", body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"], r.json()["error"]


def test_wrong_method_and_content_type(tiny_service):
    import requests

    r = requests.get(tiny_service.url + "/v1/embeddings", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = requests.post(tiny_service.url + "/v1/embeddings", data="input=a", timeout=10,
                      headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
