#!/bin/bash
# 01-cli.sh: the front end's contract: verbs, help, version, exit codes.
. "$(dirname "$0")/lib.sh"
require_kiln
plan 27

"$KILN" --help >"$T/help" 2>&1; ok $? "kiln --help exits 0"
like "$(cat "$T/help")" "inspect +Show the operating system" "--help lists the inspect verb with its summary"
like "$(cat "$T/help")" "Exit status: 0 success, 1 failure, 2 usage error" "--help documents the exit codes"

"$KILN" >"$T/none" 2>&1; is $? 2 "no verb: exit 2"
"$KILN" frobnicate >"$T/bad" 2>&1; is $? 2 "unknown verb: exit 2"
like "$(cat "$T/bad")" "unknown verb 'frobnicate'" "unknown verb is named"

"$KILN" inspect --no-such-option x >"$T/bad" 2>&1; is $? 2 "unknown option: exit 2"
like "$(cat "$T/bad")" "unknown option '--no-such-option'.*Try 'kiln inspect --help'" "unknown option is named, with a hint"
"$KILN" inspect --format >"$T/bad" 2>&1; is $? 2 "missing option argument: exit 2"
"$KILN" --accel hvf inspect x >"$T/bad" 2>&1; is $? 2 "--accel with a bad value: exit 2"

"$KILN" inspect --help >"$T/ihelp" 2>&1; ok $? "kiln inspect --help exits 0"
like "$(head -1 "$T/ihelp")" "^Usage: kiln inspect \[OPTIONS\] DISK" "verb help starts with its usage"

"$KILN" --version >"$T/ver" 2>&1; ok $? "kiln --version exits 0"
like "$(cat "$T/ver")" "libguestfs [0-9]+\.[0-9]+.*libvirt [0-9]+\.[0-9]+.*libosinfo [0-9]" "--version names the libraries it runs on"

"$KILN" inspect --long-options >"$T/lo"; ok $? "--long-options exits 0"
grep -qx -- '--format' "$T/lo" && grep -qx -- '--json' "$T/lo"; ok $? "--long-options lists the verb's and the global options"

# -a/-d/--format are parsed in one place (cli/disks.c) for customize and sysprep.
"$KILN" sysprep -a "$T/x.img" -d dom >"$T/bad" 2>&1; is $? 2 "sysprep -a with -d: exit 2"
like "$(cat "$T/bad")" "kiln sysprep: -a and -d cannot be used together" "and says why"
"$KILN" sysprep --format vmdk -a "$T/x.img" >"$T/bad" 2>&1; is $? 2 "sysprep --format vmdk: exit 2"
"$KILN" sysprep >"$T/bad" 2>&1; is $? 2 "sysprep without an image: exit 2"
like "$(cat "$T/bad")" "which image\? \(kiln sysprep -a DISK or -d DOMAIN\)" "and asks which image"

# An optional value given as a separate word is read as an operand by
# getopt: the error says to attach it, for every option of that kind.
"$KILN" clone -o x -n y --start --wait 600 >"$T/bad" 2>&1; is $? 2 "clone --wait 600: exit 2"
like "$(cat "$T/bad")" "unexpected operand '600': --wait takes its value attached, as --wait=600" "and says to write --wait=600"
"$KILN" create --sysprep defaults "$T/x.img" -o "$T/y.img" >"$T/bad" 2>&1; is $? 2 "create --sysprep defaults SRC: exit 2"
like "$(cat "$T/bad")" "'defaults' after --sysprep is read as a source: .*--sysprep=defaults" "and says to write --sysprep=defaults"
"$KILN" clone -o x -n y --count 3 --ip 10.0.0.5/24 >"$T/bad" 2>&1; is $? 2 "clone --ip with --count: exit 2"
like "$(cat "$T/bad")" "--ip ADDR names one clone's address: not with --count" "every clone would get the same address"
