#!/bin/bash
# 05-completion.sh: completions/kiln.bash, driven as bash drives it (COMP_WORDS,
# COMP_CWORD, COMP_LINE, COMP_POINT, then the function, then COMPREPLY) in a
# bash subshell, with the built kiln.  Its answers must be what kiln's option
# tables say: every verb of kiln --help, every option of kiln VERB
# --long-options, the choices of a METAVAR; domains come from libvirt's test
# driver (-c test:///default), sysprep operations from --list-operations.
# No appliance, no libvirtd.
. "$(dirname "$0")/lib.sh"
require_kiln
plan 19

COMP=$TOP/completions/kiln.bash
cd "$T" || bail_out "cd $T"
mkdir -p recipes
touch recipes/web.yaml recipes/db.yml recipes/notes.txt disk.qcow2

# complete LINE: COMPREPLY for the command line LINE (cursor at its end),
# sorted, one a line.  Words split as bash does with its default
# COMP_WORDBREAKS for what these cases use (spaces, '=' and ':').
complete_line() {
    LINE=$1 bash -c '
        . "$0"
        COMP_LINE=$LINE; COMP_POINT=${#LINE}
        read -ra COMP_WORDS <<<"$(sed "s/=/ = /g; s/:/ : /g" <<<"$LINE")"
        [[ $LINE == *" " || $LINE == *= ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        _kiln
        printf "%s\n" "${COMPREPLY[@]}"' "$COMP" 2>&1 | sort
}

bash -n "$COMP"; ok $? "the completion file is valid bash"
bash -c '. "$0"; complete -p kiln' "$COMP" | grep -q -- '-F _kiln kiln'
ok $? "sourcing it registers _kiln for kiln"

verbs=$("$KILN" --help | awk '/^Verbs:/ { v = 1; next } v && /^$/ { exit } v { print $1 }' | sort)
is "$(complete_line "$KILN ")" "$verbs" "kiln <TAB>: every verb of kiln --help"
is "$(complete_line "$KILN sys")" sysprep "kiln sys<TAB>: sysprep"
is "$(complete_line "$KILN --")" "$("$KILN" --long-options | sort)" "kiln --<TAB>: the global options"

for v in inspect build clone sysprep; do
    is "$(complete_line "$KILN $v --")" "$("$KILN" "$v" --long-options | sort)" \
        "kiln $v --<TAB>: exactly kiln $v --long-options"
done
is "$(complete_line "$KILN sysprep --op")" --operations "kiln sysprep --op<TAB>: --operations"

is "$(complete_line "$KILN inspect --format ")" "$(printf 'qcow2\nraw')" \
    "inspect --format <TAB>: the choices of its METAVAR (raw|qcow2)"
is "$(complete_line "$KILN --accel ")" "$(printf 'auto\nkvm\ntcg')" "--accel <TAB>: auto kvm tcg"

ops=$("$KILN" sysprep --list-operations | awk '{ print $1 }' | sort)
is "$(complete_line "$KILN sysprep --enable ")" "$ops" "sysprep --enable <TAB>: every operation of --list-operations"
first=$(head -n 1 <<<"$ops")
second=$(sed -n 2p <<<"$ops")
like "$(complete_line "$KILN sysprep --operations $first,${second:0:3}")" "^$first,$second" \
    "sysprep --operations A,B<TAB>: completes the list's last element"

is "$(complete_line "$KILN -c test:///default clone --original ")" test \
    "clone --original <TAB>: the domains of the -c connection (test:///default)"
is "$(complete_line "$KILN --connect test:///default customize -d ")" test \
    "customize -d <TAB>: domains too"

is "$(complete_line "$KILN build recipes/")" "$(printf 'recipes/db.yml\nrecipes/web.yaml')" \
    "build <TAB>: recipe files (*.yaml, *.yml), not other files"
is "$(complete_line "$KILN sysprep -a dis")" disk.qcow2 "sysprep -a <TAB>: files"
is "$(complete_line "$KILN cache ")" "$(printf 'list\nprune\nverify')" "cache <TAB>: its subcommands"
