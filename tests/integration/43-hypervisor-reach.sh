#!/bin/bash
# The hypervisor's user must reach every file of a template's and a
# clone's backing chain (lib/access.c).  Under umask 077 kiln still makes
# its cache searchable; a private directory on the chain is refused by
# register before anything is defined, with the fix in the message; once
# fixed, a linked clone starts through libvirt (virsh start: qemu opens the
# whole chain as libvirt-qemu; the synthetic guest need not boot).
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd qemu-img virsh libvirtd sha512sum stat
export KILN_ACCEL=tcg
libvirt_scratch kiln-test

plan 12

chmod 755 "$T"
mkdir -p "$T/src"
fixture_synthetic phony-debian "$T/src/base.qcow2"
sum=$(sha512sum <"$T/src/base.qcow2" | cut -d' ' -f1)

umask 077
mkdir -p "$T/out"          # 0700: what a strict umask gives
ok_cmd "create through the cache under umask 077" \
    "$KILN" --cache-dir "$T/cache" create "file://$T/src/base.qcow2" --checksum "sha512:$sum" \
    -o "$T/out/tmpl.qcow2"
is "$(stat -c %a "$T/cache" "$T/cache/images" | tr '\n' ' ')" "755 755 " \
    "kiln made its cache searchable whatever the umask"

"$KILN" register "$T/out/tmpl.qcow2" --name "${P}tmpl" --os-variant debian11 --network none \
    >"$T/o" 2>&1
is "$?" 1 "register refuses a template behind a 0700 directory"
like "$(cat "$T/o")" "cannot reach .*directory $T/out .*mode 0700.*chmod o\+x $T/out" \
    "naming the directory, its mode and the fix"
$V dominfo "${P}tmpl" >/dev/null 2>&1
isnt "$?" 0 "and defines nothing"

chmod o+x "$T/out"
ok_cmd "register once the directory is searchable" \
    "$KILN" register "$T/out/tmpl.qcow2" --name "${P}tmpl" --os-variant debian11 --network none
mkdir -p "$T/private"       # 0700 too
"$KILN" clone --original "${P}tmpl" --name "${P}p" --file "$T/private/p.qcow2" >"$T/o" 2>&1
is "$?" 1 "clone refuses a disk in a directory the hypervisor's user cannot search"
like "$(cat "$T/o")" "directory $T/private .*mode 0700" "naming it"
ok_cmd "a linked clone" "$KILN" clone --original "${P}tmpl" --name "${P}c"
ok_cmd "the clone starts: libvirt-qemu reaches its whole chain" $V start "${P}c"
like "$($V domstate "${P}c")" "running" "running"
ok_cmd "and stops" $V destroy "${P}c"
