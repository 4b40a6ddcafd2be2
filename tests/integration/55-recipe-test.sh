#!/bin/bash
# 55-recipe-test.sh — issue 17: a recipe's boot check (test:).  Two recipes
# built at once (-j 2) from the Debian fixture, the same but for one
# expected value: each template is booted as a throwaway linked clone under
# TCG, logged in on its serial console, two commands run.  The one whose
# expected value is wrong fails the build and leaves nothing (no template
# domain, image, manifest, throwaway clone, overlay or console log); the
# right one passes and its manifest records the check, without the password.
. "$(dirname "$0")/lib.sh"
require_kiln
require_cmd qemu-img virsh python3
libvirt_scratch t55
export KILN_ACCEL=tcg
plan 16

fix=$(fixture_debian) || bail_out "no Debian fixture"
umask 022
chmod 755 "$T"
mkdir -p "$T/out"
openssl rand -base64 12 >"$T/root.pw"

# recipe NAME EXPECTED
recipe() {
    cat >"$T/$1.yaml" <<EOR
recipe: 1
name: ${P}$1
base: {source: $fix}
output: {path: $T/out/${P}$1.qcow2}
customize:
  - root-password: file:root.pw
template: {network: user, memory: 384, vcpus: 1, os-variant: debian11}
test:
  timeout: 420
  user: root
  password: file:root.pw
  commands:
    - run: cat /etc/debian_version
      match: '^12'
    - run: echo \$((6*7))
      expect: '$2'
EOR
}
recipe good 42
recipe bad 43

"$KILN" build -n "$T/good.yaml" >"$T/plan.txt" 2>&1
ok $? "the dry run"
like "$(cat "$T/plan.txt")" "test +boot a throwaway linked clone of ${P}good, up within 420 s" "shows the boot check"
like "$(cat "$T/plan.txt")" "run \`echo \\\$\(\(6\*7\)\)\`, expecting '42'" "and its commands"
like "$(cat "$T/plan.txt")" "log in on its serial console as root, password file:$T/root.pw" "and the login"

t0=$(date +%s)
"$KILN" build -j 2 --keep-going "$T/good.yaml" "$T/bad.yaml" >"$T/build.out" 2>&1
rc=$?
t1=$(date +%s)
diag "kiln build -j 2 of two recipes with a boot check each (TCG): $((t1 - t0)) s"
isnt "$rc" 0 "one of the two fails"
like "$(cat "$T/build.out")" "boot check of ${P}bad failed: \`echo .*\` \(.*bad.yaml:[0-9]+:[0-9]+\) gave '42' \(exit status 0\), expected '43'" \
    "saying what was expected and what came" || diag "$(tail -n 30 "$T/build.out")"

# The failing one left nothing under a final name.
ok "$($V dominfo "${P}bad" >/dev/null 2>&1; [ $? != 0 ]; echo $?)" "no template domain for the failed build"
ok "$([ ! -e "$T/out/${P}bad.qcow2" ] && [ ! -e "$T/out/${P}bad.qcow2.json" ]; echo $?)" "no image, no manifest"
is "$($V list --all --name | grep "^$P" | grep -c -- "-kiln-test-")" 0 "no throwaway clone left (of either)"
is "$(ls -A "$T/out" | grep -v "^${P}good.qcow2\(.json\|.sbom.json\|.spdx.json\)\?$" | tr '\n' ' ')" "" \
    "no overlay, console log or temporary left in the output directory"

# The right one passed and is published.
ok_cmd "the template of the passing build is defined" $V dominfo "${P}good"
ok "$([ -s "$T/out/${P}good.qcow2.json" ]; echo $?)" "its manifest is published"
read -r pass up n got1 ms <<<"$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["test"]
print(t["pass"], t["up"], len(t["commands"]), t["commands"][1]["got"], t["boot_milliseconds"])' \
    "$T/out/${P}good.qcow2.json" 2>/dev/null)"
is "$pass $up $n $got1" "True True 2 42" "the manifest records the check: passed, up, both commands, what came"
diag "boot check: the throwaway clone up after $((${ms:-0} / 1000)) s (TCG)"
python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["test"]["commands"][0]
sys.exit(0 if c["got"].startswith("12") and c["pass"] and c["match"] == "^12" else 1)' \
    "$T/out/${P}good.qcow2.json" 2>/dev/null
ok $? "a match: check recorded with its pattern"
ok "$(grep -qF "$(cat "$T/root.pw")" "$T/out/${P}good.qcow2.json" "$T/build.out"; [ $? = 1 ]; echo $?)" \
    "the password is in neither the manifest nor the output"
like "$(cat "$T/build.out")" "boot check passed: ${P}good-kiln-test-[0-9a-f]+ up" "the passing check is reported"
