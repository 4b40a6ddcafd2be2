#!/bin/bash
# kiln create on the real Debian fixture (a local SOURCE, trusted as it
# is): an overlay whose backing file is the base, grown with --size (disk,
# last partition and filesystem) in the same launch as the customize
# operations; --copy (qemu-img convert, no launch); outputs mode 0600; an
# existing OUT refused; a failure removes the output; the base is never
# modified.  That kiln build gives the same image: 22-create-build-same.sh.
# Also the seed article's command with kiln customize in place of
# virt-customize.
. "$(dirname "$0")/lib.sh"
set -u

require_guest perl sha256sum

plan 35

base=$(fixture_debian) || bail_out "no Debian fixture"
base_sum=$(sha256sum <"$base")
mkdir -p "$T/out"

# leftovers DIR: temporary files kiln may have left there
leftovers() { find "$1" -name '.*kiln-*' | wc -l; }

# ---- existing OUT refused ----
echo precious >"$T/out/exists.qcow2"
"$KILN" create "$base" -o "$T/out/exists.qcow2" >"$T/o" 2>&1
is "$?" 1 "an existing OUT is refused (exit 1)"
like "$(cat "$T/o")" 'already exists.*--force' "and the message says --force"
is "$(cat "$T/out/exists.qcow2")" precious "and it is left alone"
"$KILN" create "$base" >"$T/o" 2>&1
is "$?" 2 "no -o is a usage error"
"$KILN" create "$base" -o "$T/out/x.qcow2" --size 1G >"$T/o" 2>&1
is "$?" 1 "--size smaller than the base is refused"
"$KILN" create "$base" -o "$T/out/x.qcow2" --size lots >"$T/o" 2>&1
is "$?" 2 "a malformed --size is a usage error"
"$KILN" create "$base" -o "$T/out/x.qcow2" --size 10 >"$T/o" 2>&1
is "$?" 2 "--size 10 (ten bytes) is a usage error"
like "$(cat "$T/o")" '10G' "that says to write 10G"
is "$(ls "$T/out")" exists.qcow2 "nothing was left behind by the refusals"

# ---- overlay, grown, customized: one launch ----
SECONDS=0
"$KILN" create "$base" -o "$T/out/a.qcow2" --size 4G --hostname created \
    --write /etc/kiln-created:yes >"$T/a.out" 2>"$T/a.err"
is "$?" 0 "kiln create with --size and customize operations (${SECONDS}s)" ||
    diag "$(tail -n 20 "$T/a.err")"
is "$(grep -c 'Launching the appliance' "$T/a.err")" 1 "one appliance launch"
is "$(cat "$T/a.out")" "$T/out/a.qcow2" "the output's path is printed"
info=$(qemu-img info "$T/out/a.qcow2")
like "$info" "backing file: $base" "the overlay's backing file is the base (absolute)"
like "$info" 'backing file format: qcow2' "with the backing format recorded"
like "$info" 'virtual size: 4 GiB' "grown to 4 GiB"
is "$(stat -c %a "$T/out/a.qcow2")" 600 "the output is mode 0600 (it holds password hashes)"
is "$(leftovers "$T/out")" 0 "no temporary file left"

# ---- --copy: standalone, nothing to do inside, so no launch ----
SECONDS=0
"$KILN" create "$base" -o "$T/out/b.qcow2" --copy >"$T/b.out" 2>"$T/b.err"
is "$?" 0 "kiln create --copy (${SECONDS}s)" || diag "$(tail -n 20 "$T/b.err")"
unlike "$(qemu-img info "$T/out/b.qcow2")" 'backing file' "the copy has no backing file"
is "$(grep -c 'Launching the appliance' "$T/b.err")" 0 "no appliance launched when there is nothing to do"
is "$(stat -c %a "$T/out/b.qcow2")" 600 "the copy is mode 0600 too"

# ---- the seed's command, with kiln customize in place of virt-customize ----
SECONDS=0
"$KILN" customize -a "$T/out/b.qcow2" --root-password password:Seed-pw-3 \
    --uninstall cloud-init >"$T/s.out" 2>"$T/s.err"
is "$?" 0 "kiln customize -a X --root-password password:... --uninstall cloud-init (${SECONDS}s)" ||
    diag "$(tail -n 20 "$T/s.err")"

out=$(guestfish --ro -a "$T/out/a.qcow2" -a "$T/out/b.qcow2" <<'GF' 2>&1
run
mount /dev/sda1 /
echo @a
sh "df -BM --output=size / | tail -n 1"
cat /etc/hostname
cat /etc/kiln-created
umount /
mount /dev/sdb1 /
echo @b
sh "grep ^root: /etc/shadow"
sh "dpkg-query -W -f='${Package} ${Status}\n' cloud-init 2>&1; true"
echo @end
GF
)
note "$out"
a=$(sed -n '/^@a$/,/^@b$/p' <<<"$out")
b=$(sed -n '/^@b$/,/^@end$/p' <<<"$out")
size_mb=$(sed -n '2s/[^0-9]//gp' <<<"$a")
ok $(( ${size_mb:-0} > 3700 ? 0 : 1 )) "the root filesystem was grown (${size_mb:-?} MiB)"
like "$a" $'\ncreated\n+yes' "the customize operations ran on the overlay"
roothash=$(sed -n 's/^root:\([^:]*\):.*/\1/p' <<<"$b")
crypt_ok Seed-pw-3 "$roothash"
ok $? "the seed's root password is set (checked with crypt)"
like "$b" 'no packages found matching cloud-init|cloud-init [a-z]+ ok not-installed' \
    "the seed's cloud-init is gone (dpkg status)"

# ---- a failure removes the output ----
SECONDS=0
"$KILN" create "$base" -o "$T/out/c.qcow2" --install kiln-no-such-package >"$T/c.out" 2>"$T/c.err"
is "$?" 1 "a nonexistent package fails kiln create (exit 1, ${SECONDS}s)"
like "$(cat "$T/c.err")" 'Unable to locate package kiln-no-such-package' \
    "the error shows the tail of apt's output" || diag "$(tail -n 20 "$T/c.err")"
ok $( [ ! -e "$T/out/c.qcow2" ]; echo $? ) "no output under the final name"
is "$(leftovers "$T/out")" 0 "and no temporary file"

# ---- an interrupted create leaves nothing ----
# Ctrl-C while the appliance runs: the temporary overlay goes, nothing
# takes OUT's name, and the appliance does not outlive kiln.
mkdir -p "$T/killed"
"$KILN" create "$base" -o "$T/killed/k.qcow2" --hostname killed \
    --run-command 'sleep 600' >"$T/k.out" 2>"$T/k.err" &
kpid=$!
for i in $(seq 1 600); do
    grep -q 'Launching the appliance' "$T/k.err" && break
    sleep 0.1
done
isnt "$(ls -A "$T/killed")" "" "a create in progress has its temporary file" || diag "$(cat "$T/k.err")"
sleep 3
kill -INT "$kpid"
wait "$kpid"
is "$?" 130 "kiln create dies of SIGINT"
is "$(ls -A "$T/killed")" "" "and leaves nothing in the output directory"
for i in $(seq 1 100); do
    pgrep -f -- "$T/killed" >/dev/null || break
    sleep 0.1
done
ok "$(pgrep -f -- "$T/killed" >/dev/null; [ $? = 1 ]; echo $?)" "no process (the appliance's qemu) is left using it"

is "$(sha256sum <"$base")" "$base_sum" "the base image is unchanged (sha256)"
