#!/bin/bash
# Recipes from someone else, through the command line, with no appliance
# launch: a billion-laughs recipe is refused at once in bounded memory; a
# secret variable (environment, file, --var) shows in no plan, event or
# manifest, and a password variable with its value in the recipe is
# refused; "delete: //" is the guest's root and refused; the plan lists
# every host file the recipe reads (text and --json).
. "$(dirname "$0")/lib.sh"
set -u

require_kiln
require_cmd qemu-img python3 timeout

unset KILN_TEST_TOKEN PW
plan 26

W=$T/work
mkdir -p "$W"
cd "$W" || bail_out "cd $W"

# ---- billion laughs ---------------------------------------------------------------
python3 - >"$W/lol.yaml" <<'EOF'
print("recipe: 1\nname: lol\nbase: {source: debian-12}\noutput: {path: lol.qcow2}\nvars:")
print("  a: &a [" + ",".join(["lol"] * 10) + "]")
p = "a"
for c in "bcdefghijkl":
    print("  %s: &%s [%s]" % (c, c, ",".join(["*" + p] * 10)))
    p = c
EOF
ok "$([ "$(stat -c %s "$W/lol.yaml")" -le 1024 ]; echo $?)" "a billion-laughs recipe of at most 1 KB"
# 10^12 nodes expanded: without a bound this runs out of memory or time.
# The peak resident memory of kiln is measured (getrusage of the child);
# an address-space limit (ulimit -v) would also do, but AddressSanitizer's
# shadow memory cannot live under one, and make SANITIZE=... runs this too.
# A sanitized kiln gets a larger bound: its shadow and quarantine alone
# are tens of MiB.
if nm -D "$KILN" 2>/dev/null | grep -q __asan_init || ldd "$KILN" 2>/dev/null | grep -q libasan; then
    limit_kib=$((300 * 1024)) what="300 MiB (AddressSanitizer build)"
else
    limit_kib=$((50 * 1024)) what="50 MiB"
fi
start=$(date +%s%N)
rss=$(python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1] + ".out", "w"), stderr=open(sys.argv[1] + ".err", "w"))
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
    "$T/lol" timeout 10 "$KILN" build --dry-run "$W/lol.yaml")
st=${rss% *} rss=${rss#* }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$st" 1 "is refused (exit 1, not killed by the timeout)"
like "$(cat "$T/lol.err")" "^kiln: $W/lol\.yaml:[0-9]+:[0-9]+: the alias \*[a-l] makes the recipe more than 100000 nodes \(the limit" \
    "naming the file, the line and the limit"
ok "$([ "$ms" -lt 1000 ] && [ "$rss" -lt "$limit_kib" ]; echo $?)" \
    "in under a second ($ms ms) and under $what of memory (peak RSS $((rss / 1024)) MiB)"
is "$(cat "$T/lol.out")" "" "and no plan is printed"

# ---- secrets ----------------------------------------------------------------------
printf 'db-Secret-2\n' >"$W/db.pw"
chmod 600 "$W/db.pw"
mkdir -p "$W/base-tok-Secret-1" "$W/files" "$W/keys"
qemu-img create -q -f qcow2 "$W/base-tok-Secret-1/b.qcow2" 64M
echo "conf" >"$W/files/app.conf"
echo "ssh-ed25519 AAAA test" >"$W/keys/id.pub"
printf 'rootpw-file\n' >"$W/root.pw"
chmod 600 "$W/root.pw"
cat >"$W/secret.yaml" <<'EOF'
recipe: 1
name: secret
vars:
  KILN_TEST_TOKEN: {secret: true}
  DBPW: {file: db.pw}
base: {source: "https://u:${KILN_TEST_TOKEN}@example.org/i.qcow2"}
output: {path: secret.qcow2}
customize:
  - run-command: "curl -H token=${KILN_TEST_TOKEN} https://example.org/"
  - firstboot-command: echo ${DBPW} > /root/db
  - ssh-inject: "root:string:ssh-ed25519 ${KILN_TEST_TOKEN}"
  - root-password: password:${PW}
  - password: {user: admin, password: file:root.pw}
  - upload: {from: files/app.conf, to: /etc/app.conf}
  - copy-in: {from: files, to: /srv}
  - ssh-inject: {user: root, file: keys/id.pub}
EOF
export KILN_TEST_TOKEN=tok-Secret-1
"$KILN" build -n "$W/secret.yaml" --var PW=pw-Secret-3 >"$T/secret.txt" 2>"$T/secret.err"
ok $? "dry run of a recipe with secret variables"
"$KILN" --json build -n "$W/secret.yaml" --var PW=pw-Secret-3 >"$T/secret.json" 2>>"$T/secret.err"
ok $? "the same as JSON"
unlike "$(cat "$T/secret.txt" "$T/secret.json" "$T/secret.err")" "Secret-[123]" \
    "no secret's value in the plan, the JSON plan or the messages"
like "$(cat "$T/secret.txt")" "customize run-command curl -H token=<redacted> https://example.org/" \
    "a secret from the environment is shown redacted"
like "$(cat "$T/secret.txt")" "customize firstboot-command echo <redacted> > /root/db" "so is one from a file"
like "$(cat "$T/secret.txt")" "fetch +https://u:<redacted>@example.org/i.qcow2" "and one in the base URL"
like "$(cat "$T/secret.err")" "warning: --var PW: the secret is on the command line" \
    "a secret given with --var is warned about"

# ---- the host files a recipe reads --------------------------------------------------
for f in "$W/db.pw" "$W/root.pw" "$W/files/app.conf" "$W/files" "$W/keys/id.pub"; do
    like "$(cat "$T/secret.txt")" "reads +$f \(" "the plan lists ${f#"$W"/}"
done
is "$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["plans"][0]
print(" ".join(sorted("%s=%s" % (h["use"], h["path"].rsplit("/", 1)[-1]) for h in p["host_files"])))
' "$T/secret.json")" \
    "a secret variable's value=db.pw copy-in=files password file=root.pw ssh-inject key=id.pub upload=app.conf" \
    "so does the JSON plan, with what each is for"

# ---- the manifest (0644) of a real build, no launch: an overlay ---------------------------
cat >"$W/m.yaml" <<'EOF'
recipe: 1
name: m
vars:
  KILN_TEST_TOKEN: {secret: true}
base: {source: "./base-${KILN_TEST_TOKEN}/b.qcow2"}
output: {path: out.qcow2}
EOF
"$KILN" --json build "$W/m.yaml" >"$T/m.json" 2>"$T/m.err"
ok $? "an overlay built from a base whose path holds the secret"
unlike "$(cat "$W/out.qcow2.json" "$T/m.json" "$T/m.err")" "Secret-1" "the manifest, the events and the messages hold no secret"
like "$(cat "$W/out.qcow2.json")" "base-<redacted>/b.qcow2" "the manifest shows it redacted"

# ---- the inline-variable hole and the guest's root ----------------------------------------
cat >"$W/inline.yaml" <<'EOF'
recipe: 1
name: inline
vars: {PW: hunter2}
base: {source: debian-12}
output: {path: inline.qcow2}
customize:
  - root-password: password:${PW}
EOF
"$KILN" build -n "$W/inline.yaml" >"$T/inline.out" 2>&1
is "$?" 1 "a password variable with its value in the recipe is refused"
like "$(cat "$T/inline.out")" "inline\.yaml:7:20: the password variable PW has a value in the recipe" "naming where"
PW=from-env "$KILN" build -n "$W/inline.yaml" >"$T/inline.out" 2>&1
is "$?" 1 "even when the environment gives another value"

cat >"$W/root.yaml" <<'EOF'
recipe: 1
name: root
base: {source: debian-12}
output: {path: root.qcow2}
customize:
  - {delete: //}
EOF
"$KILN" build -n "$W/root.yaml" >"$T/root.out" 2>&1
is "$?" 1 "a recipe step {delete: //} is refused"
like "$(cat "$T/root.out")" "root\.yaml:6:14: --delete: '//' is the guest's root directory" "naming the step"

done_testing
