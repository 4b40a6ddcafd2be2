#!/bin/bash
# bench/create-vs-virt-customize.sh: the seed's customization side by side,
# on the Debian fixture under TCG:
#   kiln create BASE -o OUT --root-password file:F --uninstall cloud-init
#   qemu-img create (overlay) + virt-customize -a OVERLAY --root-password file:F --uninstall cloud-init
# Prints the wall-clock seconds of each.  Usage: KILN=build/kiln bash bench/create-vs-virt-customize.sh
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$TOP/build/kiln}
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg KILN_ACCEL=tcg
base=$("$TOP/tests/fixtures/debian-image.sh")
d=$(mktemp -d /var/tmp/kiln-bench.XXXXXX)
trap 'rm -rf "$d"' EXIT
printf 'bench-password\n' >"$d/pw"
chmod 600 "$d/pw"

t0=$(date +%s.%N)
"$KILN" -q create "$base" -o "$d/kiln.qcow2" --root-password file:"$d/pw" --uninstall cloud-init >/dev/null
t1=$(date +%s.%N)
qemu-img create -q -f qcow2 -F qcow2 -b "$base" "$d/vc.qcow2"
virt-customize -q -a "$d/vc.qcow2" --root-password file:"$d/pw" --uninstall cloud-init >/dev/null
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
  printf "kiln create:                      %6.1f s\n", b - a
  printf "qemu-img + virt-customize:        %6.1f s\n", c - b
  printf "ratio kiln / virt-customize:      %6.2f\n", (b - a) / (c - b) }'
