#!/bin/bash
# kiln cache list|verify|prune, and the refusal of caches others can write
# into and of entries kiln did not publish (tests/unit/test-cache.c plants
# each kind of link).  Prune keeps a base while a recorded user
# exists; users are recorded by kiln create through kiln_cache_add_user
# (tests/unit/test-cache.c checks the file it writes, one path a line);
# here the test writes that file itself, as kiln create is another stage.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd sha512sum sha256sum qemu-img flock timeout

plan 26

C=$T/cache
k() { "$KILN" -q --cache-dir "$C" "$@"; }
head -c 1048576 /dev/urandom >"$T/a.raw"
head -c 1048576 /dev/urandom >"$T/b.raw"
xz -T1 -1 -k "$T/a.raw" && xz -T1 -1 -k "$T/b.raw"
A=$(k fetch "file://$T/a.raw.xz")
ok $? "fetch a file:// URL (compressed) into the cache"
B=$(k fetch "$T/b.raw.xz")
ok $? "a compressed local path goes through the cache too"
like "$B" "^$C/images/sha256-$(xz -dc "$T/b.raw.xz" | sha256sum | cut -d' ' -f1)\$" "and is cached, named by the sha256 of the unpacked image"

list=$(k cache list)
like "$list" "$(basename "$A")" "cache list shows the first image"
like "$list" "source: +file://$T/b.raw.xz" "and where the second came from"
like "$(k --json cache list)" '"users" : \[' "--json lists users"

ok_cmd "cache verify passes on a good cache" k cache verify
chmod u+w "$B"
cp "$B" "$T/b.good"
flip_byte "$B" 4096
nok_cmd "the corruption changed the entry" cmp -s "$B" "$T/b.good"
k cache verify >"$T/v.out" 2>"$T/v.err"
is $? 1 "cache verify fails on a corrupted entry"
like "$(cat "$T/v.err")" "$(basename "$B") is corrupted: expected sha256:[0-9a-f]{64}, got sha256:" "and names it, with both sha256 digests (the name's algorithm)"
like "$(cat "$T/v.out")" "ok $A" "the good entry is reported ok"

# An overlay on A, recorded as its user (what kiln create does).
qemu-img create -q -f qcow2 -F raw -b "$A" "$T/overlay.qcow2"
printf '%s\n' "$T/overlay.qcow2" >"$C/users/$(basename "$A")"
k cache prune -n >"$T/p.out" 2>&1
like "$(cat "$T/p.out")" "would remove $B" "prune -n names what it would remove"
"$KILN" --cache-dir "$C" cache prune -n >"$T/p2.out" 2>&1
like "$(cat "$T/p2.out")" "1 would be removed \(" "and its summary says would be removed, not removed"
ok $([ -f "$B" ]; echo $?) "and removes nothing"
# A kiln create between its fetch and the record of its overlay holds a
# shared pin (kiln_cache_pin): prune waits for it.
flock -s "$C/locks/prune.lock" sleep 3 &
pinpid=$!
sleep 0.3
timeout 1 "$KILN" -q --cache-dir "$C" cache prune >/dev/null 2>&1
is $? 124 "prune waits while a fetch holds the pin"
ok $([ -f "$B" ]; echo $?) "and has removed nothing meanwhile"
wait "$pinpid"
ok_cmd "cache prune" k cache prune
ok $([ -f "$A" ] && [ ! -e "$B" ]; echo $?) "keeps the base an overlay uses, removes the other"
rm "$T/overlay.qcow2"
ok_cmd "cache prune once the overlay is gone" k cache prune
is "$(find "$C/images" -type f | wc -l)" 0 "removes the base too"

# ---- what someone else could have planted ----
echo "root's secret" >"$T/secret"
chmod 600 "$T/secret"
X=$(sha512sum <"$T/secret" | cut -d' ' -f1)
ln -s "$T/secret" "$C/images/sha512-$X"
printf '[image]\nformat=raw\n' >"$C/images/sha512-$X.meta"
k cache verify >"$T/v.out" 2>"$T/v.err"
is $? 1 "cache verify fails on a planted link"
like "$(cat "$T/v.err")" "sha512-$X is not an entry kiln trusts: it is a symbolic link" "naming it and why"
like "$(k cache list)" 'NOT USED: +it is a symbolic link' "cache list marks it"
out=$(k fetch --checksum "sha512:$X" "$T/secret" 2>&1)
is "$out" "$T/secret" "(a local path is used where it is, not through the cache)"
rm -f "$C/images/sha512-$X" "$C/images/sha512-$X.meta"
chmod 777 "$C"
k cache list >/dev/null 2>"$T/l.err"
is $? 1 "a world-writable cache is refused"
like "$(cat "$T/l.err")" "cache: $C is writable by everyone \(mode 0777\).*chmod go-w.*--cache-dir" \
    "saying what to do"
chmod 755 "$C"
