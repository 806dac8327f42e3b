"""The optional API key: every endpoint but /health needs "Authorization: Bearer <key>" when one is configured."""

import requests

from conftest import tiny_config

KEY = "s3cret-key-0123456789"


def test_api_key_required_except_for_health(start_service):
    service = start_service(tiny_config(server={"api_key": KEY}))
    assert requests.get(service.url + "/health", timeout=10).status_code == 200
    body = {"text": "a dog"}
    for headers in ({}, {"Authorization": "Bearer wrong-key-0123456789"}, {"Authorization": "Bearer " + KEY[:-1]},
                    {"Authorization": "Bearer " + KEY + "x"}, {"Authorization": "Basic " + KEY},
                    {"Authorization": KEY}, {"Authorization": "Bearer"}):
        r = requests.post(service.url + "/v1/embed/text", json=body, headers=headers, timeout=10)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["error"]
    # Unknown paths are not revealed to clients without the key either.
    assert requests.get(service.url + "/v2/nothing", timeout=10).status_code == 401
    for scheme in ("Bearer ", "bearer "):
        r = requests.post(service.url + "/v1/embed/text", json=body, headers={"Authorization": scheme + KEY},
                          timeout=10)
        assert r.status_code == 200, r.text
        assert len(r.json()["embedding"]) == 48


def test_api_key_from_file(start_service, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    service = start_service(tiny_config(server={"api_key_file": str(key_file)}))
    r = requests.post(service.url + "/v1/embed/text", json={"text": "a"}, timeout=10)
    assert r.status_code == 401
    r = requests.post(service.url + "/v1/embed/text", json={"text": "a"}, headers={"Authorization": "Bearer " + KEY},
                      timeout=10)
    assert r.status_code == 200


def test_no_key_on_loopback_gives_no_warning(start_service):
    service = start_service(tiny_config())
    assert "without server.api_key" not in service.log()
