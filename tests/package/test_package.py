"""The Debian packages of scripts/package.sh: their contents and control files (amd64 and the cross-built arm64),
lintian, and the amd64 package installed on this machine with apt-get, used, removed and purged.

scripts/test.sh builds the packages first (scripts/package.sh, scripts/package.sh --arch arm64). The install test
changes the machine (a package, a user, /etc/hailo): it needs root, and is skipped, with the reason, without it."""

import os
import pathlib
import re
import shutil
import subprocess
import tarfile
import tempfile

import pytest

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(os.environ.get("HAILO_CLIP_FIXTURES", SOURCE_DIR.parent / "shared" / "fixtures"))
VERSION = re.search(r"project\(hailo_clip VERSION ([0-9.]+)", (SOURCE_DIR / "CMakeLists.txt").read_text()).group(1)
DIST = pathlib.Path(os.environ.get("HCLIP_DIST_DIR", SOURCE_DIR / "dist"))
MACHINE = {"amd64": "x86-64", "arm64": "ARM aarch64"}


def run(args, **kwargs):
    kwargs.setdefault("timeout", 600)
    kwargs.setdefault("text", True)
    return subprocess.run([str(a) for a in args], capture_output=True, **kwargs)


def package(arch):
    deb = DIST / f"hailo-clip_{VERSION}_{arch}.deb"
    assert deb.is_file(), f"{deb} is missing: build it with scripts/package.sh --arch {arch}"
    return deb


def control(deb):
    r = run(["dpkg-deb", "--field", deb])
    assert r.returncode == 0, r.stderr
    fields = {}
    for line in r.stdout.splitlines():
        if line and not line.startswith(" "):
            key, _, value = line.partition(": ")
            fields[key] = value
    return fields


def contents(deb):
    """path -> (mode string, owner/group) from dpkg-deb --contents."""
    r = run(["dpkg-deb", "--contents", deb])
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        path = parts[5].removeprefix(".")
        out[path.rstrip("/") or "/"] = (parts[0], parts[1])
    return out


# ---------------------------------------------------------------- both packages, as files

@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_control_fields(arch):
    deb = package(arch)
    c = control(deb)
    assert c["Package"] == "hailo-clip"
    assert c["Version"] == VERSION, "the version is the project() version of CMakeLists.txt"
    assert c["Architecture"] == arch
    depends = c["Depends"]
    # Computed by dpkg-shlibdeps from the program's libraries, with versions.
    for lib in ["libopenblas0", "libjpeg62-turbo", "libpng16-16", "libwebp7", "libgif7", "libutf8proc2",
                "libyaml-cpp0.7", "libcpp-httplib0.11", "libsimdjson14", "libssl3", "libsystemd0", "libc6 (>= ",
                "libstdc++6 (>= "]:
        assert lib in depends, (lib, depends)
    assert "adduser" in depends
    assert "hailort" not in depends, "built without HailoRT: no dependency on it"
    assert "amd64" not in depends and "arm64" not in depends
    r = run(["dpkg-deb", "--info", deb])
    assert r.returncode == 0
    for script in ["postinst", "prerm", "postrm", "conffiles", "md5sums"]:
        assert re.search(rf"^\s+\d+ bytes,\s+\d+ lines\s+\*?\s*{script}\b", r.stdout, re.M), (script, r.stdout)


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_contents(arch):
    deb = package(arch)
    files = contents(deb)
    expected = {
        "/usr/bin/hailo-clip": "-rwxr-xr-x",
        "/usr/share/hailo-clip/selftest/expectations.json": "-rw-r--r--",
        "/usr/share/hailo-clip/selftest/images/CLIP.png": "-rw-r--r--",
        "/usr/share/hailo-clip/models.json": "-rw-r--r--",
        "/usr/share/hailo-clip/bpe_simple_vocab_16e6.txt.gz": "-rw-r--r--",
        "/usr/share/hailo-clip/verify.sh": "-rwxr-xr-x",
        "/lib/systemd/system/hailo-clip.service": "-rw-r--r--",
        "/usr/lib/sysusers.d/hailo-clip.conf": "-rw-r--r--",
        "/usr/lib/tmpfiles.d/hailo-clip.conf": "-rw-r--r--",
        "/etc/hailo/hailo-clip.yaml": "-rw-r--r--",
        "/usr/share/doc/hailo-clip/copyright": "-rw-r--r--",
        "/usr/share/doc/hailo-clip/changelog.gz": "-rw-r--r--",
        "/usr/share/doc/hailo-clip/README.md": "-rw-r--r--",
        "/usr/share/doc/hailo-clip/docs/deployment.md": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert path in files, (path, sorted(files))
        assert files[path] == (mode, "root/root"), (path, files[path])
    assert not any(p.startswith(("/opt", "/usr/local", "/var")) for p in files), "FHS: the package owns no /opt, /usr/local, /var"

    with tempfile.TemporaryDirectory() as tmp:
        assert run(["dpkg-deb", "-x", deb, tmp]).returncode == 0
        root = pathlib.Path(tmp)
        r = run(["file", "-b", root / "usr/bin/hailo-clip"])
        assert MACHINE[arch] in r.stdout and "stripped" in r.stdout and "not stripped" not in r.stdout, r.stdout
        unit = (root / "lib/systemd/system/hailo-clip.service").read_text()
        assert "\nExecStart=/usr/bin/hailo-clip serve\n" in unit
        assert "\nEnvironment=HAILO_CLIP_CONFIG=/etc/hailo/hailo-clip.yaml\n" in unit
        assert unit == (SOURCE_DIR / "deploy/hailo-clip.service").read_text(), "deploy/'s hardened unit"
        assert (root / "etc/hailo/hailo-clip.yaml").read_text() == (SOURCE_DIR / "config/hailo-clip.yaml").read_text()
        assert (root / "usr/lib/sysusers.d/hailo-clip.conf").read_text().splitlines()[-1] == \
               'u hailo-clip - "hailo-clip CLIP service" /var/lib/hailo-clip /usr/sbin/nologin'
        assert "d /var/lib/hailo-clip/models 0750 hailo-clip hailo-clip -" in \
               (root / "usr/lib/tmpfiles.d/hailo-clip.conf").read_text()
        assert "MIT License, Copyright (c) 2021 OpenAI" in (root / "usr/share/doc/hailo-clip/copyright").read_text()
    info = run(["dpkg-deb", "--ctrl-tarfile", deb], text=False)
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "control.tar").write_bytes(info.stdout)
        with tarfile.open(pathlib.Path(tmp) / "control.tar") as tar:
            assert tar.extractfile("./conffiles").read().decode() == "/etc/hailo/hailo-clip.yaml\n"


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_lintian_has_no_errors(arch):
    lintian = shutil.which("lintian")
    if lintian is None:
        pytest.fail("lintian is not installed (scripts/install-deps.sh installs it)")
    r = run([lintian, "--tag-display-limit", "0", package(arch)])
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    assert not errors, r.stdout
    # Every warning is one docs/deployment.md explains.
    documented = (SOURCE_DIR / "docs/deployment.md").read_text()
    for line in r.stdout.splitlines():
        if line.startswith("W:"):
            tag = line.split()[2]
            assert f"`{tag}`" in documented, f"lintian warning not explained in docs/deployment.md: {line}"


# ---------------------------------------------------------------- the amd64 package on this machine

def dpkg_status(name):
    r = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", name])
    return r.stdout.strip() if r.returncode == 0 else "not known"


def test_install_use_remove_purge_on_this_machine(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root: run scripts/test.sh as root (CI does)")
    if run(["dpkg", "--print-architecture"]).stdout.strip() != "amd64":
        pytest.skip("this test installs the amd64 package; this machine is not amd64")
    if dpkg_status("hailo-clip").startswith("ii"):
        pytest.fail("hailo-clip is already installed here: this test would purge it and its configuration; "
                    "remove it first (apt-get purge hailo-clip)")
    deb = package("amd64")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = run(["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=600", deb.resolve()], env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        # Not started without a model; the message names the one command that installs one.
        assert "the service is enabled but not started: no model is installed yet" in r.stdout, r.stdout
        assert "sudo -u hailo-clip hailo-clip models pull clip-vit-b-32" in r.stdout
        assert dpkg_status("hailo-clip") == "ii"

        # The program, from PATH, finds its installed data.
        assert run(["hailo-clip", "--version"]).stdout == f"hailo-clip {VERSION}\n"
        assert shutil.which("hailo-clip") == "/usr/bin/hailo-clip"
        # The self-test on the fixture model: its random weights have no published reference, so the verdict is
        # the sanity check's, computed with the installed pictures (/usr/share/hailo-clip/selftest).
        r = run(["hailo-clip", "selftest", "--model-dir", FIXTURES / "models/tiny-openai"])
        assert r.returncode == 1, r.stdout + r.stderr
        assert ("FAIL (sanity only): no published reference for this model, so its outputs were not compared with "
                "published numbers; its embeddings are well-formed, but only 1 of 8 reference pictures ranked their "
                "own description first") in r.stdout + r.stderr, r.stdout + r.stderr
        r = run(["hailo-clip", "classify", "--model-dir", FIXTURES / "models/tiny-openai", "--image",
                 "/usr/share/hailo-clip/selftest/images/CLIP.png", "--prompt", "a diagram", "--prompt", "a dog"])
        assert r.returncode == 0, r.stderr

        # The user, the state folder, the unit (enabled for the next boot), the conffile.
        r = run(["getent", "passwd", "hailo-clip"])
        assert r.returncode == 0
        fields = r.stdout.strip().split(":")
        assert fields[5] == "/var/lib/hailo-clip" and fields[6] == "/usr/sbin/nologin" and int(fields[2]) < 1000
        state = pathlib.Path("/var/lib/hailo-clip/models")
        assert state.is_dir() and oct(state.stat().st_mode & 0o777) == "0o750"
        assert state.owner() == "hailo-clip" and state.group() == "hailo-clip"
        assert pathlib.Path("/lib/systemd/system/hailo-clip.service").is_file()
        assert pathlib.Path("/etc/systemd/system/multi-user.target.wants/hailo-clip.service").is_symlink()
        config = pathlib.Path("/etc/hailo/hailo-clip.yaml")
        assert config.read_text() == (SOURCE_DIR / "config/hailo-clip.yaml").read_text()
        assert "/etc/hailo/hailo-clip.yaml" in run(["dpkg-query", "-W", "-f=${Conffiles}", "hailo-clip"]).stdout

        # remove: the program goes, the edited configuration, the models and the user stay.
        config.write_text(config.read_text().replace("port: 5000", "port: 5005"))
        (state / "kept.txt").write_text("a model file")
        r = run(["apt-get", "remove", "-y", "-o", "DPkg::Lock::Timeout=600", "hailo-clip"], env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert dpkg_status("hailo-clip") == "rc"
        assert not pathlib.Path("/usr/bin/hailo-clip").exists()
        assert "port: 5005" in config.read_text()
        assert (state / "kept.txt").is_file()
        assert run(["getent", "passwd", "hailo-clip"]).returncode == 0

        # purge: configuration, state and user are gone.
        r = run(["apt-get", "purge", "-y", "-o", "DPkg::Lock::Timeout=600", "hailo-clip"], env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert dpkg_status("hailo-clip") in ("un", "not known")
        assert not config.exists()
        assert not pathlib.Path("/var/lib/hailo-clip").exists()
        assert run(["getent", "passwd", "hailo-clip"]).returncode != 0
        assert run(["getent", "group", "hailo-clip"]).returncode != 0
        assert not pathlib.Path("/etc/systemd/system/multi-user.target.wants/hailo-clip.service").exists()
    finally:
        if dpkg_status("hailo-clip") != "not known" and not dpkg_status("hailo-clip").startswith("un"):
            run(["apt-get", "purge", "-y", "-o", "DPkg::Lock::Timeout=600", "hailo-clip"], env=env)
