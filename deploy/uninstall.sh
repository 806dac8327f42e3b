#!/usr/bin/env bash
# Removes the hailo-clip service and program. Keeps the config (/etc/hailo/hailo-clip.yaml), the models and the
# user unless asked (docs/deployment.md).
#   sudo deploy/uninstall.sh [--remove-user] [--purge-data] [--prefix DIR] [--root DIR]
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/uninstall.sh [options]
  --remove-user   also delete the system user hailo-clip
  --purge-data    also delete the models and state (/var/lib/hailo-clip) and the config (/etc/hailo/hailo-clip.yaml)
  --prefix DIR    program folder (default /opt/hailo-clip)
  --root DIR      staging root (also DESTDIR=DIR): remove below DIR only; run no systemctl or userdel
USAGE
}

root=${DESTDIR:-}
prefix=/opt/hailo-clip
remove_user=0
purge=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=${2:?--root needs a folder}; shift 2 ;;
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --remove-user) remove_user=1; shift ;;
        --purge-data) purge=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "uninstall: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

say() { echo "uninstall: $*"; }
staging() { [ -n "$root" ]; }
run_system() {
    if staging; then
        say "staging root, not run: $*"
    else
        "$@"
    fi
}
case "$prefix" in /*) ;; *) echo "uninstall: --prefix must be an absolute path" >&2; exit 2 ;; esac
if staging; then
    [ -d "$root" ] || { echo "uninstall: no staging root at $root" >&2; exit 1; }
    root=$(cd "$root" && pwd)
elif [ "$(id -u)" -ne 0 ]; then
    echo "uninstall: not running as root: run it with sudo (or give a staging root with --root DIR)" >&2
    exit 1
fi

unit=/etc/systemd/system/hailo-clip.service
if [ -e "$root$unit" ]; then
    if staging || [ -d /run/systemd/system ]; then
        run_system systemctl disable --now hailo-clip.service || true
    fi
    rm -f "$root$unit"
    if staging || [ -d /run/systemd/system ]; then
        run_system systemctl daemon-reload
        run_system systemctl reset-failed hailo-clip.service 2>/dev/null || true
    fi
    say "stopped, disabled and removed hailo-clip.service"
else
    say "no unit installed"
fi

if [ -L "$root/usr/local/bin/hailo-clip" ] && [ "$(readlink "$root/usr/local/bin/hailo-clip")" = "$prefix/bin/hailo-clip" ]; then
    rm -f "$root/usr/local/bin/hailo-clip"
fi
if [ -d "$root$prefix" ]; then
    rm -rf "$root$prefix"
    say "removed $prefix"
fi

if [ "$purge" -eq 1 ]; then
    rm -rf "$root/var/lib/hailo-clip"
    rm -f "$root/etc/hailo/hailo-clip.yaml" "$root/etc/hailo/hailo-clip.yaml.new"
    rmdir "$root/etc/hailo" 2>/dev/null || true  # shared with other Hailo services: only when empty
    say "purged /var/lib/hailo-clip (models) and /etc/hailo/hailo-clip.yaml"
else
    kept=""
    [ ! -e "$root/etc/hailo/hailo-clip.yaml" ] || kept="/etc/hailo/hailo-clip.yaml"
    [ ! -e "$root/var/lib/hailo-clip" ] || kept="${kept:+$kept and }/var/lib/hailo-clip (models)"
    [ -z "$kept" ] || say "kept $kept; --purge-data removes them"
fi

if [ "$remove_user" -eq 1 ]; then
    rm -f "$root/usr/lib/sysusers.d/hailo-clip.conf"
    if staging; then
        say "staging root, not run: userdel hailo-clip"
    elif getent passwd hailo-clip >/dev/null; then
        userdel hailo-clip
        getent group hailo-clip >/dev/null && groupdel hailo-clip
        say "removed the user hailo-clip"
    fi
elif [ -e "$root/usr/lib/sysusers.d/hailo-clip.conf" ] || { ! staging && getent passwd hailo-clip >/dev/null; }; then
    say "kept the user hailo-clip; --remove-user removes it"
fi
say "done"
