#!/bin/bash
# kiln build: the plan (--dry-run) of every example recipe touches nothing;
# malformed recipes fail with FILE:LINE:COLUMN through the command line (the
# whole golden corpus); --var, --force and shared bases; real builds from a
# synthetic base (overlay without a launch, raw copy in one launch), their
# manifests, refusal of existing outputs, nothing left after a failure,
# --keep-going, -j 2 fetching a shared base once, and the registration hook.
. "$(dirname "$0")/lib.sh"
set -u

require_kiln
require_cmd qemu-img python3 sha256sum mkfs.ext4 sfdisk debugfs

export KILN_ACCEL=tcg
# Variables the example recipes use must come from the tests only.
unset BASE OUTDIR ROOT_PASSWORD_FILE MEMORY PW

plan 75

W=$T/work
mkdir -p "$W" "$T/out"
cd "$W" || bail_out "cd $W"

# Every file under DIR with size and mtime, to prove that nothing changed.
snapshot() { find "$@" -printf '%p %s %T@\n' 2>/dev/null | sort; }

# ---- dry run: the plan, and nothing touched --------------------------------------
before=$(snapshot "$TOP/recipes" "$W" "$T/out")
for r in "$TOP"/recipes/*.yaml; do
    name=$(basename "$r" .yaml)
    ok_cmd "dry run of $name succeeds" \
        "$KILN" --cache-dir "$T/cache" build --dry-run "$r" --var OUTDIR="$T/out"
    like "$(cat "$T/last.out")" "fetch +debian-12" "plan of $name says what is fetched"
done
like "$(cat "$T/last.out")" "dry run: nothing fetched, written or defined" "plan ends by saying nothing was done"
is "$(snapshot "$TOP/recipes" "$W" "$T/out")" "$before" "dry runs wrote nothing (recipes, cwd, output dir)"
ok "$([ ! -e "$T/cache" ]; echo $?)" "dry runs created no cache"

# A template that goes to a remote connection needs template.pool: the
# plan says so from the URI alone, before any work (and the build too).
KILN_LIBVIRT_REMOTE=1 "$KILN" --cache-dir "$T/cache" build --dry-run "$TOP/recipes/debian-12-base.yaml" \
    --var OUTDIR="$T/out" >"$T/remote.out" 2>&1
is $? 1 "dry run of a template for a remote connection without template.pool: exit 1"
like "$(cat "$T/remote.out")" "a remote connection \(KILN_LIBVIRT_REMOTE says so\): add template.pool: POOL" \
    "saying to add template.pool, and why the connection counts as remote"
"$KILN" --cache-dir "$T/cache" -c qemu+ssh://kiln-no-such-host/system build "$TOP/recipes/debian-12-base.yaml" \
    --var OUTDIR="$T/out" >"$T/remote.out" 2>&1
is $? 1 "the build itself refuses before any work"
unlike "$(cat "$T/remote.out")" "fetch|cannot connect|Cannot recv" "without fetching or connecting"
ok "$([ ! -e "$T/cache" ]; echo $?)" "and without making a cache"

"$KILN" --cache-dir "$T/cache" build -n "$TOP"/recipes/*.yaml --var OUTDIR="$T/out" >"$T/plan.txt" 2>&1
ok $? "dry run of all the examples at once"
like "$(cat "$T/plan.txt")" "3 recipes, 1 base to fetch" "the shared base is fetched once"
like "$(cat "$T/plan.txt")" "fetched once for: .*debian-12-base.yaml .*debian-12-lab.yaml .*debian-12-web.yaml" \
    "the plan names the recipes that share it"
like "$(cat "$T/plan.txt")" "overlay +$T/out/debian-12-web.qcow2" "--var OUTDIR reaches the output path"
like "$(cat "$T/plan.txt")" "customize install nginx" "the extending recipe's own steps are in its plan"
like "$(cat "$T/plan.txt")" "network +dev-network, defined if absent" "networks are in the plan"
like "$(cat "$T/plan.txt")" "extra disk 2G on vdb" "extra disks are in the plan"
like "$(cat "$T/plan.txt")" "clone +web-1, web-2" "clones are in the plan"

"$KILN" --json --cache-dir "$T/cache" build -n "$TOP"/recipes/debian-12-lab.yaml \
    --var OUTDIR="$T/out" >"$T/plan.json" 2>"$T/plan.err"
ok $? "dry run with --json"
is "$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["plans"][0]
print(p["name"], p["fetch"]["source"], len(p["customize"]), p["networks"][0]["name"],
      p["template"]["disks"][0]["target"], ",".join(p["clones"]), len(p["files"]))
' "$T/plan.json" 2>&1)" "debian-12-lab debian-12 7 dev-network vdb lab-1 2" "the JSON plan holds the recipe"
is "$(snapshot "$TOP/recipes" "$W" "$T/out")" "$before" "the JSON dry run wrote nothing either"

# Secrets: a password from a variable never shows.
cat >"$W/secret.yaml" <<'EOF'
recipe: 1
name: secret
base: {source: debian-12}
output: {path: secret.qcow2}
customize:
  - root-password: password:${PW}
  - password: {user: admin, password: "password:${PW}"}
EOF
"$KILN" build -n "$W/secret.yaml" --var PW=s3cr3t-Pa55 >"$T/secret.txt" 2>&1
ok $? "dry run of a recipe with passwords from a variable"
"$KILN" --json build -n "$W/secret.yaml" --var PW=s3cr3t-Pa55 >>"$T/secret.txt" 2>&1
unlike "$(cat "$T/secret.txt")" "s3cr3t-Pa55" "the password appears in no plan, text or JSON"
like "$(cat "$T/secret.txt")" "root-password password:<redacted>" "it is shown redacted"
rm -f "$W/secret.yaml"

# ---- malformed recipes through the command line ---------------------------------
"$KILN" build -n "$TOP/tests/recipes/bad/unknown-operation.yaml" >"$T/bad.out" 2>"$T/bad.err"
is "$?" 1 "a malformed recipe: exit 1"
like "$(cat "$T/bad.err")" "^kiln: [^ ]*tests/recipes/bad/unknown-operation\.yaml:7:5: unknown customize operation 'instal' \(accepted: " \
    "the error is FILE:LINE:COLUMN: what is wrong (accepted: ...)"
is "$(cat "$T/bad.out")" "" "and nothing on stdout"

mismatch=0
cd "$TOP" || bail_out "cd $TOP"
for f in tests/recipes/bad/*.yaml; do
    got=$("$KILN" build -n "$f" 2>&1 >/dev/null)
    st=$?
    exp=$(cat "${f%.yaml}.expected")
    if [ "$st" != 1 ] || [ "$got" != "kiln: $exp" ]; then
        mismatch=$((mismatch + 1))
        diag "$f: status $st" "  got: $got" "  expected: kiln: $exp"
    fi
done
cd "$W" || bail_out "cd $W"
is "$mismatch" 0 "every recipe of the bad corpus fails through the CLI with its golden message"

"$KILN" build -n "$TOP/tests/recipes/bad/unknown-operation.yaml" "$TOP/recipes/debian-12-base.yaml" >"$T/mixed.out" 2>&1
is "$?" 1 "one malformed recipe among good ones fails the whole run before any work"
unlike "$(cat "$T/mixed.out")" "fetch +debian-12" "and no plan is printed"

sed -e 's/^name: debian-12-web/name: other-web/' -e 's/debian-12-web.qcow2/other-web.qcow2/' \
    -e 's|^extends: debian-12-base.yaml|extends: '"$TOP"'/recipes/debian-12-base.yaml|' \
    "$TOP/recipes/debian-12-web.yaml" >"$W/other-web.yaml"
"$KILN" build -n "$TOP/recipes/debian-12-web.yaml" "$W/other-web.yaml" >"$T/dup.out" 2>&1
is "$?" 1 "two recipes defining the same template in one run are refused"
like "$(cat "$T/dup.out")" "the domain debian-12-web is also made by" "with the domain named"
rm -f "$W/other-web.yaml"

nok_cmd "--var without = is a usage error" "$KILN" build -n --var NOEQUALS "$TOP/recipes/debian-12-base.yaml"
"$KILN" build -n --jobs 0 "$TOP/recipes/debian-12-base.yaml" >/dev/null 2>&1
is "$?" 2 "--jobs 0: exit 2"
"$KILN" build >/dev/null 2>&1
is "$?" 2 "no recipe: exit 2"

# ---- real builds from a synthetic base -----------------------------------------
fixture_synthetic phony-debian "$T/base.qcow2" || bail_out "no phony-debian fixture"
fixture_synthetic not-a-disk "$T/not-a-disk.img" || bail_out "no not-a-disk fixture"
chmod a-w "$T/base.qcow2"
base_sum=$(sha256sum <"$T/base.qcow2")

# recipe FILE NAME SOURCE OUTPUT [MODE FORMAT] [EXTRA YAML...]
recipe() {
    local file=$1 name=$2 source=$3 output=$4 mode=${5:-overlay} format=${6:-qcow2}
    shift 6 2>/dev/null || shift $#
    {
        echo "recipe: 1"
        echo "name: $name"
        echo "base: {source: \"$source\"}"
        echo "output: {path: \"$output\", mode: $mode, format: $format}"
        local l
        for l in "$@"; do echo "$l"; done
    } >"$file"
}

recipe "$W/a.yaml" img-a "$T/base.qcow2" '${OUT}/a.qcow2'
recipe "$W/b.yaml" img-b "$T/base.qcow2" '${OUT}/b.qcow2'
"$KILN" --json build -j 2 "$W/a.yaml" "$W/b.yaml" --var OUT="$T/out" >"$T/ab.json" 2>"$T/ab.err"
ok $? "two recipes built with -j 2" || diag "$(cat "$T/ab.err")"
is "$(grep -c '"stage":"fetch","event":"start"' "$T/ab.json")" 1 "their shared base was fetched once"
ok "$([ -f "$T/out/a.qcow2" ] && [ -f "$T/out/b.qcow2" ]; echo $?)" "both images exist"
like "$(qemu-img info "$T/out/a.qcow2")" "backing file: $T/base.qcow2" "the image is an overlay on the base"
is "$(sha256sum <"$T/base.qcow2")" "$base_sum" "the base is untouched"
python3 - "$T/out/a.qcow2.json" "$T/out/a.qcow2" "$W/a.yaml" "$T/base.qcow2" >"$T/manifest.check" 2>&1 <<'EOF'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
def sha(p): return "sha256:" + hashlib.sha256(open(p, "rb").read()).hexdigest()
problems = []
if m["output"]["digest"] != sha(sys.argv[2]): problems.append("output digest")
if m["recipe"]["digest"] != sha(sys.argv[3]): problems.append("recipe digest")
if m["recipe"]["path"] != sys.argv[3]: problems.append("recipe path")
if not m["versions"]["kiln"] or not m["versions"]["libguestfs"] or not m["versions"]["libvirt"]:
    problems.append("versions")
if not m["versions"]["qemu"]: problems.append("qemu version")
for k in ("fetch", "image", "create", "launch", "customize", "sysprep", "total"):
    if not isinstance(m["milliseconds"][k], int): problems.append("milliseconds." + k)
if m["base"]["digest"] != sha(sys.argv[4]): problems.append("base digest")
if m["started"] > m["finished"]: problems.append("times")
if m["base"]["source"] is None: problems.append("base source")
print(" ".join(problems) or "good")
EOF
is "$(cat "$T/manifest.check")" "good" "the manifest has digests, versions, times and durations"
ok "$(ls -A "$T/out" | grep -q '^\.'; [ $? = 1 ]; echo $?)" "no temporary file left in the output directory"
is "$(stat -c %a "$T/out/a.qcow2")" 600 "the image is mode 0600"
is "$(stat -c %a "$T/out/a.qcow2.json")" 644 "its manifest is 0644"

a_sum=$(sha256sum <"$T/out/a.qcow2")
"$KILN" build "$W/a.yaml" --var OUT="$T/out" >/dev/null 2>"$T/exists.err"
is "$?" 1 "rebuilding over an existing output is refused"
like "$(cat "$T/exists.err")" "a\.qcow2 exists \(use --force to replace it\)" "and says how to replace it"
is "$(sha256sum <"$T/out/a.qcow2")" "$a_sum" "the existing output is unchanged"
"$KILN" build -n "$W/a.yaml" --var OUT="$T/out" >"$T/exists.plan" 2>&1
is "$?" 1 "the dry run predicts the refusal (exit 1)"
like "$(cat "$T/exists.plan")" "exists: refused without --force" "and shows it in the plan"
"$KILN" build -n --force "$W/a.yaml" --var OUT="$T/out" >"$T/exists.plan" 2>&1
ok $? "a dry run with --force succeeds"
is "$(sha256sum <"$T/out/a.qcow2")" "$a_sum" "and leaves the output alone"
ok_cmd "--force replaces it" "$KILN" build --force "$W/a.yaml" --var OUT="$T/out"

# A raw standalone copy: qemu-img convert on the host, and with nothing to
# do inside the image, no appliance launch.
recipe "$W/c.yaml" img-c "$T/base.qcow2" "$T/out/c.img" copy raw
ok_cmd "a raw copy is built" "$KILN" build "$W/c.yaml"
is "$(grep -c 'Launching the appliance' "$T/last.out")" 0 "a copy with nothing to do needs no launch"
like "$(qemu-img info "$T/out/c.img")" "file format: raw" "it is raw"
is "$(stat -c %a "$T/out/c.img")" 600 "it is mode 0600, like every image kiln makes"
is "$(stat -c %s "$T/out/c.img")" "$(qemu-img info --output=json "$T/base.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
    "of the base's virtual size"
# The content, read without another appliance launch: the ext4 partition at 1 MiB.
dd if="$T/out/c.img" of="$T/c-part.img" bs=1M skip=1 status=none
is "$(debugfs -R 'cat /etc/hostname' "$T/c-part.img" 2>/dev/null)" "phony" "with the base's filesystem and files"

# Failures leave nothing, even a kill in the middle (during the launch:
# the hostname step needs one).
mkdir -p "$T/fail" "$T/killed"
recipe "$W/k.yaml" img-k "$T/base.qcow2" "$T/killed/k.img" copy raw "customize: [{hostname: killed}]"
"$KILN" build "$W/k.yaml" >/dev/null 2>&1 &
kpid=$!
for i in $(seq 1 50); do
    [ -n "$(ls -A "$T/killed")" ] && break
    sleep 0.1
done
isnt "$(ls -A "$T/killed")" "" "a build in progress has its temporary files"
sleep 2
kill -TERM "$kpid"
wait "$kpid"
is "$?" 143 "the build dies of SIGTERM"
is "$(ls -A "$T/killed")" "" "and leaves nothing in the output directory"
recipe "$W/bad-base.yaml" bad-base "$T/not-a-disk.img" "$T/fail/x.qcow2"
nok_cmd "a base that is not a disk fails" "$KILN" build "$W/bad-base.yaml"
is "$(ls -A "$T/fail")" "" "and leaves nothing in the output directory"

# Registration fails (the template's network does not exist): the image
# and its manifest go, and no domain is left defined.
ensure_libvirtd
tpl=kiln-test-tpl-$$
recipe "$W/tpl.yaml" tpl "$T/base.qcow2" "$T/fail/tpl.qcow2" overlay qcow2 \
    "template: {name: $tpl, os-variant: debian11, network: kiln-no-such-network}"
"$KILN" build "$W/tpl.yaml" >/dev/null 2>"$T/tpl.err"
is "$?" 1 "a recipe whose template cannot be registered fails"
like "$(cat "$T/tpl.err")" "kiln-no-such-network" "the message names the missing network"
is "$(ls -A "$T/fail")" "" "and its image and manifest are removed"
virsh -c qemu:///system dominfo "$tpl" >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "and no domain named $tpl is defined"

# --keep-going: the good recipe is built after the bad one fails.
recipe "$W/good.yaml" good "$T/base.qcow2" "$T/fail/good.qcow2"
"$KILN" build "$W/bad-base.yaml" "$W/good.yaml" >/dev/null 2>"$T/stop.err"
is "$?" 1 "without --keep-going a failure stops the run"
ok "$([ ! -e "$T/fail/good.qcow2" ]; echo $?)" "and the next recipe is not built"
"$KILN" build --keep-going "$W/bad-base.yaml" "$W/good.yaml" >/dev/null 2>"$T/keep.err"
is "$?" 1 "with --keep-going the run still fails"
ok "$([ -f "$T/fail/good.qcow2" ] && [ -f "$T/fail/good.qcow2.json" ]; echo $?)" \
    "but the good recipe is built, with its manifest"
