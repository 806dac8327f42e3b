"""deploy/: install, uninstall and verify scripts into a staging root, the systemd unit, sd_notify, and the models
command against a local HTTP server. Nothing here touches the real system or the network beyond 127.0.0.1."""

import configparser
import hashlib
import http.server
import importlib.util
import os
import pathlib
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import warnings

import pytest
import requests

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = SOURCE_DIR / "deploy"

# The e2e helpers start the real service with a config (tests/e2e/conftest.py).
_spec = importlib.util.spec_from_file_location("e2e_conftest", SOURCE_DIR / "tests" / "e2e" / "conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)
CLI = e2e.CLI
TINY = e2e.TINY
TINY_HF = e2e.FIXTURES / "models" / "tiny-hf"


def run(args, **kwargs):
    kwargs.setdefault("timeout", 300)
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="session")
def deb(tmp_path_factory):
    """The package of the program under test (scripts/package.sh --build-dir: no second build)."""
    hailort = [line.split("=>")[1].split()[0] for line in run(["ldd", CLI]).stdout.splitlines()
               if "libhailort" in line and "=>" in line]
    if hailort and run(["dpkg", "-S", pathlib.Path(hailort[0]).resolve()]).returncode != 0:
        # A package depends on the package that owns libhailort (hailo-h10-all on a Pi); a HailoRT built by hand
        # has none, so this program cannot be packaged. The plain build's run of these tests packages and installs.
        pytest.skip(f"this program links {hailort[0]}, which no Debian package owns: it cannot be packaged")
    out = tmp_path_factory.mktemp("dist")
    r = run([SOURCE_DIR / "scripts/package.sh", "--build-dir", pathlib.Path(CLI).resolve().parents[1], "--out", out])
    assert r.returncode == 0, r.stdout + r.stderr
    [package] = out.glob("hailo-clip_*.deb")
    return package


def install(deb, root, *extra, env=None):
    return run([DEPLOY / "install.sh", "--root", root, "--deb", deb, *extra], env=env)


def tree(root):
    """Every path below root with its mode and, for files, a hash: a snapshot to compare runs with."""
    out = {}
    for path in sorted(pathlib.Path(root).rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", oct(st.st_mode & 0o7777))
        else:
            out[rel] = ("file", oct(st.st_mode & 0o7777), hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def mode(path):
    return oct(path.stat().st_mode & 0o7777)


# ---------------------------------------------------------------- install / uninstall into a staging root

def test_install_into_staging_root(tmp_path, deb):
    root = tmp_path / "root"
    r = install(deb, root, "--model-dir", TINY)
    assert r.returncode == 0, r.stdout + r.stderr
    # The package's files: the program and the self-test data where the self-test looks
    # (<exe>/../share/hailo-clip/selftest).
    assert mode(root / "usr/bin/hailo-clip") == "0o755"
    assert (root / "usr/share/hailo-clip/selftest/expectations.json").is_file()
    assert (root / "usr/share/hailo-clip/selftest/images/CLIP.png").is_file()
    assert (root / "usr/share/hailo-clip/models.json").is_file()
    assert not (root / "opt").exists() and not (root / "usr/local").exists()
    # Config: the shipped default, readable.
    config = root / "etc/hailo/hailo-clip.yaml"
    assert config.read_text() == (SOURCE_DIR / "config/hailo-clip.yaml").read_text()
    assert mode(config) == "0o644"
    # State and the model, where clip.model_dir's default points, not readable by others.
    assert mode(root / "var/lib/hailo-clip") == "0o750"
    model = root / "var/lib/hailo-clip/models/clip-vit-b-32"
    assert (model / "model.safetensors").read_bytes() == (TINY / "model.safetensors").read_bytes()
    assert mode(model / "model.safetensors") == "0o640"
    # The unit is deploy/'s with the package's paths; the user is recorded, not created.
    unit = root / "lib/systemd/system/hailo-clip.service"
    assert unit.read_text() == (DEPLOY / "hailo-clip.service").read_text()
    assert mode(unit) == "0o644"
    sysusers = (root / "usr/lib/sysusers.d/hailo-clip.conf").read_text()
    assert 'u hailo-clip - "hailo-clip CLIP service" /var/lib/hailo-clip /usr/sbin/nologin' in sysusers
    # What dpkg records: the package's files.
    listed = (root / "var/lib/dpkg/info/hailo-clip.list").read_text().splitlines()
    assert "/usr/bin/hailo-clip" in listed and "/etc/hailo/hailo-clip.yaml" in listed
    for line in ["staging root, not run: systemd-sysusers hailo-clip.conf (creates the system user hailo-clip)",
                 "staging root, not run: deb-systemd-helper enable hailo-clip.service",
                 "staging root, not run: systemctl restart hailo-clip.service"]:
        assert "install: " + line in r.stdout, r.stdout
    # The staged program runs and finds its data.
    r = run([root / "usr/bin/hailo-clip", "--version"])
    assert r.returncode == 0 and r.stdout.startswith("hailo-clip ")


def test_second_install_keeps_edited_config_and_is_idempotent(tmp_path, deb):
    root = tmp_path / "root"
    assert install(deb, root, "--model-dir", TINY).returncode == 0
    first = tree(root)
    r = install(deb, root, "--model-dir", TINY)
    assert r.returncode == 0, r.stderr
    assert tree(root) == first, "a second identical install changes nothing"
    assert "config: /etc/hailo/hailo-clip.yaml unchanged" in r.stdout
    assert "model: /var/lib/hailo-clip/models/clip-vit-b-32 already has these files" in r.stdout

    # An edited conffile is kept, as dpkg does; the new default goes beside it.
    config = root / "etc/hailo/hailo-clip.yaml"
    edited = config.read_text().replace("port: 5000", "port: 5005")
    config.write_text(edited)
    r = install(deb, root, "--model-dir", TINY)
    assert r.returncode == 0, r.stderr
    assert config.read_text() == edited, "an edited config is never overwritten"
    new = root / "etc/hailo/hailo-clip.yaml.dpkg-dist"
    assert new.read_text() == (SOURCE_DIR / "config/hailo-clip.yaml").read_text()
    assert ("config: kept your edited /etc/hailo/hailo-clip.yaml; the new default is beside it as "
            "/etc/hailo/hailo-clip.yaml.dpkg-dist") in r.stdout
    after_edit = tree(root)
    assert install(deb, root, "--model-dir", TINY).returncode == 0
    assert tree(root) == after_edit

    # Without --model-dir the installed model is kept (no download).
    r = install(deb, root)
    assert r.returncode == 0, r.stderr
    assert "model: keeping the installed /var/lib/hailo-clip/models/clip-vit-b-32" in r.stdout


def test_uninstall_keeps_config_and_data_unless_purged(tmp_path, deb):
    root = tmp_path / "root"
    assert install(deb, root, "--model-dir", TINY).returncode == 0
    r = run([DEPLOY / "uninstall.sh", "--root", root])
    assert r.returncode == 0, r.stderr
    assert "uninstall: removed the package's files" in r.stdout
    for gone in ["usr/bin/hailo-clip", "usr/share/hailo-clip", "lib/systemd/system/hailo-clip.service",
                 "usr/lib/sysusers.d/hailo-clip.conf", "var/lib/dpkg/info/hailo-clip.list"]:
        assert not (root / gone).exists(), gone
    assert (root / "etc/hailo/hailo-clip.yaml").is_file()
    assert (root / "var/lib/hailo-clip/models/clip-vit-b-32/model.safetensors").is_file()
    assert "kept /etc/hailo/hailo-clip.yaml and /var/lib/hailo-clip (models)" in r.stdout

    # Reinstall finds the kept model and config; then purge.
    r = install(deb, root)
    assert r.returncode == 0 and "model: keeping the installed" in r.stdout, r.stdout + r.stderr
    r = run([DEPLOY / "uninstall.sh", "--root", root, "--purge"])
    assert r.returncode == 0, r.stderr
    assert "uninstall: staging root, not run: deluser --system hailo-clip" in r.stdout
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == ["var", "var/lib", "var/lib/dpkg",
                                                                           "var/lib/dpkg/info"], "nothing is left"
    # Again: nothing left to do is not an error.
    assert run([DEPLOY / "uninstall.sh", "--root", root]).returncode == 0


def test_destdir_is_a_staging_root(tmp_path, deb):
    root = tmp_path / "pkg"
    env = dict(os.environ, DESTDIR=str(root))
    r = run([DEPLOY / "install.sh", "--deb", deb, "--model-dir", TINY, "--no-start"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (root / "usr/bin/hailo-clip").is_file()
    assert "systemctl restart" not in r.stdout and "enabled, not started" in r.stdout


def test_install_lists_every_missing_prerequisite(tmp_path):
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    r = run([DEPLOY / "install.sh", "--root", tmp_path / "root", "--deb", tmp_path / "no.deb", "--model-dir", empty])
    assert r.returncode == 1
    assert f"install: missing: --deb {tmp_path / 'no.deb'} is not a file" in r.stderr
    assert f"install: missing: --model-dir {empty} has no model.safetensors" in r.stderr
    assert not (tmp_path / "root" / "usr").exists(), "nothing is installed when a prerequisite is missing"


def test_scripts_are_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (scripts/install-deps.sh installs it)")
    scripts = [DEPLOY / "install.sh", DEPLOY / "uninstall.sh", DEPLOY / "verify.sh", SOURCE_DIR / "scripts/run.sh",
               SOURCE_DIR / "scripts/package.sh", SOURCE_DIR / "scripts/arm64-sysroot.sh",
               SOURCE_DIR / "scripts/cross-test.sh", *sorted((SOURCE_DIR / "packaging/debian").iterdir())]
    r = run([shellcheck, *scripts])
    assert r.returncode == 0, r.stdout


# ---------------------------------------------------------------- the unit

def unit_keys():
    parser = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    parser.optionxform = str
    # systemd allows repeated keys; ConfigParser keeps the last, which is enough for these checks.
    parser.read_string((DEPLOY / "hailo-clip.service").read_text())
    return parser


def unit_environment():
    """Every Environment= assignment of the unit (systemd accumulates repeated keys)."""
    env = {}
    for line in (DEPLOY / "hailo-clip.service").read_text().splitlines():
        if line.startswith("Environment="):
            for item in line[len("Environment="):].split():
                key, value = item.split("=", 1)
                env[key] = value
    return env


def test_unit_keys():
    u = unit_keys()
    s = u["Service"]
    assert s["Type"] == "notify"
    assert s["ExecStart"] == "/usr/bin/hailo-clip serve"
    assert unit_environment() == {"HAILO_CLIP_CONFIG": "/etc/hailo/hailo-clip.yaml", "HAILORT_LOGGER_PATH": "NONE"}
    assert s["User"] == "hailo-clip"
    assert s["Restart"] == "on-failure" and s["RestartSec"]
    assert u["Unit"]["StartLimitIntervalSec"] and u["Unit"]["StartLimitBurst"]
    assert int(s["WatchdogSec"]) > 0
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                       "ProtectHome": "yes", "StateDirectory": "hailo-clip", "CacheDirectory": "hailo-clip",
                       "CapabilityBoundingSet": "",
                       "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "LockPersonality": "yes",
                       "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
                       "DevicePolicy": "closed", "DeviceAllow": "/dev/hailo0 rw"}.items():
        assert s[key] == value, key
    text = (DEPLOY / "hailo-clip.service").read_text()
    assert "SystemCallFilter=@system-service" in text
    assert "\nMemoryDenyWriteExecute" not in text, "oneDNN's JIT needs writable+executable memory (see the unit)"


def staged_unit(tmp_path):
    """The unit with ExecStart pointing at a real executable: verify checks that the program exists."""
    path = tmp_path / "hailo-clip.service"
    path.write_text((DEPLOY / "hailo-clip.service").read_text().replace("/usr/bin/hailo-clip", CLI))
    return path


def test_unit_passes_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        warnings.warn("systemd-analyze is not installed: only the unit's keys were checked (test_unit_keys)")
        pytest.fail("systemd-analyze missing: scripts/install-deps.sh installs the systemd package")
    r = run([tool, "verify", staged_unit(tmp_path)])
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr


def run_as_the_unit_would(args, cwd, env_extra):
    """The binary with an unwritable working directory and no HOME, as the hardened unit runs it (ProtectSystem,
    ProtectHome): as user nobody when the tests run as root (root writes anywhere), else in a mode-0555 folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "HAILORT_LOGGER_PATH")}
    env.update(env_extra)
    cwd.mkdir()
    cwd.chmod(0o555)
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    return subprocess.run(prefix + [CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_hailort_logs_nowhere_it_may_not_write(tmp_path):
    # libhailort opens its log files when it is loaded, so any command shows it; tokenize needs no model.
    r = run_as_the_unit_would(["tokenize", "a photo"], tmp_path / "cwd", unit_environment())
    assert r.returncode == 0, r.stderr
    assert "Cannot create" not in r.stderr, r.stderr
    assert list((tmp_path / "cwd").iterdir()) == []
    # Without the unit's setting a HailoRT build complains: proof that the check above can fail.
    if os.environ.get("HCLIP_BUILD_HAS_HAILORT") == "ON":
        bare = run_as_the_unit_would(["tokenize", "a photo"], tmp_path / "cwd-bare", {})
        assert "Cannot create log file" in bare.stderr, bare.stderr


def test_unit_security_exposure(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze missing: scripts/install-deps.sh installs the systemd package")
    r = run([tool, "security", "--offline=true", "--no-pager", staged_unit(tmp_path)])
    line = [l for l in r.stdout.splitlines() if "Overall exposure level" in l]
    assert line, r.stdout + r.stderr
    score = float(line[0].split(":")[1].split()[0])
    assert score <= 2.0, line[0]  # docs/deployment.md quotes the score


# ---------------------------------------------------------------- sd_notify

def test_sd_notify_ready_watchdog_stopping(tmp_path):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    config = tmp_path / "config.yaml"
    import yaml
    config.write_text(yaml.safe_dump(e2e.tiny_config()))
    proc = subprocess.Popen([CLI, "serve", "--config", config], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        ready = next(m for m in messages if "READY=1" in m)
        assert messages[0].startswith("STATUS=loading model 'clip-vit-b-32'"), messages
        assert "STATUS=serving 'clip-vit-b-32' on 127.0.0.1:" in ready
        # Ready means ready: the first request after READY=1 is answered healthy.
        port = int(ready.rsplit(":", 1)[1])
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).json()["status"] == "healthy"
        # Pings at half WATCHDOG_USEC while healthy.
        start = time.monotonic()
        pings = 0
        while time.monotonic() - start < 1.5:
            if sock.recv(4096).decode() == "WATCHDOG=1":
                pings += 1
        assert pings >= 3, pings
        proc.send_signal(signal.SIGTERM)
        sock.settimeout(30)
        while True:
            m = sock.recv(4096).decode()
            if "STOPPING=1" in m:
                break
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


# ---------------------------------------------------------------- verify.sh against a running service

def test_verify_against_a_service_started_by_the_test(tmp_path):
    service = e2e.Service(e2e.tiny_config(), tmp_path).wait_ready()
    try:
        r = run([DEPLOY / "verify.sh", "--url", service.url, "--no-systemd", "--config", service.config_path,
                 "--binary", CLI])
        lines = r.stdout.splitlines()
        assert lines[0] == "SKIP  service        skipped: no systemd (--no-systemd)", r.stdout
        assert lines[1] == ("PASS  health         healthy, model clip-vit-b-32 loaded, backend cpu, "
                            "embedding dimension 48"), r.stdout
        assert lines[2] == ("PASS  backend        cpu: the CPU serves (clip.backend cpu, or the NPU could not be "
                            "used: the service log says why)"), r.stdout
        assert lines[3].startswith("PASS  classify       CLIP.png: '"), r.stdout
        assert " of 3 prompts in " in lines[3]
        # The fixture model has random weights and no published reference: the self-test says so, and fails.
        assert lines[4] == ("FAIL  self-test      on cpu: FAIL (sanity only): no published reference for this model, "
                            "so its outputs were not compared with published numbers; its embeddings are well-formed, "
                            "but only 1 of 8 reference pictures ranked their own description first (a trained CLIP "
                            "ranks all of them first; random or untrained weights cannot)"), r.stdout
        assert lines[5] == "verify: 1 of 4 checks failed, 1 skipped"
        assert r.returncode == 1
    finally:
        assert service.stop() == 0
    # The service is gone: health and classification fail, with the reason.
    r = run([DEPLOY / "verify.sh", "--url", service.url, "--no-systemd", "--config", service.config_path,
             "--binary", CLI, "--wait", "0"])
    assert r.returncode == 1
    assert f"FAIL  health         no answer from {service.url}/health" in r.stdout, r.stdout
    assert "FAIL  classify       not tried: the service does not answer" in r.stdout


def test_verify_reports_the_hailo_device_when_the_runtime_is_installed(tmp_path):
    # A stand-in for hailortcli on PATH: what `hailortcli fw-control identify` prints on a Hailo-10H.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "hailortcli"
    fake.write_text("#!/bin/sh\necho 'Executing on device: 0001:01:00.0'\necho 'Firmware Version: 5.0.0'\n"
                    "echo 'Board Name: Hailo-10H'\necho 'Device Architecture: HAILO10H'\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    service = e2e.Service(e2e.tiny_config(), tmp_path).wait_ready()
    try:
        r = run([DEPLOY / "verify.sh", "--url", service.url, "--no-systemd", "--config", service.config_path,
                 "--binary", CLI], env=env)
        assert ("PASS  device         Firmware Version: 5.0.0;Board Name: Hailo-10H;Device Architecture: HAILO10H"
                in r.stdout.splitlines()), r.stdout
        fake.write_text("#!/bin/sh\necho 'Failed to identify: HAILO_OUT_OF_PHYSICAL_DEVICES(74)' >&2\nexit 1\n")
        r = run([DEPLOY / "verify.sh", "--url", service.url, "--no-systemd", "--config", service.config_path,
                 "--binary", CLI], env=env)
        assert ("FAIL  device         hailortcli fw-control identify failed: Failed to identify: "
                "HAILO_OUT_OF_PHYSICAL_DEVICES(74)") in r.stdout.splitlines(), r.stdout
        assert r.returncode == 1
    finally:
        assert service.stop() == 0


def test_verify_without_systemd_flag_fails_clearly(tmp_path):
    if pathlib.Path("/run/systemd/system").is_dir():
        pytest.skip("this machine runs systemd; the message under test is for machines without it")
    r = run([DEPLOY / "verify.sh", "--url", "http://127.0.0.1:9", "--binary", CLI, "--wait", "0"])
    assert r.returncode == 1
    assert r.stdout.splitlines()[0] == (
        "FAIL  service        systemd is not running here; for a service started by hand use --no-systemd")


# ---------------------------------------------------------------- hailo-clip models against a local server

class HubHandler(http.server.BaseHTTPRequestHandler):
    files = {}

    def do_GET(self):
        prefix = "/openai/clip-vit-base-patch32/resolve/main/"
        name = self.path[len(prefix):] if self.path.startswith(prefix) else None
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if name == "model.safetensors":
            self.send_header("X-Linked-ETag", '"' + hashlib.sha256(body).hexdigest() + '"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub():
    HubHandler.files = {
        "model.safetensors": (TINY_HF / "model.safetensors").read_bytes(),
        "config.json": (TINY_HF / "config.json").read_bytes(),
        # Not read by `models verify` (it loads the weights, not the tokenizer).
        "vocab.json": b"{}",
        "merges.txt": b"#version: 0.2\n",
        "preprocessor_config.json": b'{"crop_size": 224}',
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HubHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_models_pull_list_verify(tmp_path, hub):
    models = tmp_path / "models"
    r = run([CLI, "models", "pull", "clip-vit-b-32", "--dest", models, "--base-url", hub], timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"installed clip-vit-b-32 in {models / 'clip-vit-b-32'} (5 files verified)" in r.stdout
    assert "  model.safetensors: 100% (" in r.stderr, "plain progress lines when not on a terminal"
    assert "model.safetensors: 32.9 MB" not in r.stdout

    r = run([CLI, "models", "list", "--dir", models])
    assert r.returncode == 0, r.stderr
    row = [l for l in r.stdout.splitlines() if l.startswith("clip-vit-b-32")]
    assert row and row[0].split()[1] == "48" and "pulled, manifest present" in row[0], r.stdout

    r = run([CLI, "models", "verify", "clip-vit-b-32", "--dir", models])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "clip-vit-b-32: verified"
    assert sum(l.startswith("PASS") for l in r.stdout.splitlines()) == 6  # 5 files + loads

    (models / "clip-vit-b-32" / "config.json").write_text("{}")
    r = run([CLI, "models", "verify", "clip-vit-b-32", "--dir", models])
    assert r.returncode == 1
    assert "FAIL  config.json  size 2 bytes, expected" in r.stdout
    assert r.stdout.splitlines()[-1] == "clip-vit-b-32: NOT verified"


def test_models_pull_offline_says_how_to_copy_by_hand(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    env = dict(os.environ, HAILO_CLIP_MODEL_BASE_URL=f"http://127.0.0.1:{port}")
    r = run([CLI, "models", "pull", "clip-vit-b-32", "--dest", tmp_path / "models"], env=env, timeout=60)
    assert time.monotonic() - start < 15
    assert r.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}" in r.stderr
    assert f"/openai/clip-vit-base-patch32/resolve/main/merges.txt" in r.stderr
    assert f"copy them into {tmp_path / 'models' / 'clip-vit-b-32'}/" in r.stderr
    assert not (tmp_path / "models" / "clip-vit-b-32").exists()


def test_install_pulls_the_model_when_none_is_given(tmp_path, hub, deb):
    root = tmp_path / "root"
    r = install(deb, root, "--base-url", hub, "--no-start")
    assert r.returncode == 0, r.stdout + r.stderr
    model = root / "var/lib/hailo-clip/models/clip-vit-b-32"
    assert (model / "model.safetensors").read_bytes() == (TINY_HF / "model.safetensors").read_bytes()
    assert (model / "hailo-clip-manifest.json").is_file()
