#!/usr/bin/env bash
# Checks an installed hailo-clip: the systemd service, /health, one classification of a bundled picture, and the
# self-test against published reference outputs. One PASS/FAIL/SKIP line per check; exit 1 if any check failed.
#   sudo deploy/verify.sh [--url URL] [--config FILE] [--binary PATH] [--no-systemd] [--wait SECONDS]
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: deploy/verify.sh [options]
  --url URL        the service (default: http://127.0.0.1:<server.port of the config>)
  --config FILE    the service's config, for the self-test (default /etc/hailo/hailo-clip.yaml)
  --binary PATH    the hailo-clip program (default /usr/bin/hailo-clip, the package's)
  --image FILE     the picture to classify (default: CLIP.png of the installed self-test data)
  --no-systemd     skip the systemd check (a service started by hand)
  --wait SECONDS   wait this long for /health to answer (default 10)
USAGE
}

config=/etc/hailo/hailo-clip.yaml
binary=/usr/bin/hailo-clip
url=""
image=""
systemd=1
wait_s=10
while [ $# -gt 0 ]; do
    case "$1" in
        --url) url=${2:?--url needs a URL}; shift 2 ;;
        --config) config=${2:?--config needs a file}; shift 2 ;;
        --binary) binary=${2:?--binary needs a path}; shift 2 ;;
        --image) image=${2:?--image needs a file}; shift 2 ;;
        --no-systemd) systemd=0; shift ;;
        --wait) wait_s=${2:?--wait needs seconds}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "verify: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
command -v python3 >/dev/null || { echo "verify: needs python3 (sudo apt-get install python3)" >&2; exit 2; }
if [ -z "$url" ]; then
    port=5000
    if [ -r "$config" ]; then
        port=$(sed -n 's/^  port: *\([0-9][0-9]*\).*/\1/p' "$config" | head -n 1)
        port=${port:-5000}
    fi
    url=http://127.0.0.1:$port
fi
url=${url%/}
# With server.api_key(_file) set, every endpoint but /health needs the key: $HAILO_CLIP_API_KEY, else the config's.
api_key=${HAILO_CLIP_API_KEY:-}
if [ -z "$api_key" ] && [ -r "$config" ]; then
    api_key=$(sed -n "s/^  api_key: *[\"']\{0,1\}\([^\"' #]*\).*/\1/p" "$config" | head -n 1)
    key_file=$(sed -n 's/^  api_key_file: *\([^ #]*\).*/\1/p' "$config" | head -n 1)
    if [ -z "$api_key" ] && [ -n "$key_file" ] && [ -r "$key_file" ]; then
        api_key=$(head -n 1 "$key_file" | tr -d '[:space:]')
    fi
fi
[ -n "$image" ] || image=$(dirname "$binary")/../share/hailo-clip/selftest/images/CLIP.png

failed=0
total=0
skipped=""
report() {  # report STATUS NAME TEXT
    printf '%-5s %-14s %s\n' "$1" "$2" "$3"
    if [ "$1" = SKIP ]; then
        skipped=", 1 skipped"
    else
        total=$((total + 1))
    fi
    [ "$1" != FAIL ] || failed=$((failed + 1))
}

# 1. the systemd service
if [ "$systemd" -eq 0 ]; then
    report SKIP service "skipped: no systemd (--no-systemd)"
elif ! command -v systemctl >/dev/null || [ ! -d /run/systemd/system ]; then
    report FAIL service "systemd is not running here; for a service started by hand use --no-systemd"
else
    state=$(systemctl is-active hailo-clip.service 2>/dev/null || true)
    enabled=$(systemctl is-enabled hailo-clip.service 2>/dev/null || true)
    if [ "$state" = active ]; then
        report PASS service "hailo-clip.service active, $enabled"
    else
        report FAIL service "hailo-clip.service is ${state:-unknown} ($enabled); see: journalctl -u hailo-clip.service -n 50"
    fi
fi

# 2.-3. /health and a classification, over HTTP
http_checks=$(HCLIP_VERIFY_API_KEY="$api_key" python3 - "$url" "$image" "$wait_s" <<'PY'
import base64, json, os, sys, time, urllib.error, urllib.request

url, image, wait_s = sys.argv[1], sys.argv[2], float(sys.argv[3])

def call(path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if os.environ.get("HCLIP_VERIFY_API_KEY"):
        headers["Authorization"] = "Bearer " + os.environ["HCLIP_VERIFY_API_KEY"]
    req = urllib.request.Request(url + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"{}")
        except ValueError:
            return e.code, {}

deadline = time.monotonic() + wait_s
while True:
    try:
        status, health = call("/health", timeout=10)
        if status == 200 or time.monotonic() >= deadline:
            break
    except (OSError, ValueError) as e:
        if time.monotonic() >= deadline:
            print(f"FAIL\thealth\tno answer from {url}/health ({getattr(e, 'reason', e)})")
            print(f"FAIL\tclassify\tnot tried: the service does not answer")
            sys.exit(0)
    time.sleep(1)

if status == 200 and health.get("status") == "healthy" and health.get("model_loaded") is True:
    print(f"PASS\thealth\thealthy, model {health.get('model')} loaded, backend {health.get('backend')}, "
          f"embedding dimension {health.get('embedding_dimension')}")
else:
    print(f"FAIL\thealth\tHTTP {status}: status {health.get('status')}, model_loaded {health.get('model_loaded')}"
          f", reason: {health.get('reason', '-')}")

# Which encoders serve, from /health (the service logs why, e.g. a fallback from the NPU to the CPU).
served = health.get("backend") if isinstance(health, dict) else None
meaning = {
    "hailo": "the Hailo NPU serves images and prompts",
    "hailo+cpu-text": "the Hailo NPU serves images, the CPU prompts (hailo.text_encoder: cpu)",
    "cpu": "the CPU serves (clip.backend cpu, or the NPU could not be used: the service log says why)",
}
if served in meaning:
    print(f"PASS\tbackend\t{served}: {meaning[served]}")
elif served:
    print(f"FAIL\tbackend\t{served}: not a backend a production service reports (an emulation is for tests only)")
else:
    print("FAIL\tbackend\t/health did not say which backend serves")

prompts = ["a diagram", "a dog", "a cat"]
try:
    with open(image, "rb") as f:
        picture = "data:image/png;base64," + base64.b64encode(f.read()).decode()
except OSError as e:
    print(f"FAIL\tclassify\tcannot read the test picture {image}: {e.strerror}")
    sys.exit(0)
try:
    status, answer = call("/v1/classify", {"image": picture, "prompts": prompts, "top_k": 3})
except (OSError, ValueError) as e:
    print(f"FAIL\tclassify\tno answer from {url}/v1/classify ({getattr(e, 'reason', e)})")
    sys.exit(0)
rows = answer.get("classifications") if isinstance(answer, dict) else None
if status == 200 and isinstance(rows, list) and len(rows) == 3 and abs(sum(r["score"] for r in rows) - 1) < 1e-3:
    top = rows[0]
    print(f"PASS\tclassify\tCLIP.png: '{top['text']}' {top['score']:.4f} of {len(prompts)} prompts in "
          f"{answer.get('inference_time_ms', 0):.0f} ms")
else:
    print(f"FAIL\tclassify\tHTTP {status}: {answer.get('error', answer) if isinstance(answer, dict) else answer}")
PY
)
while IFS=$'\t' read -r st name text; do
    report "$st" "$name" "$text"
done <<<"$http_checks"

# 3b. the Hailo device, where the Hailo runtime is installed (silent elsewhere: a CPU-only machine has none)
if command -v hailortcli >/dev/null 2>&1; then
    if identity=$(timeout 30 hailortcli fw-control identify 2>&1); then
        summary=$(printf '%s\n' "$identity" | grep -E 'Board Name|Device Architecture|Firmware Version' |
            sed 's/  */ /g' | paste -sd ';' -)
        report PASS device "${summary:-identified}"
    else
        report FAIL device "hailortcli fw-control identify failed: $(printf '%s\n' "$identity" | tail -n 1)"
    fi
fi

# 4. the self-test: the installed model and engine against published reference outputs
if [ ! -x "$binary" ]; then
    report FAIL self-test "no program at $binary (--binary PATH)"
else
    set +e
    err_file=$(mktemp)
    selftest_json=$("$binary" selftest --config "$config" --json 2>"$err_file")
    selftest_rc=$?
    set -e
    selftest_err=$(tail -n 1 "$err_file")
    line=$(printf '%s' "$selftest_json" | python3 -c '
import json, sys
rc = int(sys.argv[1])
try:
    r = json.load(sys.stdin)
except ValueError:
    print("FAIL\tcould not run: " + sys.argv[2]); sys.exit(0)
ran_on = "on " + r.get("backend", {}).get("image", "?") + ": "
if rc == 0 and r.get("verified"):
    print("PASS\t" + ran_on + r["summary"])
elif rc == 0:
    print("PASS\t" + ran_on + r["summary"] + " [not compared with published outputs: no reference for this model]")
else:
    print("FAIL\t" + ran_on + r["summary"])
' "$selftest_rc" "$selftest_err")
    report "${line%%$'\t'*}" self-test "${line#*$'\t'}"
fi

if [ "$failed" -eq 0 ]; then
    echo "verify: all $total checks passed$skipped"
else
    echo "verify: $failed of $total checks failed$skipped"
    exit 1
fi
