#!/bin/bash
# kiln create and kiln build make an image with the same code
# (lib/image.c): the same inputs, given once as options and once as a
# recipe, give the same image.  Same virtual size, same grown root
# filesystem, same mode (0600), same customize and sysprep effects, both
# overlays on the base.  Three appliance launches in all: one per verb and
# one that reads both images.
. "$(dirname "$0")/lib.sh"
set -u

require_guest perl python3

plan 21

base=$(fixture_debian) || bail_out "no Debian fixture"
mkdir -p "$T/out"
W=$T/work
mkdir -p "$W"

# ---- the same inputs, twice ------------------------------------------------
SECONDS=0
"$KILN" create "$base" -o "$T/out/create.qcow2" --size 3G \
    --root-password password:Same-pw-22 --hostname same-image \
    --write /etc/kiln-same:made-once --run-command 'useradd -m bob' --password bob:random \
    --sysprep >"$T/c.out" 2>"$T/c.err"
is "$?" 0 "kiln create --size 3G with customize operations and --sysprep (${SECONDS}s)" ||
    diag "$(tail -n 20 "$T/c.err")"

cat >"$W/same.yaml" <<YAML
recipe: 1
name: same
base: {source: "$base"}
output: {path: "$T/out/build.qcow2", format: qcow2, mode: overlay, size: 3G}
customize:
  - root-password: password:\${PW}
  - hostname: same-image
  - write: {path: /etc/kiln-same, content: made-once}
  - run-command: useradd -m bob
  - password: bob:random
sysprep:
  operations: [defaults]
YAML
SECONDS=0
"$KILN" build "$W/same.yaml" --var PW=Same-pw-22 >"$T/b.out" 2>"$T/b.err"
is "$?" 0 "kiln build of a recipe with the same inputs (${SECONDS}s)" ||
    diag "$(tail -n 20 "$T/b.err")"
is "$(grep -c 'Launching the appliance' "$T/c.err") $(grep -c 'Launching the appliance' "$T/b.err")" \
    "1 1" "one appliance launch each"

# ---- the same image ----------------------------------------------------------
vsize() { qemu-img info --output=json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])'; }
backing() { qemu-img info --output=json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("full-backing-filename"))'; }
is "$(vsize "$T/out/create.qcow2")" "$((3 << 30))" "create: virtual size 3 GiB"
is "$(vsize "$T/out/build.qcow2")" "$((3 << 30))" "build: the same virtual size"
is "$(backing "$T/out/create.qcow2") $(backing "$T/out/build.qcow2")" "$base $base" \
    "both are overlays on the base"
is "$(stat -c %a "$T/out/create.qcow2") $(stat -c %a "$T/out/build.qcow2")" "600 600" \
    "both are mode 0600"

# One launch reads both: the root filesystem's size, the customize
# effects and what sysprep leaves.
probe() {
    cat <<GF
mount /dev/$1 /
echo @$2
sh "df -B1M --output=size / | tail -n 1 | tr -d ' '"
cat /etc/hostname
cat /etc/kiln-same
sh "grep ^root: /etc/shadow | cut -d: -f2"
sh "stat -c %s /etc/machine-id 2>/dev/null || echo none"
sh "grep ^bob: /etc/shadow | cut -d: -f2"
umount /
GF
}
out=$( { echo run; probe sda1 create; probe sdb1 build; echo "echo @end"; } |
      guestfish --ro -a "$T/out/create.qcow2" -a "$T/out/build.qcow2" 2>&1)
note "$out"
# guestfish ends what cat prints with a newline of its own: blank lines go.
c=$(sed -n '/^@create$/,/^@build$/p' <<<"$out" | sed '1d;$d' | grep -v '^$')
b=$(sed -n '/^@build$/,/^@end$/p' <<<"$out" | sed '1d;$d' | grep -v '^$')
c_size=$(sed -n 1p <<<"$c")
b_size=$(sed -n 1p <<<"$b")
ok $(( ${c_size:-0} > 2800 ? 0 : 1 )) "create grew the root filesystem (${c_size:-?} MiB)"
is "${b_size:-?}" "${c_size:-!}" "build grew it to the same size"
like "$c" $'same-image\nmade-once' "create: hostname and file written"
is "$(sed '4d;6d' <<<"$b")" "$(sed '4d;6d' <<<"$c")" "build: the same hostname, file and what sysprep left"
c_hash=$(sed -n 4p <<<"$c")
b_hash=$(sed -n 4p <<<"$b")
crypt_ok Same-pw-22 "$c_hash"
ok $? "create: the root password is set (checked with crypt)"
crypt_ok Same-pw-22 "$b_hash"
ok $? "build: the same root password"
like "$(cat "$T/c.out")" "$T/out/create.qcow2\$" "create prints the output"

# A generated password: create prints it on stdout; build keeps it in a
# 0600 file beside the image, never in its output, logs or manifest.
c_bob=$(sed -n "s/^bob's password: //p" "$T/c.out")
crypt_ok "$c_bob" "$(sed -n 6p <<<"$c")"
ok $? "create: bob's random password is printed on stdout and is the one set"
pwfile=$T/out/build.qcow2.passwords
is "$(stat -c %a "$pwfile" 2>/dev/null)" 600 "build: the passwords file beside the image is 0600"
b_bob=$(sed -n 's/^bob://p' "$pwfile")
crypt_ok "$b_bob" "$(sed -n 6p <<<"$b")"
ok $? "and holds bob's password, the one set in the image"
unlike "$(cat "$T/b.out" "$T/b.err" "$T/out/build.qcow2.json" 2>/dev/null)" "${b_bob:-no-password}" \
    "build's output, messages and manifest never hold it"
like "$(cat "$T/out/build.qcow2.json" 2>/dev/null)" "build\.qcow2\.passwords" "the manifest names the file"
unlike "$(cat "$T/c.err")" "${c_bob:-no-password}" "create's messages never hold it"
is "$(find "$T/out" -name '.*' | wc -l)" 0 "no temporary file is left by either"
