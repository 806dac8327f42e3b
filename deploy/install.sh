#!/usr/bin/env bash
# Installs hailo-clip as a managed, hardened systemd service (docs/deployment.md).
#   sudo deploy/install.sh [--warmup] [--model-dir DIR] [--binary PATH] [--no-start] ...
# Safe to run again: it updates the program and the unit, keeps an edited config and an installed model.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/install.sh [options]
  --model-dir DIR    install the model by copying DIR (model.safetensors, config.json, ...);
                     default: keep the installed one, else `hailo-clip models pull NAME`
  --model-name NAME  the model's name and folder under /var/lib/hailo-clip/models (default clip-vit-b-32)
  --base-url URL     where `models pull` downloads from (default https://huggingface.co; env HAILO_CLIP_MODEL_BASE_URL)
  --no-model         install without a model (the service will not start until one is in place)
  --binary PATH      install this hailo-clip binary instead of building one from this source tree
  --prefix DIR       program folder (default /opt/hailo-clip)
  --root DIR         staging root (also DESTDIR=DIR): install below DIR; create no user, run no systemctl,
                     only print what would be run
  --no-start         install and enable, but do not (re)start the service
  --warmup           after starting: wait until ready, classify a bundled picture, run the self-test (verify.sh)
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
root=${DESTDIR:-}
prefix=/opt/hailo-clip
model_src=""
model_name=clip-vit-b-32
base_url=""
binary=""
want_model=1
start=1
warmup=0

while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=${2:?--root needs a folder}; shift 2 ;;
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --model-dir) model_src=${2:?--model-dir needs a folder}; shift 2 ;;
        --model-name) model_name=${2:?--model-name needs a name}; shift 2 ;;
        --base-url) base_url=${2:?--base-url needs a URL}; shift 2 ;;
        --binary) binary=${2:?--binary needs a path}; shift 2 ;;
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
# A command that changes the running system: run it, or in a staging root only say what would be run.
run_system() {
    if staging; then
        say "staging root, not run: $*"
    else
        "$@"
    fi
}

case "$prefix" in /*) ;; *) die "--prefix must be an absolute path, not '$prefix'" ;; esac
case "$model_name" in */* | .* | "") die "--model-name must be a plain folder name, not '$model_name'" ;; esac
if staging; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
fi

config_dir=/etc/hailo
config=$config_dir/hailo-clip.yaml
state=/var/lib/hailo-clip
models=$state/models
unit=/etc/systemd/system/hailo-clip.service
sysusers=/usr/lib/sysusers.d/hailo-clip.conf

# --- prerequisites: everything that is missing, each with how to fix it, before changing anything
problems=()
if ! staging; then
    [ "$(id -u)" -eq 0 ] || problems+=("not running as root: run it with sudo (or stage with --root DIR)")
    [ -d /run/systemd/system ] ||
        problems+=("systemd is not running on this machine: the service needs it (stage with --root DIR, or run 'hailo-clip serve' by hand)")
    command -v systemctl >/dev/null || problems+=("systemctl not found: sudo apt-get install systemd")
    if ! getent passwd hailo-clip >/dev/null && ! command -v systemd-sysusers >/dev/null &&
        ! command -v useradd >/dev/null; then
        problems+=("neither systemd-sysusers nor useradd found to create the user: sudo apt-get install passwd")
    fi
fi
if [ -n "$binary" ]; then
    [ -x "$binary" ] || problems+=("--binary $binary is not an executable file")
else
    command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
        problems+=("building needs a Debian/Ubuntu system (apt-get, dpkg); on others, build by hand and pass --binary PATH")
    [ -f "$src/CMakeLists.txt" ] || problems+=("no source tree at $src to build from: pass --binary PATH")
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

# --- the program: build it here unless one was given
if [ -z "$binary" ]; then
    say "installing the build dependencies and building (scripts/build.sh)"
    "$src/scripts/build.sh"
    binary=$src/build/cli/hailo-clip
fi
install -d -m 0755 "$root$prefix/bin" "$root$prefix/share/hailo-clip" "$root$prefix/share/doc/hailo-clip"
install -m 0755 "$binary" "$root$prefix/bin/hailo-clip"
# The self-test finds its data at <exe>/../share/hailo-clip/selftest; replace it whole so no stale picture stays.
rm -rf "$root$prefix/share/hailo-clip/selftest.new"
cp -r "$src/assets/selftest" "$root$prefix/share/hailo-clip/selftest.new"
find "$root$prefix/share/hailo-clip/selftest.new" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
rm -rf "$root$prefix/share/hailo-clip/selftest"
mv "$root$prefix/share/hailo-clip/selftest.new" "$root$prefix/share/hailo-clip/selftest"
install -m 0644 "$src/assets/models.json" "$root$prefix/share/hailo-clip/models.json"
install -d -m 0755 "$root$prefix/share/hailo-clip/deploy"
install -m 0755 "$here/verify.sh" "$here/uninstall.sh" "$root$prefix/share/hailo-clip/deploy/"
install -m 0644 "$src/docs/deployment.md" "$root$prefix/share/doc/hailo-clip/deployment.md"
install -d -m 0755 "$root/usr/local/bin"
link=$root/usr/local/bin/hailo-clip
if [ -e "$link" ] && [ ! -L "$link" ]; then
    say "left /usr/local/bin/hailo-clip alone (not our link); the program is $prefix/bin/hailo-clip"
else
    ln -sfn "$prefix/bin/hailo-clip" "$link"
fi
say "program: $prefix/bin/hailo-clip (+ share/hailo-clip/selftest), linked from /usr/local/bin/hailo-clip"

# --- the system user
install -d -m 0755 "$root/usr/lib/sysusers.d"
printf 'u hailo-clip - "hailo-clip CLIP service" %s /usr/sbin/nologin\n' "$state" >"$root$sysusers"
chmod 0644 "$root$sysusers"
if staging; then
    say "staging root, not run: systemd-sysusers $sysusers (creates the system user hailo-clip)"
elif getent passwd hailo-clip >/dev/null; then
    say "user hailo-clip exists"
elif command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$sysusers"
    say "created the system user hailo-clip"
else
    useradd --system --user-group --home-dir "$state" --no-create-home --shell /usr/sbin/nologin hailo-clip
    say "created the system user hailo-clip"
fi
# The NPU's device node: if only a group may use it, the service user joins that group.
if ! staging && [ -c /dev/hailo0 ]; then
    dev_group=$(stat -c %G /dev/hailo0)
    if [ "$dev_group" != root ] && [ "$(($(stat -c '0%a' /dev/hailo0) & 6))" -ne 6 ]; then
        usermod -aG "$dev_group" hailo-clip
        say "hailo-clip joined group $dev_group for /dev/hailo0"
    fi
fi

# --- the configuration: never overwrite an edited one
install -d -m 0755 "$root$config_dir"
default_config=$(mktemp)
trap 'rm -f "$default_config"' EXIT
sed -e "s|^  model: clip-vit-b-32 |  model: $model_name |" \
    -e "s|^  model_dir: /var/lib/hailo-clip/models/clip-vit-b-32 |  model_dir: $models/$model_name |" \
    "$src/config/hailo-clip.yaml" >"$default_config"
if [ ! -e "$root$config" ]; then
    install -m 0644 "$default_config" "$root$config"
    say "config: $config (the defaults; edit it and restart the service)"
elif cmp -s "$default_config" "$root$config"; then
    rm -f "$root$config.new"
    say "config: $config unchanged"
else
    install -m 0644 "$default_config" "$root$config.new"
    say "config: kept your edited $config; the new default is beside it as $config.new (compare: diff $config $config.new)"
fi

# --- state and the model
install -d -m 0750 "$root$state"
install -d -m 0750 "$root$models"
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
    pull=("$root$prefix/bin/hailo-clip" models pull "$model_name" --dest "$root$models")
    [ -z "$base_url" ] || pull+=(--base-url "$base_url")
    if ! "${pull[@]}"; then
        die "the model could not be downloaded (see above); copy it in by hand and run install.sh again, or pass --model-dir DIR"
    fi
fi
if ! staging; then
    chown -R hailo-clip:hailo-clip "$state"
fi

# --- the Hailo NPU, where there is one: report what the backend still needs (never fatal: the CPU works)
if ! staging && [ -f "$here/hailo-checks.sh" ] && { [ -e /dev/hailo0 ] || command -v hailortcli >/dev/null; }; then
    # shellcheck disable=SC1091
    . "$here/hailo-checks.sh"
    hailo_check_all || say "the Hailo NPU cannot be used yet (see above); the CPU backend works meanwhile"
fi

# --- the unit
install -d -m 0755 "$root/etc/systemd/system"
sed "s|/opt/hailo-clip|$prefix|g" "$here/hailo-clip.service" >"$root$unit.tmp"
chmod 0644 "$root$unit.tmp"
mv "$root$unit.tmp" "$root$unit"
say "unit: $unit"
run_system systemctl daemon-reload
run_system systemctl enable hailo-clip.service
if [ "$start" -eq 1 ]; then
    # Type=notify: this returns once the model is loaded and the warm-up inference passed, or fails.
    if ! run_system systemctl restart hailo-clip.service; then
        journalctl -u hailo-clip.service -n 30 --no-pager >&2 || true
        die "the service did not start; the log is above (journalctl -u hailo-clip.service)"
    fi
    staging || say "service: hailo-clip.service started and enabled"
else
    say "service: enabled, not started (--no-start); start it with: sudo systemctl start hailo-clip.service"
fi

if [ "$warmup" -eq 1 ]; then
    if staging || [ "$start" -eq 0 ]; then
        say "warm-up skipped: the service was not started here"
    else
        "$here/verify.sh" --config "$config" --binary "$prefix/bin/hailo-clip" --wait 300
    fi
fi
say "done"
