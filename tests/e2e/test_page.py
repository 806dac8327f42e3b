"""The page at / in headless Chromium (Debian's chromium, driven by playwright-core from npm): it loads, takes a
fixture picture in its file input, classifies with the keyboard, and shows ranked bars with the backend
and the timing; a screenshot is kept under the build directory (test-artifacts/page.png)."""

import json
import pathlib
import shutil
import subprocess

import requests

from conftest import CLI, FIXTURES, SOURCE_DIR

WEB = SOURCE_DIR / "tests" / "web"
ARTIFACTS = pathlib.Path(CLI).resolve().parents[1] / "test-artifacts"


def ensure_playwright():
    assert shutil.which("chromium"), "chromium is missing: scripts/install-deps.sh installs it"
    assert shutil.which("npm"), "npm is missing: scripts/install-deps.sh installs it"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        # The versions are pinned by the committed package-lock.json.
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)


def test_page_classifies_an_uploaded_picture(tiny_service):
    ensure_playwright()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "page.png"
    screenshot.unlink(missing_ok=True)
    picture = FIXTURES / "images" / "chelsea.png"
    run = subprocess.run(["node", str(WEB / "classify_page.mjs"), tiny_service.url + "/", str(picture),
                          str(screenshot)], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    page = json.loads(run.stdout.strip().splitlines()[-1])

    assert "on cpu" in page["status"] and "clip-vit-b-32" in page["status"]
    assert page["message"] == "Done."
    # Every control is reached with Tab, in reading order (the key field sits in a closed <details>).
    controls = ("image-input", "prompts", "prompt-set", "top-k", "classify")
    order = list(dict.fromkeys(i for i in page["tabOrder"] if i in controls))  # Tab wraps around at the end
    assert order == ["image-input", "prompts", "prompt-set", "top-k", "classify"], page["tabOrder"]
    # The bars show what the API answers for the same upload, in rank order.
    api = requests.post(tiny_service.url + "/v1/classify", files={"image": ("c.png", picture.read_bytes())},
                        data={"prompts": ["a photo of a cat", "a dog", "a diagram"], "top_k": "3"}, timeout=60).json()
    assert [r["text"] for r in page["results"]] == [c["text"] for c in api["classifications"]]
    for shown, c in zip(page["results"], api["classifications"]):
        assert shown["score"] == f"{100 * c['score']:.1f} %"
        assert abs(float(shown["width"].rstrip("%")) - 100 * c["score"]) <= 0.05  # the bar's length
        assert shown["label"].startswith(c["text"] + ": ")
    assert "Backend cpu" in page["timing"] and " ms" in page["timing"]
    # No CDN: every request the page made went to the service itself.
    # (blob: is the local preview of the chosen picture.)
    outside = [u for u in page["requests"] if not u.startswith((tiny_service.url, "blob:" + tiny_service.url))]
    assert page["requests"] and not outside, outside
    assert screenshot.stat().st_size > 1000


def test_page_lists_prompt_sets(tiny_service):
    requests.put(tiny_service.url + "/v1/prompt-sets/page-set", json={"prompts": ["a cat", "a dog"]}, timeout=10)
    html = requests.get(tiny_service.url + "/", timeout=10)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert "/static/app.js" in html.text and "http" not in html.text.replace(
        'name="viewport"', "")  # no outside references
    ensure_playwright()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["node", str(WEB / "classify_page.mjs"), tiny_service.url + "/",
                          str(FIXTURES / "images" / "CLIP.png"), str(ARTIFACTS / "page-sets.png")],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "page-set" in json.loads(run.stdout.strip().splitlines()[-1])["options"]
    requests.delete(tiny_service.url + "/v1/prompt-sets/page-set", timeout=10)
