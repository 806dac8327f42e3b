# shellcheck shell=bash
# Checks for the Hailo NPU backend, meant to be sourced by deploy/install.sh and deploy/verify.sh:
#
#   . "$(dirname "$0")/hailo-checks.sh"
#   hailo_check_all || echo "the Hailo backend cannot run yet (see above); clip.backend: cpu still works"
#
# Every function prints what it found, and for a problem the command that fixes it, and returns 0 (ok) or 1.
# Nothing here installs or downloads anything. HAILO_RESOURCES overrides the resource root.

HAILO_RESOURCES="${HAILO_RESOURCES:-/usr/local/hailo/resources}"
HAILO_ARCH_DIR="${HAILO_ARCH_DIR:-hailo10h}"

hailo__say() { printf 'hailo: %s\n' "$*"; }
hailo__fix() { printf 'hailo:   fix: %s\n' "$*"; }

# The HailoRT version as x.y.z, or nothing.
hailo_runtime_version() {
    command -v hailortcli >/dev/null 2>&1 || return 1
    hailortcli --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1
}

# hailortcli and the runtime package (AI HAT+ 2: hailo-h10-all, which brings h10-hailort and the hailo1x_pci driver).
hailo_check_runtime() {
    if ! command -v hailortcli >/dev/null 2>&1; then
        hailo__say "hailortcli not found: HailoRT is not installed"
        hailo__fix "sudo apt install dkms hailo-h10-all && sudo reboot   # AI HAT+ 2 (Hailo-10H)"
        hailo__fix "(AI HAT+ / AI Kit with Hailo-8/8L: hailo-all instead; the two packages cannot be installed together)"
        return 1
    fi
    local v
    v="$(hailo_runtime_version)"
    hailo__say "HailoRT ${v:-(version unknown)} ($(command -v hailortcli))"
    case "$v" in
        5.*) ;;
        4.*) hailo__say "HailoRT 4.x drives Hailo-8/8L; the AI HAT+ 2 (Hailo-10H) needs HailoRT 5 (hailo-h10-all)" ;;
        *) ;;
    esac
    return 0
}

# The device answers and is a Hailo-10H.
hailo_check_device() {
    command -v hailortcli >/dev/null 2>&1 || { hailo__say "cannot check the device without hailortcli"; return 1; }
    local out
    if ! out="$(hailortcli fw-control identify 2>&1)"; then
        hailo__say "no Hailo device answered: $(printf '%s' "$out" | tail -n 1)"
        hailo__fix "check the HAT is seated and the driver is loaded: lsmod | grep hailo; dmesg | grep -i hailo"
        hailo__fix "reinstall and reboot if the driver is missing: sudo apt install --reinstall hailo-h10-all && sudo reboot"
        hailo__fix "if another program holds it: sudo lsof /dev/hailo0"
        return 1
    fi
    local arch
    arch="$(printf '%s\n' "$out" | sed -n 's/.*Device Architecture: *//p' | head -n 1)"
    hailo__say "device: ${arch:-unknown architecture}"
    case "$arch" in
        HAILO10H*) return 0 ;;
        *)
            hailo__say "the CLIP HEFs configured by default are for hailo10h; this device is ${arch:-unknown}"
            hailo__fix "use the Model Zoo HEFs for this chip and set hailo.image_hef / hailo.text_hef"
            return 1
            ;;
    esac
}

# Where the resource files come from, with the HEF version matched to the installed HailoRT (as hailo-apps does).
hailo_print_resource_sources() {
    local v zoo
    v="$(hailo_runtime_version)"
    case "$v" in
        5.1.*) zoo="v5.1.0" ;;
        5.*) zoo="v${v}" ;;
        *) zoo="v5.2.0" ;;
    esac
    local mz="https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/${zoo}/${HAILO_ARCH_DIR}"
    local cs="https://hailo-csdata.s3.eu-west-2.amazonaws.com/resources/npy"
    hailo__say "the files come from Hailo (hailo-apps: hailo-download-resources --group clip), or by hand:"
    printf '  sudo mkdir -p %s/models/%s %s/npy\n' "$HAILO_RESOURCES" "$HAILO_ARCH_DIR" "$HAILO_RESOURCES"
    printf '  sudo wget -P %s/models/%s %s/clip_vit_b_32_image_encoder.hef\n' "$HAILO_RESOURCES" "$HAILO_ARCH_DIR" "$mz"
    printf '  sudo wget -P %s/models/%s %s/clip_vit_b_32_text_encoder.hef\n' "$HAILO_RESOURCES" "$HAILO_ARCH_DIR" "$mz"
    printf '  sudo wget -P %s/npy %s/token_embedding_lut.npy\n' "$HAILO_RESOURCES" "$cs"
    printf '  sudo wget -P %s/npy %s/text_projection.npy\n' "$HAILO_RESOURCES" "$cs"
    hailo__say "or make the two .npy files from the CPU checkpoint: make_hailo_support_files --model-dir DIR --out DIR"
}

# The HEFs and the text encoder's support files, at the default paths (the defaults of the hailo: section).
hailo_check_resources() {
    local missing=0 f
    for f in "models/${HAILO_ARCH_DIR}/clip_vit_b_32_image_encoder.hef" \
        "models/${HAILO_ARCH_DIR}/clip_vit_b_32_text_encoder.hef" \
        "npy/token_embedding_lut.npy" "npy/text_projection.npy"; do
        if [ -s "${HAILO_RESOURCES}/${f}" ]; then
            hailo__say "found ${HAILO_RESOURCES}/${f}"
        else
            hailo__say "missing ${HAILO_RESOURCES}/${f}"
            missing=1
        fi
    done
    if [ "$missing" -ne 0 ]; then
        hailo_print_resource_sources
        return 1
    fi
    return 0
}

# Everything the Hailo backend needs; 0 only if all of it is there.
hailo_check_all() {
    local rc=0
    hailo_check_runtime || rc=1
    if [ "$rc" -eq 0 ]; then hailo_check_device || rc=1; fi
    hailo_check_resources || rc=1
    return "$rc"
}
