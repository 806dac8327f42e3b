#!/usr/bin/env bash
# Makes a sysroot of Debian arm64 packages for cross-building (cmake/aarch64-linux-gnu.cmake) and for running the
# result under qemu: the arm64 -dev packages hailo-clip builds with and everything they need at run time, fetched
# with `apt-get download` and unpacked with `dpkg -x`. Nothing is installed for arm64 on the host, so the host's
# amd64 -dev packages stay (libyaml-cpp-dev cannot be installed for two architectures at once).
#   scripts/arm64-sysroot.sh DIR
# Installs the cross toolchain and qemu first (needs root or sudo). Safe to run again: a sysroot made from the
# same package versions is kept.
set -euo pipefail

sysroot=${1:?usage: scripts/arm64-sysroot.sh DIR}
debs=$sysroot.debs

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
apt_get() { DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# The arm64 package lists (apt-get download and apt-cache need them) and the host tools.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "arm64-sysroot: adding the arm64 architecture to dpkg (for its package lists; nothing arm64 is installed)"
    "${sudo_cmd[@]}" dpkg --add-architecture arm64
    apt_get update -qq
elif ! apt-cache show libc6:arm64 >/dev/null 2>&1; then
    apt_get update -qq
fi
tools=(crossbuild-essential-arm64 qemu-user-static)
missing=()
for p in "${tools[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || apt_get install -y -qq --no-install-recommends "${missing[@]}"

# The same libraries as scripts/install-deps.sh, for arm64, and the C/C++ runtime qemu needs to run the tests.
wanted=(
    libopenblas-dev libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libutf8proc-dev zlib1g-dev
    libssl-dev libyaml-cpp-dev libcpp-httplib-dev libsystemd-dev libgtest-dev libgmock-dev libsimdjson-dev
    libc6 libstdc++6 libgcc-s1
)
# Everything they depend on, for arm64. Left out: the C library's headers (the cross compiler brings its own, see
# cmake/aarch64-linux-gnu.cmake) and the OpenMP and single-threaded OpenBLAS builds (alternatives of the pthread one
# that Debian installs by default).
skip='^(libc6-dev|libc-dev-bin|linux-libc-dev|libcrypt-dev|libnsl-dev|libtirpc-dev|rpcsvc-proto|libopenblas0-openmp|libopenblas-openmp-dev|libopenblas0-serial|libopenblas-serial-dev):'
mapfile -t packages < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${wanted[@]/%/:arm64}" | grep -E '^[a-z0-9][^ ]*:arm64$' | grep -Ev "$skip" |
    sort -u)
# Header-only libraries are "Architecture: all": the closure above lists them without :arm64.
packages+=(nlohmann-json3-dev)
# What `update-alternatives` does on install (dpkg -x runs no maintainer script): libopenblas.so.0, libblas.so.3,
# openblas.pc, ... point at the pthread build of OpenBLAS. In the sysroot for the linker and qemu, and in the
# OpenBLAS packages' own trees, where dpkg-shlibdeps -S looks for the library and its package's shlibs.
alternatives() {
    local multiarch=$1/usr/lib/aarch64-linux-gnu
    [ -d "$multiarch/openblas-pthread" ] || return 0
    (cd "$multiarch/openblas-pthread" && find . \( -name '*.so*' -o -name '*.pc' \) -printf '%P\n') | while read -r f; do
        # -L too: a link into a runtime package's file dangles in a -dev package's own tree, and -e says no.
        [ -e "$multiarch/$f" ] || [ -L "$multiarch/$f" ] || ln -s "$(realpath -m --relative-to="$(dirname "$multiarch/$f")" \
            "$multiarch/openblas-pthread/$f")" "$multiarch/$f"
    done
}

# One apt call for every file name (name_version_arch.deb) and checksum: what the sysroot is made of.
uris=$(apt-get download --print-uris "${packages[@]}")
stamp=$(sha256sum <<<"$uris" | cut -c1-16)
if [ -f "$sysroot/.hclip-sysroot" ] && [ "$(cat "$sysroot/.hclip-sysroot")" = "$stamp" ] && [ -d "$sysroot.pkgs" ]; then
    for pkg in "$sysroot".pkgs/libopenblas*; do alternatives "$pkg"; done
    echo "arm64-sysroot: $sysroot is up to date (${#packages[@]} packages)"
    exit 0
fi

echo "arm64-sysroot: downloading ${#packages[@]} arm64 packages"
mkdir -p "$debs"
# Keep the files already fetched whose name (and so version) is still wanted.
mapfile -t files < <(awk '{print $2}' <<<"$uris")
find "$debs" -name '*.deb' -printf '%f\n' | { grep -vxF -f <(printf '%s\n' "${files[@]}") || true; } |
    sed "s|^|$debs/|" | xargs -r rm -f
# apt-get download writes to the current folder; as root it warns that _apt cannot write there, harmlessly.
(cd "$debs" && apt-get download -q "${packages[@]}" 2>&1) | { grep -v "unsandboxed as root" || true; }
for f in "${files[@]}"; do
    [ -f "$debs/$f" ] || { echo "arm64-sysroot: $f was not downloaded" >&2; exit 1; }
done

rm -rf "$sysroot" "$sysroot.pkgs"
mkdir -p "$sysroot" "$sysroot.pkgs"
for f in "${files[@]}"; do
    dpkg -x "$debs/$f" "$sysroot"
    # Each package also with its control files (DEBIAN/shlibs, DEBIAN/symbols): dpkg-shlibdeps -S reads the
    # arm64 package's dependency information there (scripts/package.sh --arch arm64).
    dpkg-deb -R "$debs/$f" "$sysroot.pkgs/${f%%_*}"
done
# The packages' absolute links (/lib/aarch64-linux-gnu/libz.so.1, ...) would point at the host: make them relative
# to the sysroot.
find "$sysroot" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
done
alternatives "$sysroot"
for pkg in "$sysroot".pkgs/libopenblas*; do alternatives "$pkg"; done
echo "$stamp" >"$sysroot/.hclip-sysroot"
echo "arm64-sysroot: $sysroot ready (${#packages[@]} packages)"
