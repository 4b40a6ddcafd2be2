#!/bin/bash
# bench/clone.sh — kiln's linked clones against virt-clone on the same template.
# Registers a standalone copy of the Debian fixture as a template, then times
#   kiln clone --count 10      (ten linked clones, one process)
#   virt-clone --auto-clone    (one full clone, virt-clone's only kind)
# and prints the times and disk space used.  Needs root and libvirtd; everything
# it makes is removed at exit.  KILN=path/to/kiln (default ./build/kiln).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$TOP/build/kiln}
export KILN_ACCEL=${KILN_ACCEL:-tcg}
V="virsh -q -c qemu:///system"
D=$(mktemp -d /var/tmp/kiln-bench.XXXXXX)
chmod 755 "$D"
P=kiln-bench-$RANDOM-
cleanup() {
    for d in $($V list --all --name | grep "^$P"); do $V undefine --nvram "$d" >/dev/null 2>&1 || $V undefine "$d" >/dev/null; done
    # virt-clone defines a storage pool for the directory of the disks it makes.
    $V pool-destroy "$(basename "$D")" >/dev/null 2>&1 || true
    $V pool-undefine "$(basename "$D")" >/dev/null 2>&1 || true
    rm -rf "$D"
}
trap cleanup EXIT

img=$("$TOP/tests/fixtures/debian-image.sh")
cp --sparse=always "$img" "$D/tmpl.qcow2"
"$KILN" -q register "$D/tmpl.qcow2" --name "${P}tmpl" --os-variant debian11
echo "template disk: $(du -h "$D/tmpl.qcow2" | cut -f1) used, $(qemu-img info "$D/tmpl.qcow2" | sed -n 's/^virtual size: //p')"

ms() { echo $(( ($2 - $1) / 1000000 )); }
t0=$(date +%s%N)
"$KILN" -q clone --original "${P}tmpl" --name "${P}k" --count 10
t1=$(date +%s%N)
kiln_used=$(cat "$D/${P}"k-*.qcow2 | wc -c)
echo "kiln clone --count 10 (linked): $(ms "$t0" "$t1") ms, $((kiln_used / 1024)) KiB of disk for all ten"

t0=$(date +%s%N)
virt-clone --connect qemu:///system --original "${P}tmpl" --auto-clone --quiet
t1=$(date +%s%N)
vc_disk=$(ls "$D" | grep -v -e tmpl.qcow2 -e "^${P}k-" | head -1)
echo "virt-clone --auto-clone (one full copy): $(ms "$t0" "$t1") ms, $(du -h "$D/$vc_disk" | cut -f1) of disk"
