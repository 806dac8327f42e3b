"""The plain GEMM runs OpenBLAS kernels that suit the CPU: where Debian's OpenBLAS does not recognise the CPU and
falls back to generic kernels, hailo-clip starts again with better ones, and says so (src/kernels/blas_core.h).
A choice the user made with OPENBLAS_CORETYPE is kept, with a warning when it is a generic one."""

import platform
import re

from conftest import Service, tiny_config

# OpenBLAS's x86-64 cores from before AVX2: generic fallbacks on any CPU that has AVX2.
PRE_AVX2 = {"prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "atom", "katmai", "coppermine",
            "northwood", "banias", "barcelona", "bobcat", "opteron"}


def x86_with_avx2():
    if platform.machine() != "x86_64":
        return False
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                return {"avx2", "fma"} <= set(line.split(":", 1)[1].split())
    return False


def gemm_kernels(tmp_path):
    """Starts the service, returns what its start-up line says of the plain GEMM: (core, the rest)."""
    service = Service(tiny_config(), tmp_path).wait_ready()
    try:
        lines = [line for line in service.lines if "towers: cpu (" in line]
        assert lines, service.log()
        found = re.search(r"GEMM openblas with (\S+) kernels(.*)\)$", lines[0])
        assert found, lines[0]
        return found.group(1), found.group(2)
    finally:
        service.stop()


def test_the_plain_gemm_runs_kernels_that_suit_the_cpu(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    core, rest = gemm_kernels(tmp_path)
    assert "generic" not in rest.replace("takes its generic", ""), rest
    if x86_with_avx2():
        assert core.lower() not in PRE_AVX2, (core, rest)
    if rest:  # changed at start-up: the log names OpenBLAS's own choice
        assert rest.startswith(", chosen at start-up: on its own OpenBLAS takes its generic "), rest


def test_the_users_openblas_coretype_is_kept(tmp_path, monkeypatch):
    asked = "Prescott" if platform.machine() == "x86_64" else "ARMV8"
    monkeypatch.setenv("OPENBLAS_CORETYPE", asked)
    core, rest = gemm_kernels(tmp_path)
    assert core.lower() == asked.lower(), (core, rest)
    assert "chosen at start-up" not in rest, rest
    if x86_with_avx2():
        assert "a generic fallback" in rest, rest
        assert rest.endswith(", not taken: OPENBLAS_CORETYPE asks for Prescott"), rest
