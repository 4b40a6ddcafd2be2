#!/bin/bash
# -x: libguestfs calls traced on stderr for customize, sysprep, create and
# inspect, with secrets left out: one customize launch on the synthetic
# phony Debian image sets a password with -x; the trace shows the calls
# but neither the password nor a hash nor a line of /etc/shadow.
. "$(dirname "$0")/lib.sh"
set -u

require_guest
plan 9

for verb in customize sysprep create inspect; do
    like "$("$KILN" "$verb" --help 2>&1)" '-x, --trace' "kiln $verb offers -x"
done
ok_cmd "kiln sysprep -x is accepted (virt-sysprep's habit)" "$KILN" sysprep -x --list-operations

fixture_synthetic phony-debian "$T/phony.qcow2"
SECRET=kiln-trace-Secret-4242
"$KILN" customize -x -a "$T/phony.qcow2"  \
    --root-password "password:$SECRET" --password-crypto sha512 >"$T/out" 2>"$T/err"
ok $? "customize -x --root-password password:... on the phony image" || diag "$(tail -20 "$T/err")"
like "$(cat "$T/err")" 'libguestfs: trace: launch' "the trace is on stderr"
unlike "$(cat "$T/err")" "$SECRET" "the password is not in it"
unlike "$(cat "$T/err")" '\$6\$|\$y\$|root:\*:19700|debian:!:19700' "nor a hash, nor a line of /etc/shadow"
