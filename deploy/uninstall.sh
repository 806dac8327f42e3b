#!/usr/bin/env bash
# Removes the hailo-clip package (docs/deployment.md): `apt-get remove` keeps the config, the models and the user;
# --purge (`apt-get purge`) deletes them.
#   sudo deploy/uninstall.sh [--purge] [--root DIR]
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/uninstall.sh [options]
  --purge      also delete the config (/etc/hailo/hailo-clip.yaml), the models and state (/var/lib/hailo-clip)
               and the user hailo-clip (apt-get purge)
  --root DIR   staging root of install.sh --root (also DESTDIR=DIR): remove below DIR only; run no apt
USAGE
}

root=${DESTDIR:-}
purge=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=${2:?--root needs a folder}; shift 2 ;;
        --purge) purge=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "uninstall: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

say() { echo "uninstall: $*"; }
staging() { [ -n "$root" ]; }

if ! staging; then
    [ "$(id -u)" -eq 0 ] || { echo "uninstall: not running as root: run it with sudo (or --root DIR)" >&2; exit 1; }
    if dpkg-query -W -f='${db:Status-Abbrev}' hailo-clip 2>/dev/null | grep -q '^[ir]'; then
        action=remove
        [ "$purge" -eq 0 ] || action=purge
        DEBIAN_FRONTEND=noninteractive apt-get "$action" -y -o DPkg::Lock::Timeout=600 hailo-clip
        say "apt-get $action hailo-clip: done"
    else
        say "the hailo-clip package is not installed"
    fi
    [ "$purge" -eq 1 ] || say "kept /etc/hailo/hailo-clip.yaml, /var/lib/hailo-clip (models) and the user; --purge removes them"
    say "done"
    exit 0
fi

# A staging root: what dpkg would do, from the file list install.sh --root recorded.
[ -d "$root" ] || { echo "uninstall: no staging root at $root" >&2; exit 1; }
root=$(cd "$root" && pwd)
list=$root/var/lib/dpkg/info/hailo-clip.list
if [ -f "$list" ]; then
    # Files first, then the folders that are left empty, deepest first; the conffile stays unless purging.
    while read -r path; do
        [ "$path" = /etc/hailo/hailo-clip.yaml ] && continue
        if [ -f "$root$path" ] || [ -L "$root$path" ]; then rm -f "$root$path"; fi
    done <"$list"
    sort -r "$list" | while read -r path; do
        if [ -d "$root$path" ]; then rmdir "$root$path" 2>/dev/null || true; fi
    done
    rm -f "$list"
    say "removed the package's files"
else
    say "no package installed in $root"
fi
if [ "$purge" -eq 1 ]; then
    rm -rf "$root/var/lib/hailo-clip"
    rm -f "$root/etc/hailo/hailo-clip.yaml" "$root/etc/hailo/hailo-clip.yaml.dpkg-dist"
    rmdir "$root/etc/hailo" 2>/dev/null || true # shared with other Hailo software: only when empty
    rmdir "$root/etc" 2>/dev/null || true
    say "staging root, not run: deluser --system hailo-clip"
    say "purged /etc/hailo/hailo-clip.yaml and /var/lib/hailo-clip (models)"
else
    say "kept /etc/hailo/hailo-clip.yaml and /var/lib/hailo-clip (models); --purge removes them"
fi
say "done"
