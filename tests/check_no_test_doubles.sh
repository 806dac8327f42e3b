#!/bin/sh
# Fails when the program $1 holds a test double: a symbol of the CPU stand-in of the NPU or of its registration,
# or the fault-injection variable. With --expect-doubles it checks the opposite (the test program must hold them),
# which proves the check can see them.
set -eu
expect=absent
if [ "${1:-}" = "--expect-doubles" ]; then expect=present; shift; fi
program=$1
symbols=$(nm -C "$program")
if [ -z "$symbols" ]; then echo "no symbols in $program (stripped?): cannot check" >&2; exit 1; fi
found=$(printf '%s\n' "$symbols" | grep -E 'stand_in|StandIn|CpuStandIn' || true)
if grep -aq HAILO_CLIP_STAND_IN_FAULT "$program"; then found="$found
string HAILO_CLIP_STAND_IN_FAULT"; fi
if [ "$expect" = absent ]; then
    if [ -n "$found" ]; then echo "$program holds test doubles:" >&2; printf '%s\n' "$found" | head -20 >&2; exit 1; fi
    echo "$program: no test double ($(printf '%s\n' "$symbols" | wc -l) symbols checked)"
else
    if [ -z "$found" ]; then echo "$program holds no test double, but it should" >&2; exit 1; fi
    echo "$program: $(printf '%s\n' "$found" | wc -l) test-double symbols, as expected"
fi
