#!/usr/bin/env bash
# Installs hailo-clip as a managed, hardened systemd service from its Debian package (docs/deployment.md).
#   sudo deploy/install.sh [--deb FILE] [--warmup] [--model-dir DIR] [--no-start] ...
# Without --deb it builds the package from this source tree (scripts/package.sh). Safe to run again: apt upgrades
# the program and keeps an edited config (dpkg's conffile handling); an installed model is kept.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/install.sh [options]
  --deb FILE         install this package (hailo-clip_<version>_<arch>.deb); default: build one from this
                     source tree with scripts/package.sh
  --model-dir DIR    install the model by copying DIR (model.safetensors, config.json, ...);
                     default: keep the installed one, else `hailo-clip models pull NAME`
  --model-name NAME  the model's name and folder under /var/lib/hailo-clip/models (default clip-vit-b-32)
  --base-url URL     where `models pull` downloads from (default https://huggingface.co; env HAILO_CLIP_MODEL_BASE_URL)
  --no-model         install without a model (the service will not start until one is in place)
  --root DIR         staging root (also DESTDIR=DIR): unpack the package below DIR and do there what its
                     maintainer scripts do; create no user, run no apt or systemctl, only print what would be run
  --no-start         install and enable, but do not start the service
  --warmup           after starting: wait until ready, classify a bundled picture, run the self-test (verify.sh)
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
root=${DESTDIR:-}
deb=""
model_src=""
model_name=clip-vit-b-32
base_url=""
want_model=1
start=1
warmup=0

while [ $# -gt 0 ]; do
    case "$1" in
        --deb) deb=${2:?--deb needs a file}; shift 2 ;;
        --root) root=${2:?--root needs a folder}; shift 2 ;;
        --model-dir) model_src=${2:?--model-dir needs a folder}; shift 2 ;;
        --model-name) model_name=${2:?--model-name needs a name}; shift 2 ;;
        --base-url) base_url=${2:?--base-url needs a URL}; shift 2 ;;
        --no-model) want_model=0; shift ;;
        --no-start) start=0; shift ;;
        --warmup) warmup=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

say() { echo "install: $*"; }
die() { echo "install: error: $*" >&2; exit 1; }
staging() { [ -n "$root" ]; }
run_system() {
    if staging; then
        say "staging root, not run: $*"
    else
        "$@"
    fi
}

case "$model_name" in */* | .* | "") die "--model-name must be a plain folder name, not '$model_name'" ;; esac
if staging; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
fi

config=/etc/hailo/hailo-clip.yaml
state=/var/lib/hailo-clip
models=$state/models
program=/usr/bin/hailo-clip

# --- prerequisites: everything that is missing, each with how to fix it, before changing anything
problems=()
command -v dpkg-deb >/dev/null || problems+=("dpkg-deb not found: installing needs a Debian/Ubuntu system")
if ! staging; then
    [ "$(id -u)" -eq 0 ] || problems+=("not running as root: run it with sudo (or stage with --root DIR)")
    command -v apt-get >/dev/null || problems+=("apt-get not found: installing needs a Debian/Ubuntu system")
    [ -d /run/systemd/system ] ||
        problems+=("systemd is not running on this machine: the service needs it (stage with --root DIR, or run 'hailo-clip serve' by hand)")
fi
if [ -n "$deb" ]; then
    if [ ! -f "$deb" ]; then
        problems+=("--deb $deb is not a file")
    elif ! dpkg-deb --field "$deb" Package 2>/dev/null | grep -qx hailo-clip; then
        problems+=("--deb $deb is not a hailo-clip package")
    fi
else
    [ -x "$src/scripts/package.sh" ] || problems+=("no source tree at $src to build the package from: pass --deb FILE")
fi
if [ -n "$model_src" ] && [ ! -f "$model_src/model.safetensors" ]; then
    problems+=("--model-dir $model_src has no model.safetensors (a CLIP model folder: model.safetensors, plus config.json for Hugging Face files)")
fi
if [ "$warmup" -eq 1 ] && ! staging && [ "$start" -eq 1 ]; then
    command -v python3 >/dev/null || problems+=("--warmup checks the service with python3: sudo apt-get install python3")
fi
if [ ${#problems[@]} -gt 0 ]; then
    for p in "${problems[@]}"; do echo "install: missing: $p" >&2; done
    exit 1
fi
staging && say "staging into $root (nothing outside it is changed)"

# --- the package: build it here unless one was given
if [ -z "$deb" ]; then
    say "building the package from the source tree (scripts/package.sh)"
    "$src/scripts/package.sh"
    version=$(sed -n 's/^project(hailo_clip VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
    deb=$src/dist/hailo-clip_${version}_$(dpkg --print-architecture).deb
fi
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
say "package: $deb ($(dpkg-deb --field "$deb" Version), $(dpkg-deb --field "$deb" Architecture))"

if staging; then
    # What dpkg does: unpack, keep an edited conffile (the new default goes beside it as .dpkg-dist), record the
    # files (uninstall.sh --root removes them); then what the postinst does, but the user and systemctl.
    kept_config=""
    if [ -f "$root$config" ]; then
        kept_config=$(mktemp)
        cp -p "$root$config" "$kept_config"
    fi
    dpkg-deb -x "$deb" "$root"
    if [ -n "$kept_config" ]; then
        if cmp -s "$kept_config" "$root$config"; then
            say "config: $config unchanged"
        else
            cp "$root$config" "$root$config.dpkg-dist"
            cp -p "$kept_config" "$root$config"
            say "config: kept your edited $config; the new default is beside it as $config.dpkg-dist"
        fi
        rm -f "$kept_config"
    else
        say "config: $config (the defaults; edit it and restart the service)"
    fi
    install -d -m 0755 "$root/var/lib/dpkg/info"
    dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -vx '/\?' \
        >"$root/var/lib/dpkg/info/hailo-clip.list"
    install -d -m 0750 "$root$state" "$root$models"
    say "staging root, not run: systemd-sysusers hailo-clip.conf (creates the system user hailo-clip)"
    say "staging root, not run: deb-systemd-helper enable hailo-clip.service"
else
    say "installing the package (apt-get install)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 "$deb"
fi

# --- the model's name in the configuration, when it is not the default one
if [ "$model_name" != clip-vit-b-32 ]; then
    sed -i -e "s|^  model: clip-vit-b-32 |  model: $model_name |" \
        -e "s|^  model_dir: /var/lib/hailo-clip/models/clip-vit-b-32 |  model_dir: $models/$model_name |" "$root$config"
    say "config: $config names the model $model_name"
fi

# --- the model
model_dest=$models/$model_name
if [ -n "$model_src" ]; then
    if [ -d "$root$model_dest" ] && diff -rq "$model_src" "$root$model_dest" >/dev/null 2>&1; then
        say "model: $model_dest already has these files"
    else
        # Copy beside, then swap: the service never sees a half-copied model.
        tmp="$root$models/.$model_name.install.$$"
        rm -rf "$tmp"
        cp -r "$model_src" "$tmp"
        find "$tmp" -type d -exec chmod 0750 {} + -o -type f -exec chmod 0640 {} +
        rm -rf "$root$model_dest.old"
        [ ! -e "$root$model_dest" ] || mv "$root$model_dest" "$root$model_dest.old"
        mv "$tmp" "$root$model_dest"
        rm -rf "$root$model_dest.old"
        say "model: copied $model_src to $model_dest"
    fi
elif [ -f "$root$model_dest/model.safetensors" ]; then
    say "model: keeping the installed $model_dest"
elif [ "$want_model" -eq 0 ]; then
    say "model: none installed (--no-model); put one in $model_dest before starting the service"
else
    say "model: downloading $model_name (hailo-clip models pull)"
    pull=("$root$program" models pull "$model_name" --dest "$root$models")
    [ -z "$base_url" ] || pull+=(--base-url "$base_url")
    if ! "${pull[@]}"; then
        die "the model could not be downloaded (see above); copy it in by hand and run install.sh again, or pass --model-dir DIR"
    fi
fi
if ! staging; then
    chown -R hailo-clip:hailo-clip "$state"
fi

# --- the Hailo NPU, where there is one: the device's group, and what the backend still needs (never fatal)
if ! staging && [ -c /dev/hailo0 ]; then
    dev_group=$(stat -c %G /dev/hailo0)
    if [ "$dev_group" != root ] && [ "$(($(stat -c '0%a' /dev/hailo0) & 6))" -ne 6 ]; then
        usermod -aG "$dev_group" hailo-clip
        say "hailo-clip joined group $dev_group for /dev/hailo0"
    fi
fi
if ! staging && [ -f "$here/hailo-checks.sh" ] && { [ -e /dev/hailo0 ] || command -v hailortcli >/dev/null; }; then
    # shellcheck disable=SC1091
    . "$here/hailo-checks.sh"
    hailo_check_all || say "the Hailo NPU cannot be used yet (see above); the CPU backend works meanwhile"
fi

# --- the service: the package enabled it; start it now that the model is in place
if [ "$start" -eq 1 ] && { [ -f "$root$model_dest/model.safetensors" ] || staging; }; then
    # Type=notify: this returns once the model is loaded and the warm-up inference passed, or fails.
    if ! run_system systemctl restart hailo-clip.service; then
        journalctl -u hailo-clip.service -n 30 --no-pager >&2 || true
        die "the service did not start; the log is above (journalctl -u hailo-clip.service)"
    fi
    staging || say "service: hailo-clip.service started and enabled"
else
    say "service: enabled, not started; start it with: sudo systemctl start hailo-clip.service"
fi

if [ "$warmup" -eq 1 ]; then
    if staging || [ "$start" -eq 0 ]; then
        say "warm-up skipped: the service was not started here"
    else
        "$here/verify.sh" --config "$config" --binary "$program" --wait 300
    fi
fi
say "done"
