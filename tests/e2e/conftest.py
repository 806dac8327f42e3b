"""Starts the real hailo-clip binary on 127.0.0.1 with a fixture model, for tests that talk to it over HTTP."""

import base64
import json
import os
import pathlib
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests
import yaml

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(os.environ.get("HAILO_CLIP_FIXTURES", SOURCE_DIR.parent / "shared" / "fixtures"))
CLI = os.environ.get("HCLIP_CLI_PATH", str(SOURCE_DIR / "build" / "cli" / "hailo-clip"))
# The test program: hailo-clip with the CPU stand-in of the NPU registered as its "hailo" backend.
TEST_CLI = os.environ.get("HCLIP_TEST_CLI_PATH", str(SOURCE_DIR / "build" / "tests" / "hailo-clip-test"))
MAKE_RANDOM_MODEL = os.environ.get("HCLIP_MAKE_RANDOM_MODEL", str(SOURCE_DIR / "build" / "tools" / "make_random_model"))
TINY = FIXTURES / "models" / "tiny-openai"


def fixture_image_b64(name, data_uri=True):
    raw = (FIXTURES / "images" / name).read_bytes()
    b64 = base64.b64encode(raw).decode()
    if not data_uri:
        return b64
    mime = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "bmp": "image/bmp"}
    return f"data:{mime[name.rsplit('.', 1)[1]]};base64,{b64}"


class Service:
    """One running service process. Its stderr is collected line by line."""

    def __init__(self, config, tmp_path, extra_args=(), program=CLI):
        self.config_path = tmp_path / "hailo-clip.yaml"
        # Prompt sets are stored under the test's own directory, never in the machine's state directory.
        config.setdefault("storage", {}).setdefault("state_dir", str(tmp_path / "state"))
        self.config_path.write_text(yaml.safe_dump(config))
        self.lines = []
        self.proc = subprocess.Popen([program, "serve", "--config", str(self.config_path), *extra_args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.port = None
        # With clip.self_test: report (the default) the service checks itself once it serves; tests wait for
        # that to end so its inferences don't mix with what they count.
        self._self_test_runs = config.get("clip", {}).get("self_test", "report") == "report"
        self._self_test_done = threading.Event()
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "listening on http://" in line:
                self.port = int(line.rsplit(":", 1)[1])
                self._ready.set()
            if line.startswith(("INFO self-test: ", "ERROR self-test: ")):  # the verdict (checks are WARNINGs)
                self._self_test_done.set()
        self._ready.set()  # the process ended
        self._self_test_done.set()

    def wait_ready(self, timeout=120):
        self._ready.wait(timeout)
        if self.port is None:
            raise RuntimeError("service did not start:\n" + "\n".join(self.lines))
        if self._self_test_runs and not self._self_test_done.wait(timeout):
            raise RuntimeError("the service's self-test did not end:\n" + "\n".join(self.lines))
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def post(self, path, body, **kwargs):
        return requests.post(self.url + path, json=body, timeout=kwargs.pop("timeout", 60), **kwargs)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def log(self):
        return "\n".join(self.lines)


def tiny_config(**sections):
    config = {
        "server": {"host": "127.0.0.1", "port": 0},
        # backend cpu, not the default auto: in a build with HailoRT auto means the NPU, which these tests
        # do not have (the Hailo tests set backend hailo themselves).
        "clip": {"model": "clip-vit-b-32", "model_dir": str(TINY), "embedding_dimension": 48, "backend": "cpu"},
        "performance": {"worker_threads": 2},
    }
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    return config


@pytest.fixture(scope="module")
def tiny_service(tmp_path_factory):
    service = Service(tiny_config(limits={"max_prompts": 64}), tmp_path_factory.mktemp("tiny")).wait_ready()
    yield service
    assert service.stop() == 0, service.log()


@pytest.fixture
def start_service(tmp_path):
    started = []

    def start(config, extra_args=(), ready=True, program=CLI):
        sub = tmp_path / f"s{len(started)}"
        sub.mkdir()
        service = Service(config, sub, extra_args, program)
        started.append(service)
        return service.wait_ready() if ready else service

    yield start
    for service in started:
        if service.proc.poll() is None:
            service.stop()


@pytest.fixture(scope="session")
def vit_b32_dir(tmp_path_factory):
    """A full-size random-weight ViT-B/32: slow enough per request to fill queues on purpose."""
    out = tmp_path_factory.mktemp("vit-b-32")
    subprocess.run([MAKE_RANDOM_MODEL, "--preset", "vit-b-32", "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def golden(name="tiny-openai"):
    """The oracle outputs of a fixture model, read with a tiny safetensors reader (no numpy needed)."""
    import struct

    data = (FIXTURES / "models" / name / "expected.safetensors").read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        fmt = {"F32": "f", "I64": "q"}[info["dtype"]]
        values = list(struct.unpack("<" + fmt * ((end - begin) // struct.calcsize(fmt)), body[begin:end]))
        cols = info["shape"][-1]
        out[key] = [values[i:i + cols] for i in range(0, len(values), cols)]
    meta = json.loads((FIXTURES / "models" / name / "expected.json").read_text())
    out["images"] = meta["images"]
    out["texts"] = meta["texts"]
    return out
