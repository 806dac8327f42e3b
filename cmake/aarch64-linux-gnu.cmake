# Cross-compiling for 64-bit Arm Linux (Raspberry Pi 5, Debian/Raspberry Pi OS arm64) with Debian's cross
# toolchain (crossbuild-essential-arm64). The libraries come from a sysroot: the arm64 packages unpacked with
# `dpkg -x` into one folder (scripts/cross-test.sh makes it), so the host keeps its own amd64 -dev packages
# (libyaml-cpp-dev, for one, cannot be installed for two architectures at once).
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DHCLIP_SYSROOT=DIR
# Debian's cross compiler keeps its own C and C++ runtime (/usr/aarch64-linux-gnu) with --sysroot and adds
# DIR/usr/include; the linker resolves the libraries' own dependencies below DIR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT HCLIP_SYSROOT AND DEFINED ENV{HCLIP_SYSROOT})
    set(HCLIP_SYSROOT "$ENV{HCLIP_SYSROOT}")
endif()
if(NOT HCLIP_SYSROOT OR NOT IS_DIRECTORY "${HCLIP_SYSROOT}/usr/include")
    message(FATAL_ERROR "HCLIP_SYSROOT must name a folder of unpacked arm64 packages (scripts/cross-test.sh makes one)")
endif()
# try_compile projects see the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HCLIP_SYSROOT)

set(CMAKE_SYSROOT "${HCLIP_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${HCLIP_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads the sysroot's .pc files and prefixes the paths in them with the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${HCLIP_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${HCLIP_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${HCLIP_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Tests run under user-mode emulation of the Raspberry Pi 5's core, with the sysroot's loader and libraries.
find_program(HCLIP_QEMU_AARCH64 qemu-aarch64-static)
if(HCLIP_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${HCLIP_QEMU_AARCH64};-cpu;cortex-a76;-L;${HCLIP_SYSROOT}")
endif()
