#!/bin/bash
# kiln build is a transaction (issue 13, failures 1 and 2), proven on the
# real libvirtd with KILN_FAULT=STEP (lib/fault.h) at every step of a
# build.  Cheap: a synthetic base, a recipe with nothing to do inside the
# image (no appliance launch), os-variant given (no inspection).
#   - a first build that fails at any step leaves nothing: no domain, no
#     image, manifest or extra disk, no temporary file;
#   - a rebuild (--force) of a template without clones that fails at any
#     step leaves the previous template exactly: its image (same digest),
#     its extra disk, its manifest, its definition (same XML); no new
#     domain, no temporary file;
#   - with linked clones present, --force refuses before any work: the
#     image keeps its digest, the clones pass qemu-img check, their backing
#     file is intact.
# Then the kill -9 test (tests/faults/kill-build.sh) with KILL_POINTS=5.
. "$(dirname "$0")/lib.sh"
set -u

require_root
require_kiln
require_cmd qemu-img virsh libvirtd sha256sum python3
export KILN_ACCEL=tcg
libvirt_scratch kiln-test

STEPS="fetch image publish networks template-define clone-1 clone-2 manifest"

build_scratch

# recipe FILE CLONES(yes|no)
recipe() {
    {
        echo "recipe: 1"
        echo "name: ${P}r"
        echo "base: {source: \"$T/base.qcow2\"}"
        echo "output: {path: \"$O/tpl.qcow2\"}"
        echo "template: {name: ${P}tpl, os-variant: debian11, network: none, disks: [{size: 16M}]}"
        [ "$2" = yes ] && echo "clones: {names: [${P}c1, ${P}c2]}"
    } >"$1"
}
recipe "$T/full.yaml" yes
recipe "$T/bare.yaml" no

domains() { $V list --all --name 2>/dev/null | grep "^$P" | sort | tr '\n' ' '; }
files() { ls -A "$O" | tr '\n' ' '; }
temps() { ls -A "$O" | grep '^\.' | tr '\n' ' '; }

# ---- (a) a first build fails at each step: nothing is left ----------------
for step in $STEPS; do
    KILN_FAULT=$step "$KILN" build "$T/full.yaml" >"$T/o" 2>&1
    st=$?
    ok "$([ $st = 1 ] && grep -q "injected fault at $step" "$T/o"; echo $?)" \
        "first build, fault at $step: fails with the injected error" || diag "$(cat "$T/o")"
    is "$(domains)/$(files)" "/" "first build, fault at $step: no domain, no file, no temporary left"
done

ok_cmd "the first build succeeds without a fault" "$KILN" build "$T/full.yaml"
is "$(domains)" "${P}c1 ${P}c2 ${P}tpl " "it defined the template and its two clones"
is "$(temps)" "" "and left no temporary file"

# ---- failure 1: --force with linked clones refuses before touching anything
sum=$(sha256sum <"$O/tpl.qcow2")
msum=$(sha256sum <"$O/tpl.qcow2.json")
c1=$($V domblklist "${P}c1" --details | awk '$2 == "disk" {print $4; exit}')
"$KILN" build --force "$T/full.yaml" >"$T/o" 2>&1
is "$?" 1 "build --force with linked clones present is refused"
like "$(cat "$T/o")" "${P}c1" "naming the clones"
unlike "$(cat "$T/o")" "fetching|building" "before the fetch and the image"
is "$(sha256sum <"$O/tpl.qcow2")" "$sum" "the template's image keeps its digest"
is "$(sha256sum <"$O/tpl.qcow2.json")" "$msum" "and its manifest"
ok_cmd "the clone's disk passes qemu-img check" qemu-img check -q "$c1"
like "$(qemu-img info "$c1")" "backing file: $O/tpl.qcow2" "and is backed by the template's image"
ok_cmd "the whole backing chain is readable" qemu-img info --backing-chain "$c1"
is "$(domains)" "${P}c1 ${P}c2 ${P}tpl " "every domain is still defined"

# ---- (b) a rebuild (--force) of a template without clones fails at each step
for c in c1 c2; do
    $V undefine "${P}$c" >/dev/null 2>&1
    rm -f "$O/${P}$c.qcow2"
done
rm -f "$O/${P}c1"* "$O/${P}c2"*
ok_cmd "a template without clones is rebuilt with --force" "$KILN" build --force "$T/bare.yaml"
xml=$($V dumpxml --inactive --security-info "${P}tpl")
sum=$(sha256sum <"$O/tpl.qcow2")
msum=$(sha256sum <"$O/tpl.qcow2.json")
before=$(files)
for step in $STEPS; do
    case $step in clone-*) continue ;; esac
    dsum=$(stat -c %i "$O/${P}tpl-disk1.qcow2" 2>/dev/null)
    KILN_FAULT=$step "$KILN" build --force "$T/bare.yaml" >"$T/o" 2>&1
    st=$?
    ok "$([ $st = 1 ] && grep -q "injected fault at $step" "$T/o"; echo $?)" \
        "rebuild, fault at $step: fails with the injected error" || diag "$(cat "$T/o")"
    is "$(sha256sum <"$O/tpl.qcow2")" "$sum" "rebuild, fault at $step: the image keeps its digest"
    is "$(sha256sum <"$O/tpl.qcow2.json")" "$msum" "rebuild, fault at $step: the manifest is the previous one"
    is "$(stat -c %i "$O/${P}tpl-disk1.qcow2" 2>/dev/null)" "$dsum" \
        "rebuild, fault at $step: the extra disk is the previous one (same inode)"
    is "$($V dumpxml --inactive --security-info "${P}tpl" 2>&1)" "$xml" \
        "rebuild, fault at $step: the template is defined with its previous XML"
    is "$(domains)" "${P}tpl " "rebuild, fault at $step: no other domain"
    is "$(files)" "$before" "rebuild, fault at $step: the same files, no temporary left"
done

# The same rebuild without a fault replaces it all.
ok_cmd "the rebuild without a fault succeeds" "$KILN" build --force "$T/bare.yaml"
isnt "$($V dumpxml --inactive --security-info "${P}tpl")" "$xml" "the template is defined anew"
is "$(files)" "$before" "with the same files and no temporary left"
ok_cmd "its image passes qemu-img check" qemu-img check -q "$O/tpl.qcow2"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$O/tpl.qcow2.json"
ok $? "its manifest is valid JSON"

# A clone's name taken by another domain: refused before any work, even
# with --force.
overlay_of "$T/base.qcow2" "$T/other.qcow2"
ok_cmd "another domain is registered under a clone's name" \
    "$KILN" register "$T/other.qcow2" --name "${P}c2" --os-variant debian11 --network none
sum=$(sha256sum <"$O/tpl.qcow2")
"$KILN" build --force "$T/full.yaml" >"$T/o" 2>&1
is "$?" 1 "a rebuild whose clone's name is taken is refused"
like "$(cat "$T/o")" "domain named '${P}c2' exists already" "naming it"
unlike "$(cat "$T/o")" "fetching|building" "before any work"
is "$(sha256sum <"$O/tpl.qcow2")" "$sum" "the image is unchanged"
is "$(domains)" "${P}c2 ${P}tpl " "and so are the domains"
$V undefine "${P}c2" >/dev/null 2>&1

# ---- kill -9 at 5 points of a build, each followed by a rerun -------------
KILL_POINTS=${KILL_POINTS:-5} KILN="$KILN" bash "$TOP/tests/faults/kill-build.sh" >"$T/kill.out" 2>&1
ok $? "kill -9 at ${KILL_POINTS:-5} points of a build: every rerun succeeds, nothing corrupt" ||
    diag "$(tail -30 "$T/kill.out")"
done_testing
