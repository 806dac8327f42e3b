"""The user's own README and API specification examples, adapted only in the image and the address."""

import base64
import json
import shutil
import subprocess

import pytest
import requests

from conftest import FIXTURES


def test_readme_curl_examples(tiny_service, tmp_path):
    curl = shutil.which("curl")
    assert curl, "curl is needed for the README's examples (scripts/install-deps.sh installs it)"
    image = FIXTURES / "images" / "franz-kafka.jpg"
    image_b64 = base64.b64encode(image.read_bytes()).decode()
    url = tiny_service.url
    health = json.loads(subprocess.check_output([curl, "-s", url + "/health"]))
    assert health["status"] == "healthy"
    # The README builds the body with shell quoting; here it goes through a file because of the argument size limit.
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"image": f"data:image/jpeg;base64,{image_b64}",
                                "prompts": ["empty shelf", "stocked shelf", "product on wrong shelf"], "top_k": 1}))
    out = json.loads(subprocess.check_output([curl, "-s", "-X", "POST", url + "/v1/classify", "-H",
                                              "Content-Type: application/json", "-d", "@" + str(body)]))
    assert len(out["classifications"]) == 1 and out["classifications"][0]["rank"] == 1
    out = json.loads(subprocess.check_output([curl, "-s", "-X", "POST", url + "/v1/embed/text", "-H",
                                              "Content-Type: application/json", "-d",
                                              '{"text": "person wearing uniform"}']))
    assert out["dimension"] == 48 and len(out["embedding"]) == 48


def test_api_spec_python_example(tiny_service, capsys):
    # The API specification's Python example, verbatim but for the address and the image path.
    with open(FIXTURES / "images" / "franz-kafka.jpg", "rb") as f:
        image_b64 = base64.b64encode(f.read()).decode()

    response = requests.post(
        tiny_service.url + "/v1/classify",
        json={
            "image": f"data:image/jpeg;base64,{image_b64}",
            "prompts": [
                "a photo of a person with a smile",
                "a photo of a person with a frown",
                "a photo of a person with a neutral expression"
            ],
            "top_k": 1,
            "threshold": 0.3
        }
    )

    result = response.json()
    if result["classifications"]:  # a random-weight model may put no prompt above the 0.3 threshold
        print(f"Top match: {result['classifications'][0]}")
    print(f"Inference time: {result['inference_time_ms']:.1f}ms")
    assert response.status_code == 200
    assert "Inference time:" in capsys.readouterr().out
