# bash completion for kiln(1).                              -*- shell-script -*-
#
# Nothing here lists kiln's verbs or options.  They come from the kiln being
# completed, which prints them from its option tables: the verbs from
# `kiln --help`, each verb's options from `kiln VERB --long-options`, and
# from `kiln VERB --help` which of them take an argument and what it is
# (the METAVAR of "--format raw|qcow2", "-a, --add DISK").  What a value is
# decides how it is completed: a choice list (raw|qcow2) completes to its
# words; DISK, FILE, PATH, SCRIPT, SOURCE to files; DIR to directories;
# RECIPE to *.yaml files; a domain (-d/--domain, clone's -o/--original) to
# the names `virsh list --all --name` gives on the connection of -c; a
# sysprep operation list (--operations, --enable, --sysprep=) to the names
# `kiln sysprep --list-operations` gives.  Answers are cached per kiln
# binary for the shell's life.
#
# Installed as $(PREFIX)/share/bash-completion/completions/kiln, where
# bash-completion loads it on first use; or source it.

declare -gA _kiln_cache=()

# _kiln_query KILN KEY CMD...: CMD's output, cached under KILN and KEY.
_kiln_query()
{
    local kiln=$1 key="$1|$2"
    shift 2
    if [[ -z ${_kiln_cache[$key]+set} ]]; then
        _kiln_cache[$key]=$("$@" 2>/dev/null)
    fi
    printf '%s\n' "${_kiln_cache[$key]}"
}

# _kiln_verbs KILN: the verbs, from the Verbs: section of kiln --help.
_kiln_verbs()
{
    _kiln_query "$1" verbs "$1" --help |
        awk '/^Verbs:/ { v = 1; next } v && /^$/ { exit } v { print $1 }'
}

# _kiln_table KILN [VERB]: one line per option of VERB (none: the global
# options): "--LONG SHORT ARG METAVAR", SHORT "-" when none, ARG none,
# required or optional, METAVAR "-" when none.  Read from kiln VERB --help,
# whose rows are "  -x, --long META" or "      --long META" in a 28-column
# left part, or alone on their line when longer (the help then follows on
# a line indented by 31 spaces).
_kiln_table()
{
    _kiln_query "$1" "table:$2" "$1" ${2:+"$2"} --help |
        awk '
        { line[NR] = $0 }
        END {
            for (i = 1; i <= NR; i++) {
                l = line[i]
                if (l !~ /^  -[^-]/ && l !~ /^      --[^ ]/)
                    continue
                if (line[i + 1] ~ /^                               /)
                    left = substr(l, 3)
                else
                    left = substr(l, 3, 28)
                sub(/^ +/, "", left); sub(/ +$/, "", left)
                short = "-"
                if (left ~ /^-[^-], /) { short = substr(left, 1, 2); left = substr(left, 5) }
                name = left; arg = "none"; meta = "-"
                if (match(left, /\[=/)) {
                    name = substr(left, 1, RSTART - 1); meta = substr(left, RSTART + 2)
                    sub(/\]$/, "", meta); arg = "optional"
                } else if (match(left, / /)) {
                    name = substr(left, 1, RSTART - 1); meta = substr(left, RSTART + 1)
                    arg = "required"
                }
                print name, short, arg, meta
            }
        }'
}

# _kiln_lookup KILN VERB OPT: the table line of OPT (--long or -x) for VERB.
_kiln_lookup()
{
    _kiln_table "$1" "$2" | awk -v o="$3" '$1 == o || $2 == o { print; exit }'
}

# _kiln_synopsis KILN VERB: the operand placeholders of VERB's usage line,
# in order ("RECIPE...", "DISK", "list|verify|prune"): options, their
# arguments and bracketed groups left out.
_kiln_synopsis()
{
    _kiln_query "$1" "usage:$2" "$1" "$2" --help | sed -n '1s/^Usage: kiln [^ ]* //p' |
        awk '{
            depth = 0; skipnext = 0
            for (i = 1; i <= NF; i++) {
                t = $i; op = gsub(/[[(]/, "&", t); cl = gsub(/[])]/, "&", t)
                if (depth > 0 || op > 0) { depth += op - cl; continue }
                if (t ~ /^-/) { skipnext = 1; continue }
                if (skipnext) { skipnext = 0; if (t ~ /^[A-Z]/) continue }
                print t
            }
        }'
}

# _kiln_connect: the URI of -c/--connect on the command line, if any (read
# from COMP_LINE: bash splits a URI's colons into words of their own).
_kiln_connect()
{
    local -a w
    local i
    read -ra w <<<"${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}"
    for ((i = 1; i < ${#w[@]}; i++)); do
        case ${w[i]} in
        -c|--connect) printf '%s\n' "${w[i + 1]-}"; return ;;
        --connect=*) printf '%s\n' "${w[i]#--connect=}"; return ;;
        -c?*) printf '%s\n' "${w[i]#-c}"; return ;;
        esac
    done
}

_kiln_domains()
{
    local uri
    uri=$(_kiln_connect)
    command -v virsh >/dev/null 2>&1 || return
    virsh -q ${uri:+-c "$uri"} list --all --name 2>/dev/null | sed '/^$/d'
}

# _kiln_compgen_files [dirs|yaml]: files (or directories, or recipes and
# directories) matching $cur, with filename quoting.
_kiln_compgen_files()
{
    compopt -o filenames 2>/dev/null
    case ${1-} in
    dirs) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    yaml) mapfile -t COMPREPLY < <(compgen -f -X '!*.yaml' -- "$cur"; compgen -f -X '!*.yml' -- "$cur"
                                   compgen -d -- "$cur") ;;
    *) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    esac
}

# _kiln_words WORDS...: COMPREPLY = the WORDS that start with $cur.
_kiln_words()
{
    mapfile -t COMPREPLY < <(compgen -W "$*" -- "$cur")
}

# The value of option NAME (--long) whose METAVAR is META, for VERB.
_kiln_value()
{
    local kiln=$1 verb=$2 name=$3 meta=$4 prefix ops
    case $verb:$name in
    *:--domain|clone:--original)
        _kiln_words "$(_kiln_domains)"
        return ;;
    *:--operations|*:--enable|*:--sysprep)
        # A comma-separated list: complete its last element.
        prefix=
        [[ $cur == *,* ]] && prefix=${cur%,*},
        ops=$(_kiln_query "$kiln" sysprep-ops "$kiln" sysprep --list-operations | awk '{ print $1 }')
        [[ $name == --enable ]] || ops+=$'\n'"defaults"$'\n'"all"$'\n'$(sed 's/^/-/' <<<"$ops")
        local cur=${cur##*,}
        mapfile -t COMPREPLY < <(compgen -P "$prefix" -W "$ops" -- "$cur")
        compopt -o nospace 2>/dev/null
        return ;;
    esac
    case $meta in
    *[A-Z]*) ;;
    *'|'*) _kiln_words "${meta//|/ }"; return ;;
    esac
    case $meta in
    DIR) _kiln_compgen_files dirs ;;
    RECIPE*) _kiln_compgen_files yaml ;;
    DISK|FILE|OUT|PATH|SCRIPT|SOURCE|KEY*|LOCAL*) _kiln_compgen_files ;;
    esac
}

_kiln()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]-}
    local kiln=${COMP_WORDS[0]} verb= i w line name short arg meta
    local -a operands=()

    COMPREPLY=()
    [[ $kiln == "~"/* ]] && kiln=$HOME/${kiln#"~/"}
    command -v "$kiln" >/dev/null 2>&1 || kiln=kiln

    # The verb: the first word that is not a global option or its argument.
    # After it, the operands given so far.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        =) ((i++)); continue ;;         # --opt=VALUE: bash made "--opt" "=" "VALUE"
        :) continue ;;
        -*)
            [[ $w == *=* ]] && continue
            line=$(_kiln_lookup "$kiln" "$verb" "$w")
            read -r name short arg meta <<<"$line"
            if [[ $arg == required ]]; then
                ((i++))
                # a URI split at its colons by bash
                while [[ ${COMP_WORDS[i + 1]-} == : && $((i + 1)) -lt $COMP_CWORD ]]; do ((i += 2)); done
            fi ;;
        *)
            if [[ -z $verb ]]; then
                verb=$w
            else
                operands+=("$w")
            fi ;;
        esac
    done

    # --opt VALUE, or --opt=VALUE (bash makes "--opt" "=" "VALUE" of it;
    # an optional argument is only ever attached).
    local attached=
    if [[ $cur == = ]]; then
        cur= attached=1
    elif [[ $prev == = ]]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]-} attached=1
    fi
    if [[ $prev == -* ]]; then
        line=$(_kiln_lookup "$kiln" "$verb" "$prev")
        if [[ -n $line ]]; then
            read -r name short arg meta <<<"$line"
            if [[ $arg == required || ( $arg == optional && -n $attached ) ]]; then
                _kiln_value "$kiln" "$verb" "$name" "$meta"
                return 0
            fi
        fi
    fi

    if [[ $cur == -* ]]; then
        _kiln_words "$(_kiln_query "$kiln" "long:$verb" "$kiln" ${verb:+"$verb"} --long-options)"
        return 0
    fi
    if [[ -z $verb ]]; then
        _kiln_words "$(_kiln_verbs "$kiln")"
        return 0
    fi

    # An operand: what the usage line has at its place ("RECIPE..." repeats).
    local -a places
    mapfile -t places < <(_kiln_synopsis "$kiln" "$verb")
    local n=${#operands[@]} place=
    if ((n < ${#places[@]})); then
        place=${places[n]}
    elif ((${#places[@]})) && [[ ${places[-1]} == *... ]]; then
        place=${places[-1]}
    fi
    place=${place%...}
    case $place in
    "") ;;
    *[A-Z]*'|'*|*'|'*[A-Z]*) _kiln_compgen_files ;;   # TEMPLATE|URL|PATH
    *'|'*|[a-z]*) _kiln_words "${place//|/ }" ;;       # list|verify|prune, index
    *) _kiln_value "$kiln" "$verb" "" "$place" ;;
    esac
    return 0
}

complete -F _kiln kiln
