"""GET /openapi.json: an OpenAPI 3.1 document of every endpoint, kept true by validating real answers of every
operation against it, and kept in step with docs/api.md (every path, method and field named there)."""

import base64
import re

import jsonschema
import pytest
import requests

from conftest import SOURCE_DIR, fixture_image_b64, tiny_config

API_MD = (SOURCE_DIR / "docs" / "api.md").read_text()


@pytest.fixture(scope="module")
def doc(tiny_service):
    r = requests.get(tiny_service.url + "/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    return r.json()


def schema_for(doc, path, method, status, media="application/json"):
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    content = responses[str(status)].get("content", {})
    assert media in content, (path, method, status, media)
    return content[media]["schema"]


def check(doc, r, path, method, checked):
    media = r.headers["Content-Type"].split(";")[0]
    schema = schema_for(doc, path, method, r.status_code, media)
    if media == "application/json":
        resolver = jsonschema.RefResolver.from_schema(doc)
        jsonschema.Draft202012Validator(schema, resolver=resolver).validate(r.json())
    checked.add((path, method, str(r.status_code)))


def test_document_is_openapi_3_1_with_the_service_version(tiny_service, doc):
    assert doc["openapi"].startswith("3.1")
    health = requests.get(tiny_service.url + "/health", timeout=10).json()
    assert doc["info"]["version"] == health["version"]
    jsonschema.Draft202012Validator.check_schema({"$defs": doc["components"]["schemas"]})


def test_real_answers_of_every_operation_match_the_document(tiny_service, doc):
    url = tiny_service.url
    image = fixture_image_b64("CLIP.png")
    checked = set()
    get = lambda p: requests.get(url + p, timeout=30)
    post = lambda p, body: requests.post(url + p, json=body, timeout=60)

    check(doc, get("/health"), "/health", "get", checked)
    check(doc, get("/health/live"), "/health/live", "get", checked)
    check(doc, get("/health/ready"), "/health/ready", "get", checked)
    check(doc, post("/v1/classify", {"image": image, "prompts": ["a cat", "a dog"]}), "/v1/classify", "post", checked)
    check(doc, post("/v1/classify", {"image": image, "prompts": ["a cat " * 40]}), "/v1/classify", "post", checked)
    check(doc, post("/v1/classify", {"images": [image, image], "prompts": ["a"]}), "/v1/classify", "post", checked)
    check(doc, post("/v1/classify", {"image": image}), "/v1/classify", "post", checked)
    check(doc, post("/v1/classify", {"image": image, "prompt_set": "none"}), "/v1/classify", "post", checked)
    check(doc, post("/v1/classify", {"image": image, "prompts": ["a"] * 65}), "/v1/classify", "post", checked)
    check(doc, requests.post(url + "/v1/classify", data="x", timeout=10), "/v1/classify", "post", checked)
    check(doc, requests.post(url + "/v1/classify", files={"image": ("a.png", base64.b64decode(image.split(",")[1]))},
                             data={"prompts": ["a", "b"]}, timeout=30), "/v1/classify", "post", checked)
    check(doc, post("/v1/embed/image", {"image": image}), "/v1/embed/image", "post", checked)
    check(doc, post("/v1/embed/image", {"images": [image]}), "/v1/embed/image", "post", checked)
    check(doc, post("/v1/embed/image", {"image": "%%"}), "/v1/embed/image", "post", checked)
    check(doc, post("/v1/embed/text", {"text": "a dog"}), "/v1/embed/text", "post", checked)
    check(doc, post("/v1/embed/text", {"text": "a dog " * 40}), "/v1/embed/text", "post", checked)
    check(doc, post("/v1/embed/text", {}), "/v1/embed/text", "post", checked)
    for fmt in ("float", "base64"):
        check(doc, post("/v1/embeddings", {"input": ["a", {"image": image}], "encoding_format": fmt}),
              "/v1/embeddings", "post", checked)
    check(doc, post("/v1/embeddings", {"model": "other", "input": "a"}), "/v1/embeddings", "post", checked)
    check(doc, post("/v1/embeddings", {"input": []}), "/v1/embeddings", "post", checked)

    name = "/v1/prompt-sets/{name}"
    check(doc, requests.put(url + "/v1/prompt-sets/doc", json={"prompts": ["a"], "templates": ["a {}"]}, timeout=10),
          name, "put", checked)
    check(doc, requests.put(url + "/v1/prompt-sets/doc", json={"prompts": ["b"]}, timeout=10), name, "put", checked)
    check(doc, requests.put(url + "/v1/prompt-sets/doc", json={"prompts": []}, timeout=10), name, "put", checked)
    check(doc, get("/v1/prompt-sets"), "/v1/prompt-sets", "get", checked)
    check(doc, get("/v1/prompt-sets/doc"), name, "get", checked)
    check(doc, get("/v1/prompt-sets/nothing"), name, "get", checked)
    check(doc, requests.delete(url + "/v1/prompt-sets/doc", timeout=10), name, "delete", checked)
    check(doc, requests.delete(url + "/v1/prompt-sets/doc", timeout=10), name, "delete", checked)
    check(doc, get("/metrics"), "/metrics", "get", checked)
    check(doc, get("/openapi.json"), "/openapi.json", "get", checked)
    check(doc, get("/"), "/", "get", checked)

    # Every operation of the document had at least one real answer checked against it.
    for path, item in doc["paths"].items():
        for method in ("get", "put", "post", "delete"):
            if method in item:
                assert any(p == path and m == method for p, m, _ in checked), (path, method)


def test_the_api_key_answers_match_the_document(start_service):
    key = "s3cret-key-0123456789"
    service = start_service(tiny_config(server={"api_key": key}))
    doc = requests.get(service.url + "/openapi.json", headers={"Authorization": "Bearer " + key}, timeout=10).json()
    checked = set()
    check(doc, requests.get(service.url + "/v1/prompt-sets", timeout=10), "/v1/prompt-sets", "get", checked)
    check(doc, requests.post(service.url + "/v1/embeddings", json={"input": "a"}, timeout=10), "/v1/embeddings",
          "post", checked)
    assert requests.get(service.url + "/openapi.json", timeout=10).status_code == 401
    # The page's files never need the key.
    for path in ("/", "/static/app.js", "/static/app.css"):
        assert requests.get(service.url + path, timeout=10).status_code == 200, path


def test_docs_api_md_names_every_path_method_and_field(doc):
    headings = set(re.findall(r"^## (GET|POST|PUT|DELETE) (\S+)", API_MD, re.M))
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m != "parameters"}
    assert documented == headings, (documented - headings, headings - documented)
    fields = set()

    def collect(schema):
        if isinstance(schema, dict):
            fields.update(schema.get("properties", {}).keys())
            for v in schema.values():
                collect(v)
        elif isinstance(schema, list):
            for v in schema:
                collect(v)

    collect(doc["components"]["schemas"])
    # Named in the text (`field`) or in one of its JSON examples ("field").
    missing = sorted(f for f in fields if "`" + f + "`" not in API_MD and '"' + f + '"' not in API_MD)
    assert not missing, "fields of the OpenAPI document that docs/api.md does not name: " + ", ".join(missing)
