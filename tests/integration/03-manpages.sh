#!/bin/bash
# 03-manpages.sh: every verb has a man page, every option a verb accepts is
# documented, and every option a page documents exists.  Documented means a
# definition line starting with *--name* or *-x*, *--name* in docs/*.scd.
. "$(dirname "$0")/lib.sh"
require_kiln

defs() {   # the long options a page defines
    grep -oE '^\*(-[a-zA-Z0-9]\*, \*)?--[a-z0-9-]+\*' "$1" | grep -oE -- '--[a-z0-9-]+' | sort -u
}
globals=$("$KILN" --long-options | sort -u)
global_defs=$(defs "$TOP/docs/kiln.1.scd")
is "$global_defs" "$globals" "kiln.1 documents exactly the global options"

verbs=$("$KILN" --help | sed -n '/^Verbs:/,/^$/p' | awk 'NR>1 && NF {print $1}')
[ -n "$verbs" ]; ok $? "kiln --help lists verbs"
for v in $verbs; do
    page="$TOP/docs/kiln-$v.1.scd"
    [ -f "$page" ]; ok $? "kiln $v has a man page"
    grep -q "^\*$v\*" "$TOP/docs/kiln.1.scd"; ok $? "kiln.1 lists the $v verb"
    [ -f "$page" ] || continue
    accepted=$("$KILN" "$v" --long-options | sort -u)
    documented=$( { defs "$page"; echo "$global_defs";
                    if [ "$v" != customize ] && grep -q 'kiln-customize(1)\|\*kiln-customize\*(1)' "$page" &&
                       [ -f "$TOP/docs/kiln-customize.1.scd" ]; then
                        defs "$TOP/docs/kiln-customize.1.scd"; fi; } | sort -u)
    missing=$(comm -23 <(echo "$accepted") <(echo "$documented"))
    is "$missing" "" "kiln-$v(1) documents every option kiln $v accepts"
    extra=$(comm -13 <(echo "$accepted") <(defs "$page"))
    is "$extra" "" "kiln-$v(1) documents no option kiln $v lacks"
done
[ -f "$TOP/docs/kiln-recipe.5.scd" ] || note "kiln-recipe(5) not written yet"
done_testing
