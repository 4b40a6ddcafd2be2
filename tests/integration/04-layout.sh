#!/bin/bash
# 04-layout.sh: the layout rule (HACKING.md) holds on this build: lib/ uses
# nothing from the front end or the verbs, declares no verb, has no include
# cycle and prints only through msg/progress/json; verbs call libguestfs
# and libvirt only through lib/.  Then the check is shown to catch each
# kind of violation, planted in a copy of the tree.
. "$(dirname "$0")/lib.sh"
require_kiln
require_cmd nm
require_cmd cc
plan 7

O=$(dirname "$KILN")
check=$TOP/tests/check-layout.sh

bash "$check" "$O" >"$T/real" 2>&1
ok $? "the tree follows the layout rule" || diag "$(cat "$T/real")"

# A copy of the objects and of the sources, with violations planted (the
# check reads only objects whose source exists).
mkdir -p "$T/obj" "$T/src"
(cd "$O" && find . -name '*.o' -print0 | xargs -0 cp --parents -t "$T/obj")
cp -r "$TOP/lib" "$TOP/cli" "$TOP/builder" "$TOP/clone" "$TOP/sysprep" "$TOP/kiln.c" "$T/src/"
cat >"$T/src/lib/zz-planted.c" <<'C'
#include <stdio.h>
int kiln_cmd_list (void *ctx, int argc, char **argv);
void planted_print (const char *s) { printf ("%s: %d\n", s, 1); }
int planted_verb_call (void) { return kiln_cmd_list (0, 0, 0); }
C
cat >"$T/src/builder/zz-verb.c" <<'C'
int guestfs_launch (void *g);
int planted_launch (void *g) { return guestfs_launch (g); }
C
cc -c -o "$T/obj/lib/zz-planted.o" "$T/src/lib/zz-planted.c" &&
    cc -c -o "$T/obj/builder/zz-verb.o" "$T/src/builder/zz-verb.c"
ok $? "planted objects compile" || bail_out "cannot compile the planted objects"
echo 'int kiln_cmd_planted (void);' >>"$T/src/lib/zz-a.h"
echo '#include "zz-b.h"' >>"$T/src/lib/zz-a.h"
echo '#include "zz-a.h"' >"$T/src/lib/zz-b.h"

KILN_LAYOUT_SRC=$T/src bash "$check" "$T/obj" >"$T/planted" 2>&1
is $? 1 "the check fails on a tree that breaks the rule"
out=$(cat "$T/planted")
like "$out" "a \(lib uses the front end or a verb\): lib/zz-planted.c: kiln_cmd_list \(defined in builder/list.c\)" \
    "a lib object that calls a verb is named, with the symbol"
like "$out" "b \(verb prototype in lib/\): lib/zz-a.h:1: kiln_cmd_planted" "a verb prototype in a lib header is named"
like "$out" "c \(include cycle in lib/\): units (zz-a zz-b|zz-b zz-a)" "an include cycle between lib units is named"
like "$out" "d \(lib prints\): lib/zz-planted.c(:[0-9]+)?: printf.*e \(verb calls a library directly\): builder/zz-verb.c: guestfs_launch" \
    "a print in lib/ and a libguestfs call in a verb are named"
