#!/bin/bash
# The write check (lib/writable.c) against the real libvirtd: a template
# registered from a synthetic image and a linked clone of it, made without
# an appliance.  customize -a, sysprep -a and create --force on the
# template's disk are refused before any launch, naming the clone, and the
# disk is unchanged; --unsafe-write-template gets past the check, loudly.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd qemu-img virsh libvirtd sha256sum
export KILN_ACCEL=tcg
libvirt_scratch kiln-test

plan 15

chmod 755 "$T"
fixture_synthetic phony-debian "$T/base.qcow2"
overlay_of "$T/base.qcow2" "$T/tmpl.qcow2"
ok_cmd "a template registered (no inspection: --os-variant)" \
    "$KILN" register "$T/tmpl.qcow2" --name "${P}tmpl" --os-variant debian11 --network none
ok_cmd "a linked clone of it" "$KILN" clone --original "${P}tmpl" --name "${P}c"
sum=$(sha256sum <"$T/tmpl.qcow2")

"$KILN" customize -a "$T/tmpl.qcow2" --hostname x >"$T/o" 2>&1
is "$?" 1 "customize -a on the template's disk is refused (exit 1)"
like "$(cat "$T/o")" "linked clones are backed by it.*${P}c.*--unsafe-write-template" \
    "naming the clone and the override"
unlike "$(cat "$T/o")" "Launching" "before any appliance launch"
"$KILN" sysprep -a "$T/tmpl.qcow2" >"$T/o" 2>&1
is "$?" 1 "sysprep -a on it is refused (exit 1)"
like "$(cat "$T/o")" "${P}c" "naming the clone"
"$KILN" create "$T/base.qcow2" -o "$T/tmpl.qcow2" --force >"$T/o" 2>&1
is "$?" 1 "create --force -o onto it is refused (exit 1)"
like "$(cat "$T/o")" "${P}c" "naming the clone"
is "$(sha256sum <"$T/tmpl.qcow2")" "$sum" "the template's disk is unchanged"

# The override: past the check (the raw format then fails on the disk's
# own content, before a launch, which keeps this cheap).
"$KILN" customize -a "$T/tmpl.qcow2" --unsafe-write-template --format raw --hostname x >"$T/o" 2>&1
like "$(cat "$T/o")" "unsafe-write-template: writing" "customize --unsafe-write-template warns"
unlike "$(cat "$T/o")" "linked clones are backed" "and does not refuse"
ok_cmd "create --force --unsafe-write-template replaces it" \
    "$KILN" create "$T/base.qcow2" -o "$T/tmpl.qcow2" --force --unsafe-write-template
like "$(cat "$T/last.out")" "unsafe-write-template: replacing" "saying so"
isnt_sum=$(sha256sum <"$T/tmpl.qcow2")
ok "$([ "$isnt_sum" != "$sum" ]; echo $?)" "the disk was replaced"
