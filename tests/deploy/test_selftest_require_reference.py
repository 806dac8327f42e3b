"""`hailo-clip selftest --require-reference`: a model without published reference outputs (the fixture model)
gets only sanity checks; the verdict says so, and the exit code is non-zero only when a reference is required."""

import importlib.util
import json
import pathlib
import subprocess

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("e2e_conftest", SOURCE_DIR / "tests" / "e2e" / "conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)


def selftest(*extra):
    return subprocess.run([e2e.CLI, "selftest", "--model-dir", str(e2e.TINY), "--json", *extra],
                          capture_output=True, text=True, timeout=300)


def test_require_reference_fails_a_sanity_only_run_and_says_so():
    r = selftest("--require-reference")
    assert r.returncode != 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["verified"] is False
    assert report["summary"].startswith("FAIL (sanity only): no published reference for this model, so only sanity "
                                        "checks could run"), report["summary"]
    assert "--require-reference" in report["summary"]


def test_without_the_flag_the_verdict_still_says_sanity_only():
    report = json.loads(selftest().stdout)
    assert report["verified"] is False
    assert "(sanity only)" in report["summary"], report["summary"]
