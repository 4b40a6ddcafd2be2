#!/bin/bash
# check-layout.sh BUILD_DIR: the layout rule of HACKING.md, checked on the
# sources and on the objects of a build.  Dependencies point down only:
#
#   kiln.c, cli/  ->  verbs (builder/*.c, clone/*.c, sysprep/sysprep.c)
#                 ->  lib/ (and the sysprep operations, sysprep/*.c)
#                 ->  the libraries
#
#   a. no lib-level object uses a symbol defined by the front end or a verb;
#   b. no lib/*.h declares a verb entry point (kiln_cmd_*);
#   c. no #include cycle between lib/ units (foo.c + foo.h = unit foo);
#   d. lib/ prints nothing outside the output helpers (msg, progress, json):
#      no printf/puts/putchar, no stdout/stderr, no kiln_info/warn/debug/error;
#   e. verb files call no libguestfs (guestfs_*) or libvirt (vir*) function.
#
# Prints one line a violation ("rule: file: symbol or detail") and exits 1
# when there is any, else says "layout: ok".  KILN_LAYOUT_SRC: another
# source tree to read (tests/integration/04-layout.sh plants violations).
set -uo pipefail
O=$(realpath "${1:-build}")
cd "${KILN_LAYOUT_SRC:-$(dirname "$0")/..}" || exit 2
[[ -d $O/lib ]] || { echo "check-layout: no objects in $O (run make first)" >&2; exit 2; }

fail=0
violation () { echo "layout: $*"; fail=1; }

src_of () { local s=${1#"$O"/}; echo "${s%.o}.c"; }
# Objects of sources that exist (a removed source may leave its old
# object in the build directory).
current () { local o; for o in "$@"; do [[ -e $o && -e $(src_of "$o") ]] && echo "$o"; done; }

# Layers, as object lists.
lib_objs=()
for o in $(current "$O"/lib/*.o "$O"/sysprep/*.o); do
    [[ $o == */sysprep/sysprep.o ]] && continue
    lib_objs+=("$o")
done
mapfile -t upper_objs < <(current "$O"/kiln.o "$O"/cli/*.o "$O"/builder/*.o "$O"/clone/*.o "$O"/sysprep/sysprep.o)
mapfile -t verb_objs < <(current "$O"/builder/*.o "$O"/clone/*.o "$O"/sysprep/sysprep.o)

# nm's defined and undefined global symbols of one object.
defined () { nm -g --defined-only "$1" 2>/dev/null | awk '{ print $3 }'; }
undefined () { nm -g --undefined-only "$1" 2>/dev/null | awk '{ print $2 }'; }

# ---- a. lib/ uses nothing from above it ----
declare -A upper=()
for o in "${upper_objs[@]}"; do
    [[ -e $o ]] || continue
    src=$(src_of "$o")
    while read -r sym; do upper[$sym]=$src; done < <(defined "$o")
done
for o in "${lib_objs[@]}"; do
    src=$(src_of "$o")
    while read -r sym; do
        [[ -n ${upper[$sym]:-} ]] &&
            violation "a (lib uses the front end or a verb): $src: $sym (defined in ${upper[$sym]})"
    done < <(undefined "$o")
done

# ---- b. no verb prototypes in lib/ headers ----
while IFS=: read -r file line text; do
    violation "b (verb prototype in lib/): $file:$line: $(echo "$text" | grep -o 'kiln_cmd_[a-z_]*')"
done < <(grep -Hn '\bkiln_cmd_[a-z_]*' lib/*.h)

# ---- c. no #include cycle between lib/ units ----
unit () { local b=${1##*/}; echo "${b%.*}"; }
edges=$(for f in lib/*.c lib/*.h; do
            u=$(unit "$f")
            echo "$u $u"       # every unit is a node, also without edges
            sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f" |
                while read -r inc; do
                    [[ -e lib/$inc.h && $inc != "$u" ]] && echo "$u $inc"
                done
        done | sort -u)
# tsort names the units of each loop it finds, one a line after a
# "input contains a loop" line.
while read -r loop; do
    [[ -n $loop ]] && violation "c (include cycle in lib/): units ${loop% } include each other (through lib/UNIT.c or lib/UNIT.h)"
done < <(tsort <<<"$edges" 2>&1 >/dev/null |
         awk '/input contains a loop/ { if (l != "") print l; l = ""; next }
              { sub(/^tsort: /, ""); l = l $0 " " }
              END { if (l != "") print l }')

# ---- d. lib/ prints only through the output helpers ----
for o in "${lib_objs[@]}"; do
    case $o in */lib/msg.o|*/lib/progress.o|*/lib/json.o) continue;; esac
    src=$(src_of "$o")
    while read -r sym; do
        case $sym in
        printf|vprintf|puts|putchar|__printf_chk|__vprintf_chk|stdout|stderr|\
        kiln_info|kiln_warn|kiln_debug|kiln_error|kiln_fail)
            hint=$(grep -n "\b${sym#__}\b\|\b${sym%_chk}\b" "$src" 2>/dev/null | head -1 | cut -d: -f1)
            violation "d (lib prints): $src${hint:+:$hint}: $sym";;
        esac
    done < <(undefined "$o")
done

# ---- e. verbs call no libguestfs or libvirt function ----
for o in "${verb_objs[@]}"; do
    [[ -e $o ]] || continue
    src=$(src_of "$o")
    while read -r sym; do
        case $sym in
        guestfs_*|vir[A-Z]*) violation "e (verb calls a library directly): $src: $sym";;
        esac
    done < <(undefined "$o")
done

if (( fail )); then
    echo "layout: the rule is in HACKING.md ('Where things live')" >&2
    exit 1
fi
echo "layout: ok"
