"""Prompt sets: PUT/GET/list/DELETE, classify with "prompt_set", template ensembling, sets declared in the YAML,
persistence across restarts and a crash (kill -9) in the middle of PUTs."""

import math
import os
import signal
import threading

import pytest
import requests

from conftest import fixture_image_b64, tiny_config


def normalize(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def softmax(xs, scale=100.0):
    m = max(xs)
    e = [math.exp(scale * (x - m)) for x in xs]
    return [v / sum(e) for v in e]


@pytest.fixture
def service(start_service, tmp_path):
    return start_service(tiny_config(storage={"state_dir": str(tmp_path / "state")}))


def put(service, name, body):
    return requests.put(service.url + "/v1/prompt-sets/" + name, json=body, timeout=30)


def test_put_get_list_delete(service):
    r = put(service, "shelves", {"prompts": ["empty shelf", "stocked shelf"]})
    assert r.status_code == 201, r.text
    assert r.json() == {"name": "shelves", "prompts": ["empty shelf", "stocked shelf"], "templates": []}
    r = put(service, "shelves", {"prompts": ["empty shelf", "full shelf"], "templates": ["a photo of an {}."]})
    assert r.status_code == 200, r.text
    r = requests.get(service.url + "/v1/prompt-sets/shelves", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"name": "shelves", "prompts": ["empty shelf", "full shelf"], "templates": ["a photo of an {}."]}
    put(service, "animals", {"prompts": ["a cat", "a dog"]})
    listing = requests.get(service.url + "/v1/prompt-sets", timeout=10).json()["prompt_sets"]
    assert [s["name"] for s in listing] == ["animals", "shelves"]
    assert all(s["configured"] is False for s in listing)
    r = requests.delete(service.url + "/v1/prompt-sets/animals", timeout=10)
    assert r.status_code == 200 and r.json() == {"name": "animals", "deleted": True}
    assert requests.get(service.url + "/v1/prompt-sets/animals", timeout=10).status_code == 404
    assert requests.delete(service.url + "/v1/prompt-sets/animals", timeout=10).status_code == 404


def test_classify_with_a_set_equals_prompts(service):
    prompts = ["a photo of a cat", "a dog", "a diagram"]
    put(service, "plain", {"prompts": prompts})
    image = fixture_image_b64("chelsea.png")
    by_set = service.post("/v1/classify", {"image": image, "prompt_set": "plain", "top_k": 3})
    assert by_set.status_code == 200, by_set.text
    by_prompts = service.post("/v1/classify", {"image": image, "prompts": prompts, "top_k": 3})
    assert by_set.json()["classifications"] == by_prompts.json()["classifications"]
    batch = service.post("/v1/classify", {"images": [image, image], "prompt_set": "plain", "top_k": 3})
    assert batch.status_code == 200, batch.text
    for result in batch.json()["results"]:
        for a, b in zip(result["classifications"], by_prompts.json()["classifications"]):
            assert a["text"] == b["text"] and abs(a["score"] - b["score"]) < 1e-5


def test_templates_are_ensembled_as_in_the_clip_paper(service):
    labels = ["cat", "dog", "diagram"]
    templates = ["a photo of a {}.", "a blurry photo of a {}.", "a drawing of the {}."]
    assert put(service, "ens", {"prompts": labels, "templates": templates}).status_code == 201
    image = fixture_image_b64("chelsea.png")
    img = service.post("/v1/embed/image", {"image": image}).json()["embedding"]
    cos = []
    for label in labels:
        rows = [service.post("/v1/embed/text", {"text": t.replace("{}", label)}).json()["embedding"]
                for t in templates]
        mean = normalize([sum(col) / len(rows) for col in zip(*rows)])
        cos.append(dot(img, mean))
    want = softmax(cos)
    r = service.post("/v1/classify", {"image": image, "prompt_set": "ens", "top_k": 3})
    assert r.status_code == 200, r.text
    got = {c["text"]: c for c in r.json()["classifications"]}
    assert set(got) == set(labels)  # the answer names the label, not a filled template
    for i, label in enumerate(labels):
        assert abs(got[label]["similarity"] - cos[i]) < 5e-5
        assert abs(got[label]["score"] - want[i]) < 1e-3
    # Replacing the set drops its cached embeddings.
    put(service, "ens", {"prompts": labels})
    r = service.post("/v1/classify", {"image": image, "prompt_set": "ens", "top_k": 3}).json()
    plain = service.post("/v1/classify", {"image": image, "prompts": labels, "top_k": 3}).json()
    assert r["classifications"] == plain["classifications"]


@pytest.mark.parametrize("name,body,status,needle", [
    ("Bad-Name", {"prompts": ["a"]}, 400, "a prompt set name is 1 to 64 characters"),
    ("a" * 65, {"prompts": ["a"]}, 400, "a prompt set name is 1 to 64 characters"),
    ("ok", {}, 400, "missing required field 'prompts'"),
    ("ok", {"prompts": []}, 400, "'prompts' must contain at least one prompt"),
    ("ok", {"prompts": "a"}, 400, "'prompts' must be an array of strings"),
    ("ok", {"prompts": ["a", 3]}, 400, "prompts[1] must be a string"),
    ("ok", {"prompts": ["a", ""]}, 400, "prompts[1] must not be empty"),
    ("ok", {"prompts": ["a", "a"]}, 400, "prompts[1] repeats 'a'"),
    ("ok", {"prompts": ["a"], "templates": ["no hole"]}, 400, "templates[0] has no '{}'"),
    ("ok", {"prompts": ["a"], "colour": 1}, 400, "unknown field 'colour'"),
    ("ok", {"prompts": ["a"], "name": "other"}, 400, "'name' in the body must equal"),
    ("ok", {"prompts": ["p%d" % i for i in range(65)]}, 413, "'prompts' has 65 entries; the limit is 64"),
    ("ok", {"prompts": ["a"], "templates": ["{} %d" % i for i in range(17)]}, 413, "the limit is 16"),
    ("ok", {"prompts": ["x" * 4097]}, 413, "prompts[0] is 4097 bytes"),
])
def test_put_errors(start_service, tmp_path, name, body, status, needle):
    service = start_service(tiny_config(limits={"max_prompts": 64}, storage={"state_dir": str(tmp_path / "st")}))
    r = put(service, name, body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"], r.json()["error"]
    assert requests.get(service.url + "/v1/prompt-sets", timeout=10).json()["prompt_sets"] == []


def test_request_errors(service):
    image = fixture_image_b64("CLIP.png")
    r = service.post("/v1/classify", {"image": image, "prompt_set": "nothing"})
    assert r.status_code == 404 and "no prompt set named 'nothing'" in r.json()["error"]
    put(service, "s", {"prompts": ["a"]})
    r = service.post("/v1/classify", {"image": image, "prompt_set": "s", "prompts": ["a"]})
    assert r.status_code == 400 and "not both" in r.json()["error"]
    r = service.post("/v1/classify", {"image": image, "prompt_set": 3})
    assert r.status_code == 400 and "'prompt_set' must be" in r.json()["error"]
    r = requests.put(service.url + "/v1/prompt-sets/s", data="{}", headers={"Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 415
    r = requests.put(service.url + "/v1/prompt-sets/s", data="{", headers={"Content-Type": "application/json"},
                     timeout=10)
    assert r.status_code == 400
    r = requests.post(service.url + "/v1/prompt-sets/s", json={}, timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, PUT, DELETE"
    r = requests.post(service.url + "/v1/prompt-sets", json={}, timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


def test_count_is_bounded(start_service, tmp_path):
    service = start_service(tiny_config(storage={"state_dir": str(tmp_path / "st")}))
    for i in range(256):
        assert put(service, "s%d" % i, {"prompts": ["a"]}).status_code == 201
    r = put(service, "one-more", {"prompts": ["a"]})
    assert r.status_code == 413 and "the limit is 256" in r.json()["error"]
    assert put(service, "s0", {"prompts": ["b"]}).status_code == 200  # replacing is still allowed


def test_sets_declared_in_the_configuration(start_service, tmp_path):
    config = tiny_config(storage={"state_dir": str(tmp_path / "st")},
                         prompt_sets={"shelves": {"prompts": ["empty shelf", "stocked shelf"],
                                                  "templates": ["a photo of an {}."]}})
    service = start_service(config)
    r = requests.get(service.url + "/v1/prompt-sets/shelves", timeout=10)
    assert r.json() == {"name": "shelves", "prompts": ["empty shelf", "stocked shelf"],
                        "templates": ["a photo of an {}."]}
    assert requests.get(service.url + "/v1/prompt-sets", timeout=10).json()["prompt_sets"][0]["configured"] is True
    r = service.post("/v1/classify", {"image": fixture_image_b64("CLIP.png"), "prompt_set": "shelves"})
    assert r.status_code == 200 and len(r.json()["classifications"]) == 2
    assert put(service, "shelves", {"prompts": ["x"]}).status_code == 409
    assert requests.delete(service.url + "/v1/prompt-sets/shelves", timeout=10).status_code == 409


def test_a_bad_configured_set_stops_the_start(start_service, tmp_path):
    config = tiny_config(storage={"state_dir": str(tmp_path / "st")},
                         prompt_sets={"Bad": {"prompts": ["a"]}})
    service = start_service(config, ready=False)
    assert service.proc.wait(60) != 0
    service._reader.join(5)
    assert "prompt_sets.Bad" in service.log()


def test_sets_survive_a_restart(start_service, tmp_path):
    config = tiny_config(storage={"state_dir": str(tmp_path / "st")})
    first = start_service(config)
    put(first, "keep", {"prompts": ["a cat", "a dog"], "templates": ["a photo of {}."]})
    put(first, "gone", {"prompts": ["x"]})
    requests.delete(first.url + "/v1/prompt-sets/gone", timeout=10)
    assert first.stop() == 0
    second = start_service(config)
    names = [s["name"] for s in requests.get(second.url + "/v1/prompt-sets", timeout=10).json()["prompt_sets"]]
    assert names == ["keep"]
    assert requests.get(second.url + "/v1/prompt-sets/keep", timeout=10).json()["templates"] == ["a photo of {}."]


def test_kill_during_puts_leaves_old_or_new(start_service, tmp_path):
    state = tmp_path / "st"
    config = tiny_config(storage={"state_dir": str(state)})
    old = {"prompts": ["old %d" % i for i in range(200)], "templates": ["a photo of {}."]}
    new = {"prompts": ["new %d" % i for i in range(200)], "templates": ["a picture of {}."]}
    for round_ in range(5):
        service = start_service(config)
        assert put(service, "s", old).status_code in (200, 201)
        stop = threading.Event()

        def writer():
            body = new
            while not stop.is_set():
                try:
                    put(service, "s", body)
                except requests.RequestException:
                    return
                body = old if body is new else new

        threads = [threading.Thread(target=writer) for _ in range(3)]
        for t in threads:
            t.start()
        threading.Event().wait(0.2 + 0.07 * round_)
        os.kill(service.proc.pid, signal.SIGKILL)
        service.proc.wait(30)
        stop.set()
        for t in threads:
            t.join(30)
        restarted = start_service(config)
        got = requests.get(restarted.url + "/v1/prompt-sets/s", timeout=10).json()
        assert {k: got[k] for k in ("prompts", "templates")} in (old, new)
        # The restart removed what an interrupted write left behind.
        assert sorted(os.listdir(state / "prompt-sets")) == ["s.json"]
        assert restarted.stop() == 0
