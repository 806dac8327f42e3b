"""An allocation failure inside a request fails that request with JSON; the process goes on.

The service runs with its address space limited (RLIMIT_AS) and gets a picture that is allowed by the configured
limits but whose decoded pixels do not fit: the decoder's allocation throws std::bad_alloc in the HTTP thread and
the decoder answers 413 ("out of memory while decoding"): the picture is too large for this machine. The same
failure inside an inference worker (which used to end the process) is 503, proved with a test double in
tests/unit/service_health_test.cpp; one anywhere else in a handler is 503 through the HTTP layer's exception
handler.
"""

import base64
import resource
import struct
import subprocess
import zlib

import pytest
import requests

from conftest import CLI, Service, tiny_config

ADDRESS_SPACE_LIMIT = 1400 << 20  # the tiny service maps about 700 MB at start; the picture needs 1.6 GB more


def _sanitized(binary):
    # AddressSanitizer reserves terabytes of address space and cannot run under RLIMIT_AS.
    libs = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return "libasan" in libs or "libtsan" in libs


def _huge_bilevel_png(side):
    """A side x side 1-bit grey PNG of zeros: a few hundred kB, side*side bytes once decoded to 8-bit grey."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\0" * (1 + (side + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * 1000) for _ in range(side // 1000)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class LimitedService(Service):
    def __init__(self, config, tmp_path):
        import yaml
        self.config_path = tmp_path / "hailo-clip.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.lines = []
        limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
        self.proc = subprocess.Popen([CLI, "serve", "--config", str(self.config_path)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=limit)
        self.port = None
        import threading
        self._ready = threading.Event()
        self._self_test_runs = False  # off in this test's config
        self._self_test_done = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


@pytest.mark.skipif(_sanitized(CLI), reason="sanitizer builds cannot run under an address-space limit")
def test_picture_too_large_for_memory_fails_the_request_not_the_process(tmp_path):
    side = 40000  # 1.6 gigapixels: within max_image_pixels below, beyond the address-space limit
    config = tiny_config(limits={"max_image_pixels": 4_000_000_000, "max_body_bytes": 64 << 20},
                         clip={"self_test": "off"})
    service = LimitedService(config, tmp_path).wait_ready()
    try:
        picture = base64.b64encode(_huge_bilevel_png(side)).decode()
        r = service.post("/v1/embed/image", {"image": picture})
        assert r.status_code == 413, (r.status_code, r.text, service.log())
        assert r.json()["error"] == "out of memory while decoding a 40000x40000 PNG image"
        # The process is still there and serves the next request.
        assert service.proc.poll() is None
        ok = service.post("/v1/embed/text", {"text": "still here"})
        assert ok.status_code == 200, ok.text
        assert requests.get(service.url + "/health", timeout=10).json()["status"] == "healthy"
    finally:
        assert service.stop() == 0, service.log()
