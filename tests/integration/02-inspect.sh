#!/bin/bash
# 02-inspect.sh: kiln inspect on the real Debian 12 fixture, with kiln's own
# accelerator choice (no KILN_ACCEL, no libguestfs environment), and its
# errors on bad input.
. "$(dirname "$0")/lib.sh"
require_kiln
require_cmd qemu-img
plan 17

img=$(fixture_debian) || bail_out "cannot build the Debian fixture"
before=$(sha256sum "$img" | cut -d' ' -f1)

# As a user runs it: nothing in the environment tells kiln or libguestfs
# which accelerator to use.
env -u KILN_ACCEL -u LIBGUESTFS_BACKEND_SETTINGS -u LIBGUESTFS_BACKEND \
    "$KILN" --json inspect "$img" >"$T/out.json" 2>"$T/err"
ok $? "kiln inspect of the Debian fixture succeeds"
j() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v,bool) else v)' "$T/out.json" "$1"; }
is "$(j distro)" debian "distro is debian"
is "$(j major)" 12 "major version is 12"
is "$(j package_manager)" apt "package manager is apt"
is "$(j osinfo_wanted)" debian12 "libguestfs names it debian12"
if python3 -c 'import sys; sys.exit(0 if __import__("os").path.exists("/usr/share/osinfo/os/debian.org/debian-12.xml") else 1)'; then
    is "$(j osinfo)" debian12 "the osinfo database knows debian12: used as is"
else
    is "$(j osinfo)" debian11 "the osinfo database lacks debian12: the nearest known id, debian11"
fi
is "$(j osinfo_fallback)" true "the fallback is reported"
# The fallback warning comes once, and exactly when TCG was chosen with
# /dev/kvm present (KVM hangs or aborts here).
n=$(grep -c "KVM does not work here" "$T/err")
if [ "$(j accel)" = tcg ] && [ -e /dev/kvm ]; then
    is "$n" 1 "kiln said once that it fell back to TCG"
else
    is "$n" 0 "no fallback message when KVM works (accel: $(j accel))"
fi
is "$(sha256sum "$img" | cut -d' ' -f1)" "$before" "the image is unchanged"

# Plain text report.
export KILN_ACCEL=tcg
"$KILN" inspect "$img" >"$T/out.txt" 2>"$T/err2"
like "$(cat "$T/out.txt")" "osinfo: +debian1[12]" "the text report names the osinfo id"
is "$(grep -c 'KVM does not work' "$T/err2")" 0 "KILN_ACCEL=tcg: no probe, no message"

# Bad input: one line on stderr, exit 1.
"$KILN" inspect "$T/missing.qcow2" >"$T/o" 2>"$T/e"; st=$?
is "$st" 1 "a missing file: exit 1"
like "$(cat "$T/e")" "^kiln: .*missing.qcow2: No such file or directory$" "a missing file: one line naming it"

fixture_synthetic not-a-disk "$T/notes.txt"
"$KILN" inspect "$T/notes.txt" >"$T/o" 2>"$T/e"; st=$?
is "$st" 1 "a text file: exit 1"
like "$(cat "$T/e")" "^kiln: .*notes.txt: not a disk image" "a text file: 'not a disk image'"

fixture_synthetic no-os "$T/data.qcow2"
"$KILN" -q inspect "$T/data.qcow2" >"$T/o" 2>"$T/e"; st=$?
is "$st" 1 "an image without an OS: exit 1"
like "$(cat "$T/e")" "^kiln: .*data.qcow2: no operating system found" "an image without an OS: said so"
