"""The service built against the real HailoRT on a machine without a Hailo device, as on a Raspberry Pi whose AI
HAT+ 2 is not seated or whose driver is not loaded: configured for the NPU it must stop within seconds saying that
no device was found; with hailo.on_unavailable: cpu it must serve on the CPU and say why. Only in builds with
HailoRT (CTest passes HCLIP_BUILD_HAS_HAILORT), and only where no /dev/hailo* exists; elsewhere skipped, with
the reason."""

import glob
import os
import pathlib
import subprocess
import time

import pytest
import requests

from conftest import CLI, TINY, Service, tiny_config

TOOL = os.environ.get("HCLIP_MAKE_HAILO_SUPPORT_FILES",
                      str(pathlib.Path(CLI).resolve().parents[1] / "tools" / "make_hailo_support_files"))
NO_DEVICE = "no Hailo device found (is the AI HAT+ 2 seated, the driver loaded?"

pytestmark = [
    pytest.mark.skipif(os.environ.get("HCLIP_BUILD_HAS_HAILORT") != "ON",
                       reason="this build has no HailoRT (HCLIP_BUILD_HAS_HAILORT is not ON)"),
    pytest.mark.skipif(bool(glob.glob("/dev/hailo*")), reason="a Hailo device is present; these tests need none"),
]


@pytest.fixture(scope="module")
def npu_config(tmp_path_factory):
    res = tmp_path_factory.mktemp("hailo-resources")
    subprocess.run([TOOL, "--model-dir", str(TINY), "--out", str(res)], check=True, stdout=subprocess.DEVNULL)

    def config(**hailo):
        section = {
            # Never opened: the device comes first, and there is none.
            "image_hef": str(res / "clip_vit_b_32_image_encoder.hef"),
            "text_hef": str(res / "clip_vit_b_32_text_encoder.hef"),
            "token_embedding_lut": str(res / "token_embedding_lut.npy"),
            "text_projection": str(res / "text_projection.npy"),
        }
        section.update(hailo)
        return tiny_config(clip={"backend": "hailo"}, hailo=section)

    return config


def test_no_device_stops_within_seconds_saying_so(tmp_path, npu_config):
    started = time.monotonic()
    service = Service(npu_config(), tmp_path)
    code = service.proc.wait(30)
    service._reader.join(5)
    elapsed = time.monotonic() - started
    assert code != 0 and service.port is None, service.log()
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert "HAILO_OUT_OF_PHYSICAL_DEVICES (74)" in service.log()
    assert NO_DEVICE in service.log(), service.log()
    assert "busy" not in service.log(), service.log()


def test_device_index_out_of_range_names_how_many_exist(tmp_path, npu_config):
    config = npu_config()
    config["clip"]["device"] = 1
    service = Service(config, tmp_path)
    code = service.proc.wait(30)
    service._reader.join(5)
    assert code != 0 and service.port is None, service.log()
    assert "clip.device is 1 but no Hailo device found" in service.log(), service.log()
    assert "HAILO_NOT_FOUND" not in service.log(), service.log()


def test_no_device_with_cpu_fallback_serves_on_the_cpu(start_service, npu_config):
    service = start_service(npu_config(on_unavailable="cpu"))
    health = requests.get(service.url + "/health", timeout=10).json()
    assert health["backend"] == "cpu", health
    assert health["status"] == "healthy", health
    log = service.log()
    assert NO_DEVICE in log and "the CPU serves both towers instead (fallback to the CPU was asked for)" in log, log
    r = service.post("/v1/embed/text", {"text": "empty shelf"})
    assert r.status_code == 200, r.text
