#!/bin/bash
# kill -9 at KILL_POINTS points (default 20) spread over a kiln build, each
# followed by a rerun (issue 13): after the kill, nothing corrupt is under
# a final name (the image passes qemu-img check, a manifest is valid JSON
# and describes the image beside it, a template domain's disks exist and
# pass qemu-img check); the rerun succeeds and leaves all of that whole.
# The recipe is cheap (a synthetic base copied by qemu-img, a template
# with an extra disk, no appliance launch); the kill times are spread
# over the measured length of a run, with jitter.  What a kill -9 leaves
# under temporary names (.NAME.kiln-*) is counted, not an error: no
# handler runs on SIGKILL.
#
#   make check-faults           20 points
#   KILL_POINTS=5 (52-build-faults.sh, in make check)
. "$(dirname "$0")/../integration/lib.sh"
set -u

require_root
require_kiln
require_cmd qemu-img virsh libvirtd sha256sum python3
export KILN_ACCEL=tcg
libvirt_scratch kiln-kill
N=${KILL_POINTS:-20}

plan $((2 + N * 3))

build_scratch
cat >"$T/r.yaml" <<YAML
recipe: 1
name: ${P}r
base: {source: "$T/base.qcow2"}
output: {path: "$O/tpl.qcow2", mode: copy}
template: {name: ${P}tpl, os-variant: debian11, network: none, disks: [{size: 16M}]}
YAML

# What is under a final name is whole; prints the problems, nothing if none.
check_state() {
    local img=$O/tpl.qcow2 man=$O/tpl.qcow2.json d f
    if [ -e "$img" ] && ! qemu-img check -q "$img" >/dev/null 2>&1; then
        echo "image fails qemu-img check"
    fi
    if [ -e "$man" ]; then
        python3 - "$man" "$img" <<'PY' || echo "manifest: invalid or not the image's"
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
h = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
sys.exit(0 if m["output"]["digest"] == "sha256:" + h else 1)
PY
    fi
    for d in $($V list --all --name | grep "^$P"); do
        [ "$d" = "${P}tpl" ] || echo "unexpected domain $d"
        for f in $($V domblklist "$d" --details | awk '$2 == "disk" {print $4}'); do
            if [ ! -e "$f" ]; then
                echo "$d: disk $f missing"
            elif ! qemu-img check -q "$f" >/dev/null 2>&1; then
                echo "$d: disk $f fails qemu-img check"
            fi
        done
    done
}

"$KILN" build "$T/r.yaml" >"$T/first.out" 2>&1
ok $? "a first build succeeds" || diag "$(cat "$T/first.out")"
# The length of what is killed: a rebuild.
start=$(date +%s%N)
"$KILN" build --force "$T/r.yaml" >"$T/first.out" 2>&1
ms=$((($(date +%s%N) - start) / 1000000))
is "$(check_state)" "" "a rebuild leaves everything whole ($ms ms)"
note "a build takes $ms ms; $N kills spread over it"

for i in $(seq 1 "$N"); do
    # Point i of N, jittered by up to a tenth of the run.
    at=$(( ms * (2 * i - 1) / (2 * N) + (RANDOM % (ms / 10 + 1)) - ms / 20 ))
    [ "$at" -lt 1 ] && at=1
    "$KILN" build --force "$T/r.yaml" >"$T/k.out" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    st=$?
    is "$(check_state)" "" "kill -9 at $at ms (exit $st): nothing corrupt under a final name"
    "$KILN" build --force "$T/r.yaml" >"$T/re.out" 2>&1
    ok $? "kill $i: the rerun succeeds" || diag "$(cat "$T/re.out")"
    s=$(check_state)
    [ -e "$O/tpl.qcow2.json" ] && $V dominfo "${P}tpl" >/dev/null 2>&1 || s="$s not whole"
    is "$s" "" "kill $i: after the rerun, image, manifest and template are whole"
done
note "temporary files the kills left: $(ls -A "$O" | grep -c '^\.')"
