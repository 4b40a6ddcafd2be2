#!/bin/bash
# tests/fuzz/run.sh MODE BUILD_DIR TARGET_BINARY...: run the libFuzzer
# targets `make fuzz` and `make check-fuzz` built (tests/fuzz/README.md).
#
#   fuzz   each target for FUZZ_SECONDS (default 600) on a COPY of its
#          corpus and regression inputs, in BUILD_DIR/run/TARGET/; prints
#          executions and coverage (cov:, ft:) per target.  A crash, leak,
#          timeout or out-of-memory stops that target and leaves the input
#          in BUILD_DIR/run/TARGET/artifacts/ (the tree is never written:
#          copy it into tests/fuzz/regress/TARGET/ and fix lib/).
#   check  each target once over every input of its corpus and regression
#          directories (no fuzzing): what make check runs.
#
# One target at a time: a fuzzer takes one core.
set -uo pipefail

mode=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-600}

# The longest input each target is given: a recipe, an index and a domain
# XML are a few KB; a qcow2 header with its extensions and backing name
# fits in 4 KB; a customize argument is a line.
max_len () {
  case $1 in
    index|domxml) echo 8192 ;;
    recipe|sums|qcow2) echo 4096 ;;
    repos) echo 2048 ;;
    customize) echo 512 ;;
    *) echo 4096 ;;
  esac
}

sym=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS="fast_unwind_on_malloc=0:detect_leaks=1${sym:+:external_symbolizer_path=$sym}"
export LSAN_OPTIONS="suppressions=$here/../lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Limits every run has: a slow input is a finding (a parser must answer
# in well under a second), and so is one that needs gigabytes.
common=(-timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=1024)

# qcow2 seeds are made here, by qemu-img, rather than kept as binaries in
# the tree: the first 4 KiB (header, extensions, backing name) of each.
seed_qcow2 () {
  local dir=$1 tmp
  command -v qemu-img >/dev/null || return 0
  tmp=$(mktemp -d)
  qemu-img create -q -f qcow2 "$tmp/plain" 1G
  qemu-img create -q -f qcow2 -u -b /var/lib/kiln/base.raw -F raw "$tmp/overlay-v3" 1G
  qemu-img create -q -f qcow2 -o compat=0.10 -u -b base.qcow2 -F qcow2 "$tmp/overlay-v2" 1G
  qemu-img create -q -f vmdk "$tmp/vmdk" 16M
  qemu-img create -q -f vhdx "$tmp/vhdx" 16M 2>/dev/null || true
  for f in "$tmp"/*; do
    head -c 4096 "$f" >"$dir/qemu-img-$(basename "$f")"
  done
  printf 'not an image\n' >"$dir/raw-text"
  rm -rf "$tmp"
}

# The files customize arguments name (relative to the working directory).
customize_files () {
  local dir=$1
  printf 'secret\n' >"$dir/pw"
  chmod 600 "$dir/pw"
  printf '#!/bin/sh\necho hi\n' >"$dir/setup.sh"
  printf 'Hello\n' >"$dir/motd"
  printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuzz fuzz@kiln\n' >"$dir/key.pub"
  mkdir -p "$dir/dir"
}

fail=0
for bin in "$@"; do
  t=${bin##*/fuzz-}
  work=$out/run/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  for d in "$here/corpus/$t" "$here/regress/$t"; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f -exec cp -t "$work/corpus" {} +
  done
  [ "$t" = qcow2 ] && seed_qcow2 "$work/corpus"
  [ "$t" = customize ] && customize_files "$work"
  n=$(find "$work/corpus" -type f | wc -l)
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

  if [ "$mode" = check ]; then
    (cd "$work" && "$bin" "${common[@]}" -artifact_prefix="$work/artifacts/" corpus/* >"$work/log" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
      echo "ok fuzz-$t: $n inputs"
    else
      echo "FAIL fuzz-$t (exit $rc): $work/log"
    fi
  else
    (cd "$work" && "$bin" "${common[@]}" -max_len="$(max_len "$t")" \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" corpus >"$work/log" 2>&1)
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log" | tail -1)
    echo "fuzz-$t: ${execs:-?} executions in ${FUZZ_SECONDS} s, ${cov:-no coverage line}," \
         "corpus $n -> $(find "$work/corpus" -type f | wc -l) inputs" \
         "$([ $rc -eq 0 ] || echo "FAILED (exit $rc)")"
  fi
  if [ $rc -ne 0 ]; then
    fail=1
    grep -m1 -A40 -E '^==[0-9]+==|ERROR: libFuzzer|runtime error|GLib.*ERROR|ALARM' "$work/log" | sed 's/^/  /'
    for a in "$work"/artifacts/*; do
      [ -e "$a" ] && echo "  reproducer: $a (add it as tests/fuzz/regress/$t/NAME and fix lib/)"
    done
  fi
done
exit $fail
