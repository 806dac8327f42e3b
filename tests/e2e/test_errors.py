"""Every error of the API: the exact status code and a JSON {"error": "..."} a user can act on."""

import base64

import pytest
import requests

from conftest import FIXTURES, fixture_image_b64, tiny_config

GOOD_IMAGE = fixture_image_b64("CLIP.png")
TRUNCATED_JPEG = base64.b64encode((FIXTURES / "images" / "rocket.jpg").read_bytes()[:3000]).decode()
NOT_AN_IMAGE = base64.b64encode(b"this is plain text, not a picture").decode()

CASES = [
    # (name, path, body, expected status, words the message must contain)
    ("missing image", "/v1/classify", {"prompts": ["a"]}, 400, "image"),
    ("image not a string", "/v1/classify", {"image": 42, "prompts": ["a"]}, 400, "image"),
    ("missing prompts", "/v1/classify", {"image": GOOD_IMAGE}, 400, "prompts"),
    ("prompts not an array", "/v1/classify", {"image": GOOD_IMAGE, "prompts": "a cat"}, 400, "prompts"),
    ("empty prompts", "/v1/classify", {"image": GOOD_IMAGE, "prompts": []}, 400, "prompts"),
    ("non-string prompt", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a", 3]}, 400, "prompt 2"),
    ("empty prompt", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a", ""]}, 400, "prompt 2"),
    ("bad base64", "/v1/classify", {"image": "not*base64", "prompts": ["a"]}, 400, "base64"),
    ("truncated base64", "/v1/classify", {"image": "QUJD=", "prompts": ["a"]}, 400, "base64"),
    ("data uri not base64", "/v1/classify", {"image": "data:image/png,abc", "prompts": ["a"]}, 400, "base64"),
    ("undecodable image", "/v1/classify", {"image": NOT_AN_IMAGE, "prompts": ["a"]}, 400, "format"),
    ("truncated jpeg", "/v1/classify", {"image": TRUNCATED_JPEG, "prompts": ["a"]}, 400, "truncated"),
    ("top_k zero", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "top_k": 0}, 400, "top_k"),
    ("top_k negative", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "top_k": -2}, 400, "top_k"),
    ("top_k fraction", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "top_k": 2.5}, 400, "top_k"),
    ("top_k string", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "top_k": "3"}, 400, "top_k"),
    ("top_k boolean", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "top_k": True}, 400, "top_k"),
    ("threshold above 1", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "threshold": 1.5}, 400, "threshold"),
    ("threshold negative", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "threshold": -0.1}, 400,
     "threshold"),
    ("threshold string", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a"], "threshold": "0.3"}, 400,
     "threshold"),
    ("too many prompts", "/v1/classify", {"image": GOOD_IMAGE, "prompts": ["p%d" % i for i in range(65)]}, 413,
     "limit"),
    ("embed image missing", "/v1/embed/image", {}, 400, "image"),
    ("embed image garbage", "/v1/embed/image", {"image": NOT_AN_IMAGE}, 400, "format"),
    ("embed text missing", "/v1/embed/text", {}, 400, "text"),
    ("embed text not string", "/v1/embed/text", {"text": ["a"]}, 400, "text"),
    ("embed text empty", "/v1/embed/text", {"text": ""}, 400, "empty"),
]


@pytest.mark.parametrize("name,path,body,status,words", CASES, ids=[c[0] for c in CASES])
def test_bad_request(tiny_service, name, path, body, status, words):
    r = tiny_service.post(path, body)
    assert r.status_code == status, (name, r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    message = r.json()["error"]
    assert isinstance(message, str) and words.lower() in message.lower(), (name, message)


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", "\"just a string\"", ""])
def test_malformed_json(tiny_service, raw):
    r = requests.post(tiny_service.url + "/v1/classify", data=raw, headers={"Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 400
    assert "JSON" in r.json()["error"]


def test_wrong_content_type(tiny_service):
    r = requests.post(tiny_service.url + "/v1/embed/text", data='{"text": "a"}', headers={"Content-Type": "text/plain"},
                      timeout=10)
    assert r.status_code == 415
    assert "application/json" in r.json()["error"]


def test_unknown_route_and_wrong_method(tiny_service):
    r = requests.get(tiny_service.url + "/v2/classify", timeout=10)
    assert r.status_code == 404 and "/v2/classify" in r.json()["error"]
    r = requests.get(tiny_service.url + "/v1/classify", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and "error" in r.json()
    r = requests.delete(tiny_service.url + "/health", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


def test_service_still_answers_correctly_after_bad_requests(tiny_service):
    r = tiny_service.post("/v1/classify", {"image": GOOD_IMAGE, "prompts": ["a diagram", "a dog"]})
    assert r.status_code == 200 and len(r.json()["classifications"]) == 2


def test_limits_body_pixels(start_service):
    service = start_service(tiny_config(limits={"max_body_bytes": 200000, "max_image_pixels": 250000}))
    big = {"image": fixture_image_b64("CLIP.png"), "prompts": ["a"]}  # about 340 kB of base64
    r = service.post("/v1/classify", big)
    assert r.status_code == 413 and "error" in r.json()
    # rocket.jpg is 640x427 = 273,280 pixels: refused from its header, before decoding.
    r = service.post("/v1/embed/image", {"image": fixture_image_b64("rocket.jpg")})
    assert r.status_code == 413, r.text
    assert "pixels" in r.json()["error"]
    r = service.post("/v1/embed/image", {"image": fixture_image_b64("tiny_1x1.png")})
    assert r.status_code == 200
