#!/usr/bin/env bash
# Builds the Debian package dist/hailo-clip_<version>_<arch>.deb (docs/deployment.md).
#   scripts/package.sh                 for this machine's architecture
#   scripts/package.sh --arch arm64    for the Raspberry Pi 5; cross-built on an amd64 machine
#   --build-dir DIR    package the program of this existing build instead of building one (installed with
#                      --prefix /usr; e.g. build-aarch64 of scripts/cross-test.sh)
#   --out DIR          where the .deb goes (default dist/)
# The version is the project() version of CMakeLists.txt. Dependencies are computed from the program's shared
# libraries (dpkg-shlibdeps). Installs what it needs (scripts/install-deps.sh; for arm64 on another machine,
# scripts/arm64-sysroot.sh). A build that finds HailoRT links it, and the package then depends on HailoRT's.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

host_arch=$(dpkg --print-architecture)
arch=$host_arch
build=""
out=$src/dist
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
        --build-dir) build=$(cd "${2:?--build-dir needs a folder}" && pwd); shift 2 ;;
        --out) out=${2:?--out needs a folder}; shift 2 ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "package: unknown option '$1'" >&2; exit 2 ;;
    esac
done
case "$arch" in amd64 | arm64) ;; *) echo "package: --arch must be amd64 or arm64, not '$arch'" >&2; exit 2 ;; esac

scripts/install-deps.sh
configure=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHCLIP_FATAL_WARNINGS=ON -DHCLIP_BUILD_TESTS=OFF
           -DCMAKE_INSTALL_PREFIX=/usr)
command -v ccache >/dev/null && configure+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
shlibdeps_env=()
shlibdeps_args=()
if [ "$arch" != "$host_arch" ]; then
    if [ "$arch" != arm64 ] || [ "$host_arch" != amd64 ]; then
        echo "package: can cross-build arm64 on amd64 only, not $arch on $host_arch" >&2
        exit 2
    fi
    sysroot=$src/build-aarch64/sysroot
    scripts/arm64-sysroot.sh "$sysroot"
    configure+=(-DCMAKE_TOOLCHAIN_FILE="$src/cmake/aarch64-linux-gnu.cmake" -DHCLIP_SYSROOT="$sysroot")
    # dpkg-shlibdeps: arm64's library folders, and each arm64 package's shlibs/symbols (-S: its unpacked tree).
    shlibdeps_env=(DEB_HOST_ARCH=arm64 DEB_HOST_MULTIARCH=aarch64-linux-gnu DEB_HOST_GNU_TYPE=aarch64-linux-gnu)
    shlibdeps_args=(-l"$sysroot/lib/aarch64-linux-gnu" -l"$sysroot/usr/lib/aarch64-linux-gnu")
    for pkg in "$sysroot.pkgs"/*; do shlibdeps_args+=(-S"$pkg"); done
fi

if [ -z "$build" ]; then
    build=$src/build-package-$arch
    echo "=== package $arch: build ($build)"
    cmake -S . -B "$build" -G Ninja "${configure[@]}" >/dev/null
    cmake --build "$build" -j "$(nproc)" --target hailo-clip
fi
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || { echo "package: no project version in $build/CMakeCache.txt" >&2; exit 1; }

# The package tree where dpkg-shlibdeps expects it: debian/<package> beside a debian/control.
work=$build/deb
stage=$work/debian/hailo-clip
rm -rf "$work"
mkdir -p "$work/debian"
printf 'Source: hailo-clip\n\nPackage: hailo-clip\nArchitecture: any\n' >"$work/debian/control"
DESTDIR=$stage cmake --install "$build" --prefix /usr --strip >/dev/null
binary=$stage/usr/bin/hailo-clip
machine=$(readelf -h "$binary" | sed -n 's/^ *Machine: *//p')
case "$arch:$machine" in
    amd64:*X86-64* | arm64:AArch64) ;;
    *) echo "package: $build holds a program for '$machine', not for $arch" >&2; exit 1 ;;
esac

# Debian's documentation files: the copyright notice and a changelog (changelog.gz: the version has no Debian
# revision, so this is a native package).
doc=$stage/usr/share/doc/hailo-clip
{
    echo "hailo-clip"
    echo
    echo "The licence notices of the program and of the third-party files it ships, from its NOTICE file:"
    echo
    sed 's/^/  /' NOTICE
    echo
    echo "On Debian systems the full text of the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0."
} >"$doc/copyright"
rm -f "$doc/NOTICE"
{
    echo "hailo-clip ($version) unstable; urgency=medium"
    echo
    echo "  * Built from the hailo-clip source tree; its changes are in CHANGELOG.md."
    echo
    echo " -- ${HCLIP_DEB_MAINTAINER:-hailo-clip developers <hailo-clip@packages.invalid>}  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n >"$doc/changelog.gz"

# Dependencies from the shared libraries the program needs.
shlibs=$(cd "$work" && env "${shlibdeps_env[@]}" dpkg-shlibdeps -O --warnings=7 "${shlibdeps_args[@]}" \
    -e"debian/hailo-clip/usr/bin/hailo-clip" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
case "$shlibs" in *libopenblas*) ;; *) echo "package: no OpenBLAS in the dependencies: $shlibs" >&2; exit 1 ;; esac
# HailoRT: linked only where the build found it (HCLIP_WITH_HAILORT). Hailo's runtime package may ship no shlibs
# file for dpkg-shlibdeps to read; then the package that owns the library is named here, at its installed version.
with_hailort=no
hailort_lib=$(readelf -d "$binary" | sed -n 's/.*NEEDED.*\[\(libhailort[^]]*\)\].*/\1/p')
if [ -n "$hailort_lib" ]; then
    with_hailort=yes
    owner=$(dpkg -S "*/$hailort_lib" 2>/dev/null | head -1 | cut -d: -f1)
    if [ -n "$owner" ] && ! grep -q "$owner" <<<"$shlibs"; then
        shlibs="$shlibs, $owner (>= $(dpkg-query -W -f='${Version}' "$owner"))"
    fi
    grep -qi hailo <<<"$shlibs" || { echo "package: linked $hailort_lib but found no package for it" >&2; exit 1; }
fi

# The maintainer scripts (packaging/debian) and the control files.
install -d -m 0755 "$stage/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
echo /etc/hailo/hailo-clip.yaml >"$stage/DEBIAN/conffiles"
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: hailo-clip
Version: $version
Architecture: $arch
Maintainer: ${HCLIP_DEB_MAINTAINER:-hailo-clip developers <hailo-clip@packages.invalid>}
Installed-Size: $installed_size
Depends: $shlibs, adduser
Recommends: systemd
Section: misc
Priority: optional
Description: CLIP zero-shot image classification and embeddings over REST
 hailo-clip classifies pictures against free-text prompts and computes CLIP
 image and text embeddings, as a command-line tool and a REST service run by
 systemd (user hailo-clip, configuration /etc/hailo/hailo-clip.yaml, models in
 /var/lib/hailo-clip/models). It runs on any CPU (OpenBLAS) and, where built
 with HailoRT, on a Hailo-10H NPU.
 .
 The service is enabled but not started until a model is installed:
 sudo -u hailo-clip hailo-clip models pull clip-vit-b-32
CONTROL
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/hailo-clip_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "package: $deb (Depends: $shlibs, adduser; HailoRT: $with_hailort)"
