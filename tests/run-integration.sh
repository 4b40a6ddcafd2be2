#!/bin/bash
# tests/run-integration.sh FILE... — run integration test files with prove,
# two streams at a time (make check-integration; TEST_JOBS=1 for one).
#
# Each libguestfs appliance is one TCG vCPU, so one file at a time leaves a
# core idle.  The files that boot guests (BOOT_TESTS, basenames without .sh)
# run one after another in their own stream; every other file runs, one
# after another, in the second stream.  Two boots never share the cores, and
# nothing else depends on which stream a file is in: tests use their own
# scratch directories, domain name prefixes and caches.  The boot stream's
# output is printed when it ends (two proves writing to one terminal would
# mix their lines); the exit status is non-zero when either stream failed.
set -u
jobs=${TEST_JOBS:-2}
boot=" ${BOOT_TESTS:-} "
prove=(prove -f --timer --ext .sh)

a=() b=()
for f in "$@"; do
    case $f in */lib.sh|*/lib-*.sh) continue ;; esac
    n=$(basename "$f" .sh)
    if [ "$jobs" -gt 1 ] && [ "${boot/ $n /}" != "$boot" ]; then a+=("$f"); else b+=("$f"); fi
done
if [ ${#a[@]} = 0 ] || [ ${#b[@]} = 0 ]; then
    exec "${prove[@]}" "${a[@]}" "${b[@]}"
fi

log=$(mktemp /var/tmp/kiln-boot-tests.XXXXXX)
trap 'rm -f "$log"' EXIT
echo "# booting tests in a second stream: ${a[*]}"
"${prove[@]}" "${a[@]}" >"$log" 2>&1 &
pid=$!
"${prove[@]}" "${b[@]}"
rb=$?
wait "$pid"
ra=$?
echo "# the booting tests' stream (${a[*]}):"
cat "$log"
[ "$ra" = 0 ] && [ "$rb" = 0 ]
