#!/bin/bash
# bench/sysprep.sh [RUNS] — kiln sysprep against virt-sysprep, default
# operations, each on its own fresh overlay of the Debian fixture, under TCG
# (KVM is broken on the project's machines).  Prints the wall-clock seconds
# of each run and the ratio of the medians.  KILN: the kiln binary.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$top/build/kiln}
runs=${1:-3}
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg KILN_ACCEL=tcg
command -v virt-sysprep >/dev/null || { echo "virt-sysprep is not installed" >&2; exit 77; }
base=$("$top/tests/fixtures/debian-image.sh")
work=$(mktemp -d /var/tmp/kiln-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

timeit() {   # timeit CMD... -> seconds on stdout
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

k=() v=()
for i in $(seq 1 "$runs"); do
    qemu-img create -q -f qcow2 -F qcow2 -b "$base" "$work/k.qcow2"
    qemu-img create -q -f qcow2 -F qcow2 -b "$base" "$work/v.qcow2"
    k+=("$(timeit "$KILN" -q sysprep -a "$work/k.qcow2")")
    v+=("$(timeit virt-sysprep -q -a "$work/v.qcow2")")
    echo "run $i: kiln sysprep ${k[-1]} s, virt-sysprep ${v[-1]} s"
done
km=$(printf '%s\n' "${k[@]}" | median)
vm=$(printf '%s\n' "${v[@]}" | median)
echo "median: kiln sysprep $km s, virt-sysprep $vm s, ratio $(echo "scale=2; $km / $vm" | bc)"
