"""multipart/form-data uploads and {"images": [...]} batches on /v1/classify and /v1/embed/image: the same answers
as the JSON form of one picture, and every error with the index of the offending picture."""

import base64

import pytest
import requests

from conftest import FIXTURES, fixture_image_b64, golden

G = golden()
PROMPTS = ["a photo of a cat", "a dog", "a diagram", "a photo of a man"]


def close(a, b, tol=5e-5):
    return len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) < tol


def same_classifications(a, b, tol=1e-5):
    assert [c["text"] for c in a] == [c["text"] for c in b]
    assert [c["rank"] for c in a] == [c["rank"] for c in b]
    for x, y in zip(a, b):
        assert abs(x["score"] - y["score"]) < tol and abs(x["similarity"] - y["similarity"]) < tol


def upload(service, path, files, data=None):
    return requests.post(service.url + path, files=files, data=data, timeout=60)


def test_classify_upload_equals_json(tiny_service):
    raw = (FIXTURES / "images" / "franz-kafka.jpg").read_bytes()
    r = upload(tiny_service, "/v1/classify", {"image": ("photo.jpg", raw, "image/jpeg")},
               {"prompts": PROMPTS, "top_k": "4", "threshold": "0"})
    assert r.status_code == 200, r.text
    json_form = tiny_service.post("/v1/classify", {"image": fixture_image_b64("franz-kafka.jpg"), "prompts": PROMPTS,
                                                   "top_k": 4, "threshold": 0}).json()
    body = r.json()
    assert set(body) == set(json_form)
    assert body["model"] == "clip-vit-b-32"
    assert body["classifications"] == json_form["classifications"]
    # The defaults apply as in JSON: top_k 3.
    r = upload(tiny_service, "/v1/classify", {"image": ("photo.jpg", raw)}, {"prompts": PROMPTS})
    assert len(r.json()["classifications"]) == 3


def test_embed_image_upload_equals_json_and_the_oracle(tiny_service):
    raw = (FIXTURES / "images" / "chelsea.png").read_bytes()
    r = upload(tiny_service, "/v1/embed/image", {"image": ("chelsea.png", raw, "image/png")})
    assert r.status_code == 200, r.text
    want = G["image_embeds_normalized"][G["images"].index("chelsea.png")]
    assert close(r.json()["embedding"], want)
    assert r.json()["embedding"] == tiny_service.post("/v1/embed/image",
                                                      {"image": fixture_image_b64("chelsea.png")}).json()["embedding"]


@pytest.mark.parametrize("path,files,data,status,needle", [
    ("/v1/classify", {"image": ("x.jpg", b"not a picture")}, {"prompts": ["a"]}, 400, ""),
    ("/v1/classify", {"image": ("x.png", b"")}, {"prompts": ["a"]}, 400, ""),
    ("/v1/classify", {"other": ("x", b"1")}, {"prompts": ["a"]}, 400, "unknown form field 'other'"),
    ("/v1/classify", None, {"prompts": ["a"], "top_k": "1"}, 400, "missing required field 'image'"),
    ("/v1/classify", "PICTURE", {"top_k": "1"}, 400, "missing required field 'prompts'"),
    ("/v1/classify", "PICTURE", {"prompts": ["a"], "top_k": "many"}, 400, "'top_k' must be a whole number"),
    ("/v1/classify", "PICTURE", {"prompts": ["a"], "top_k": "0"}, 400, "'top_k' must be at least 1"),
    ("/v1/classify", "PICTURE", {"prompts": ["a"], "threshold": "2"}, 400, "'threshold' must be between 0 and 1"),
    ("/v1/classify", "PICTURE", {"prompts": [""]}, 400, "prompt 1 must not be empty"),
    ("/v1/embed/image", {"prompts": ("p", b"a")}, None, 400, "missing required field 'image'"),
])
def test_upload_errors(tiny_service, path, files, data, status, needle):
    if files == "PICTURE":
        files = {"image": ("p.png", (FIXTURES / "images" / "CLIP.png").read_bytes())}
    if files is None:
        files = {"prompts": (None, "a")}
        data = {k: v for k, v in data.items() if k != "prompts"}
    r = upload(tiny_service, path, files, data)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_embed_image_batch_equals_single_requests(tiny_service):
    names = ["CLIP.png", "franz-kafka.jpg", "chelsea.png"]
    r = tiny_service.post("/v1/embed/image", {"images": [fixture_image_b64(n) for n in names]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dimension"] == 48 and body["model"] == "clip-vit-b-32"
    assert len(body["embeddings"]) == 3
    for name, row in zip(names, body["embeddings"]):
        assert close(row, G["image_embeds_normalized"][G["images"].index(name)])
        single = tiny_service.post("/v1/embed/image", {"image": fixture_image_b64(name)}).json()["embedding"]
        assert close(row, single, 1e-5)  # float32 sums may differ in order within a batch


def test_classify_batch_equals_single_requests(tiny_service):
    names = ["CLIP.png", "franz-kafka.jpg", "chelsea.png"]
    r = tiny_service.post("/v1/classify", {"images": [fixture_image_b64(n) for n in names], "prompts": PROMPTS,
                                           "top_k": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"results", "inference_time_ms", "model"}
    assert len(body["results"]) == 3
    for name, result in zip(names, body["results"]):
        assert set(result) == {"classifications"}
        single = tiny_service.post("/v1/classify", {"image": fixture_image_b64(name), "prompts": PROMPTS,
                                                    "top_k": 4}).json()
        same_classifications(result["classifications"], single["classifications"])


def test_batch_upload_with_several_image_parts(tiny_service):
    files = [("image", (n, (FIXTURES / "images" / n).read_bytes())) for n in ("CLIP.png", "horse.png")]
    r = requests.post(tiny_service.url + "/v1/classify", files=files + [("prompts", (None, p)) for p in PROMPTS],
                      timeout=60)
    assert r.status_code == 200, r.text
    assert len(r.json()["results"]) == 2


def test_batches_go_through_the_towers_together(tiny_service):
    # One request of five pictures is one inference of the pool (the counter in /health counts tower passes).
    before = requests.get(tiny_service.url + "/health", timeout=10).json()["inferences"]
    r = tiny_service.post("/v1/embed/image", {"images": [fixture_image_b64("CLIP.png")] * 5})
    assert r.status_code == 200
    after = requests.get(tiny_service.url + "/health", timeout=10).json()["inferences"]
    assert after - before == 1


@pytest.mark.parametrize("path,body,status,needle", [
    ("/v1/embed/image", {"images": []}, 400, "'images' must contain at least one item"),
    ("/v1/embed/image", {"images": "abc"}, 400, "'images' must be an array"),
    ("/v1/embed/image", {"images": ["OK", 5]}, 400, "images[1] must be a string"),
    ("/v1/embed/image", {"images": ["OK", "%%%"]}, 400, "images[1]: 'image' is not valid base64"),
    ("/v1/embed/image", {"images": ["OK", base64.b64encode(b"garbage bytes").decode()]}, 400, "images[1]:"),
    ("/v1/embed/image", {"images": ["OK"], "image": "OK"}, 400, "not both"),
    ("/v1/embed/image", {"images": ["OK"] * 65}, 413, "limits.max_batch_items"),
    ("/v1/classify", {"images": ["OK"]}, 400, "missing required field 'prompts'"),
    ("/v1/classify", {"images": ["OK", "OK", "!!"], "prompts": ["a"]}, 400, "images[2]:"),
    ("/v1/classify", {"images": [], "prompts": ["a"]}, 400, "'images' must contain at least one item"),
    ("/v1/classify", {"images": ["OK"], "prompts": ["a"], "top_k": 0}, 400, "'top_k' must be at least 1"),
])
def test_batch_errors(tiny_service, path, body, status, needle):
    ok = fixture_image_b64("CLIP.png")
    for key in ("images",):
        if isinstance(body.get(key), list):
            body = dict(body, **{key: [ok if v == "OK" else v for v in body[key]]})
    if body.get("image") == "OK":
        body = dict(body, image=ok)
    r = tiny_service.post(path, body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"], r.json()["error"]
