#!/bin/bash
# The inspection cache (lib/inspection.h) on the real Debian fixture, in a
# private --cache-dir: kiln sysprep on a fresh overlay inspects and records
# the result; on a second fresh overlay it inspects nothing (no inspect_os
# in libguestfs' trace), does the same operations, and the image is
# generalized; an overlay that holds data is inspected again; an entry
# that does not fit the image (planted) is forgotten and the guest
# inspected; kiln create on the same base takes the entry, and so does a
# build that writes an SBOM (kiln reads a deb guest's package list itself;
# 54-sbom checks that list against dpkg-query); kiln cache prune removes
# the entries.  Six launches.
. "$(dirname "$0")/lib.sh"
set -u

require_guest sha256sum
plan 25
export KILN_ACCEL=tcg
ensure_libvirtd     # sysprep asks libvirt whether linked clones use the disk

base=$(fixture_debian) || bail_out "no Debian fixture"
C=$T/cache
entries() { find "$C/inspection" -maxdepth 1 -type f -name '????????????????????????????????????????????????????????????????' 2>/dev/null | wc -l; }
calls() { grep -c "libguestfs: trace: $1\$" "$2"; }
ops() { grep -E '^\[ *[0-9.]+\] sysprep ' "$1" | sed -E 's/^\[ *[0-9.]+\] //; s/ \([0-9.]+ s\)$//'; }

# ---- first run: inspected, recorded ----
overlay_of "$base" "$T/ov1.qcow2"
LIBGUESTFS_TRACE=1 "$KILN" -v --cache-dir "$C" sysprep -a "$T/ov1.qcow2" >"$T/1.out" 2>&1
ok $? "kiln sysprep on a fresh overlay" || diag "$(tail -n 20 "$T/1.out")"
is "$(calls inspect_os "$T/1.out")" 1 "it inspects the guest (one inspect_os)"
is "$(entries)" 1 "and records one inspection result"
like "$(cat "$T/1.out")" "no usable inspection cache entry.*"$'\n'".*inspection recorded in $C/inspection/" "kiln -v says it missed, then recorded"
f=$(find "$C/inspection" -maxdepth 1 -type f | head -1)
is "$(stat -c %a "$f")" 600 "the entry is mode 0600"
like "$(cat "$f")" $'root=/dev/sda1\n' "it names the root filesystem"

# ---- second run on another fresh overlay: from the cache ----
overlay_of "$base" "$T/ov2.qcow2"
LIBGUESTFS_TRACE=1 "$KILN" -v --cache-dir "$C" sysprep -a "$T/ov2.qcow2" >"$T/2.out" 2>&1
ok $? "kiln sysprep on a second fresh overlay" || diag "$(tail -n 20 "$T/2.out")"
is "$(calls inspect_os "$T/2.out")" 0 "libguestfs inspects nothing"
like "$(cat "$T/2.out")" "inspection from the cache: root /dev/sda1, debian 12" "kiln -v says the inspection came from the cache"
is "$(ops "$T/2.out")" "$(ops "$T/1.out")" "the same operations made the same number of changes"
ops "$T/2.out" | grep -q 'machine-id: [1-9]' && ops "$T/2.out" | grep -q 'ssh-hostkeys: [1-9]'
ok $? "machine-id and ssh-hostkeys changed the image"

# ---- an overlay that holds data: inspected ----
LIBGUESTFS_TRACE=1 "$KILN" -v --cache-dir "$C" sysprep --dry-run -a "$T/ov2.qcow2" >"$T/3.out" 2>&1
ok $? "a dry run on the generalized overlay" || diag "$(tail -n 20 "$T/3.out")"
is "$(calls inspect_os "$T/3.out")" 1 "an overlay that holds data is inspected again"
unlike "$(cat "$T/3.out")" "machine-id: (empty|remove)|ssh-hostkeys: remove" "the machine-id and host keys are already gone from it"

# ---- a planted entry that does not fit ----
sed -i 's|^root=.*|root=/dev/sda9|; s|^mountpoints=.*|mountpoints=/;/dev/sda9;|' "$f"
overlay_of "$base" "$T/ov4.qcow2"
LIBGUESTFS_TRACE=1 "$KILN" -v --cache-dir "$C" sysprep -a "$T/ov4.qcow2" >"$T/4.out" 2>&1
ok $? "kiln sysprep with an entry that names the wrong root" || diag "$(tail -n 20 "$T/4.out")"
like "$(cat "$T/4.out")" "did not fit: inspecting" "kiln says the entry did not fit"
is "$(calls inspect_os "$T/4.out")" 1 "and inspects the guest"
like "$(cat "$f")" $'root=/dev/sda1\n' "the entry is recorded again with the right root"

# ---- kiln create on the same base ----
"$KILN" -v --cache-dir "$C" create "$base" -o "$T/out.qcow2" --uninstall cloud-init --sysprep >"$T/5.out" 2>&1
ok $? "kiln create on the same base" || diag "$(tail -n 20 "$T/5.out")"
like "$(cat "$T/5.out")" "inspection from the cache" "takes the base's inspection from the cache"

# ---- a build that writes an SBOM ----
mkdir -p "$T/b"
cat >"$T/sbom.yaml" <<EOF
recipe: 1
name: sbom
base: {source: "$base"}
output: {path: "$T/b/sbom.qcow2", mode: overlay}
sysprep: {operations: [machine-id]}
EOF
LIBGUESTFS_TRACE=1 "$KILN" -v --cache-dir "$C" build "$T/sbom.yaml" >"$T/6.out" 2>&1
ok $? "kiln build with an SBOM on the same base" || diag "$(tail -n 20 "$T/6.out")"
is "$(calls inspect_os "$T/6.out")" 0 "takes the inspection from the cache (kiln reads dpkg's status itself)"
n=$(python3 -c 'import json, sys; print(sum(p["SPDXID"].startswith("SPDXRef-Package-") for p in json.load(open(sys.argv[1]))["packages"]))' "$T/b/sbom.qcow2.spdx.json" 2>/dev/null)
ok "$([ "${n:-0}" -gt 100 ] && echo 0 || echo 1)" "its SBOM lists the packages ($n)"

# ---- prune ----
"$KILN" --cache-dir "$C" cache prune >"$T/7.out" 2>&1
ok $? "kiln cache prune" || diag "$(cat "$T/7.out")"
is "$(entries)" 0 "removes every inspection result"
