#!/bin/bash
# 52-sbom.sh: the SBOM (OUTPUT.spdx.json) beside every built image and
# kiln inspect --sbom.  Each document passes tests/spdx-check.py (SPDX 2.3's
# required members and types, checked by hand: the official JSON schema is
# not available offline), and lists exactly the packages dpkg-query lists
# in the image: for the Debian fixture, dpkg-query run inside the built
# image (guestfish); for the phony image, the host's dpkg-query on the
# image's own dpkg status file (read with debugfs, no launch).  The build's
# SBOM costs no launch: the build of the Debian fixture launches once.
# Three appliance launches in all (build, guestfish, inspect).
. "$(dirname "$0")/lib.sh"
require_guest python3 sha256sum sha512sum debugfs dpkg-query
plan 29

CHECK=$TOP/tests/spdx-check.py
NL=$'\n'
mkdir -p "$T/out"

# sbom_packages FILE: "NAME VERSION ARCH SOURCE" per package of the SBOM,
# sorted (ARCH from the purl, SOURCE from sourceInfo, else NAME).
sbom_packages() {
    python3 - "$1" <<'EOF'
import json, sys, urllib.parse
doc = json.load(open(sys.argv[1]))
out = []
for p in doc["packages"]:
    if not p["SPDXID"].startswith("SPDXRef-Package-"):
        continue
    purl = next(r["referenceLocator"] for r in p["externalRefs"] if r["referenceType"] == "purl")
    q = urllib.parse.parse_qs(purl.split("?", 1)[1])
    src = p.get("sourceInfo", "built package from: " + p["name"]).split(": ", 1)[1]
    out.append(f'{p["name"]} {p["versionInfo"]} {q["arch"][0]} {src}')
print("\n".join(sorted(out)))
EOF
}
# member FILE EXPR: a Python expression on the JSON document d.
member() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
checksum() {   # checksum FILE SPDXID: "ALG HEX" of that package, one a line
    member "$1" "'\\n'.join(' '.join((c['algorithm'], c['checksumValue'])) for p in d['packages'] if p['SPDXID'] == '$2' for c in p.get('checksums', []))"
}
DPKG_FORMAT='${db:Status-Status} ${Package} ${Version} ${Architecture} ${source:Package}\n'

# ---- a build with nothing to do inside: no launch, the image and its base --------
fixture_synthetic phony-debian "$T/phony.qcow2" || bail_out "no phony fixture"
cat >"$T/plain.yaml" <<EOF
recipe: 1
name: plain
base: {source: "$T/phony.qcow2"}
output: {path: "$T/out/plain.qcow2", mode: overlay}
EOF
"$KILN" build "$T/plain.yaml" >"$T/plain.out" 2>&1
ok $? "a build without a launch" || diag "$(tail -n 20 "$T/plain.out")"
is "$(grep -c 'Launching the appliance' "$T/plain.out")" 0 "launches no appliance for its SBOM"
sb=$T/out/plain.qcow2.spdx.json
python3 "$CHECK" "$sb" >"$T/check.out" 2>&1
ok $? "its SBOM passes the SPDX 2.3 checks" || diag "$(cat "$T/check.out")"
is "$(member "$sb" "sorted(p['SPDXID'] for p in d['packages'])")" "['SPDXRef-BaseImage', 'SPDXRef-Image']" \
    "it lists the image and its base only"
like "$(member "$sb" "d['creationInfo']['comment']")" "not opened" "and says why"
is "$(checksum "$sb" SPDXRef-BaseImage)" "SHA256 $(sha256sum <"$T/phony.qcow2" | cut -d' ' -f1)" \
    "the base's digest (a local file, taken as it is)"
like "$(member "$sb" "[p['comment'] for p in d['packages'] if p['SPDXID'] == 'SPDXRef-BaseImage'][0]")" \
    "not verified" "and that it was not verified"
is "$(member "$T/out/plain.qcow2.json" "d['output']['sbom']")" "$sb" "the manifest names the SBOM"
is "$(stat -c %a "$sb")" 644 "the SBOM is mode 0644"

"$KILN" build --force --no-sbom "$T/plain.yaml" >"$T/nosbom.out" 2>&1
ok $? "--no-sbom builds" || diag "$(tail -n 20 "$T/nosbom.out")"
ok "$([ ! -e "$sb" ]; echo $?)" "without an SBOM (the earlier build's is removed)"
is "$(member "$T/out/plain.qcow2.json" "d['output']['sbom']")" None "and the manifest's sbom is null"

# ---- kiln inspect --sbom on the phony image vs its dpkg status -----------------
"$KILN" inspect --sbom "$T/phony.spdx.json" "$T/phony.qcow2" >"$T/inspect.out" 2>"$T/inspect.err"
ok $? "kiln inspect --sbom" || diag "$(tail -n 20 "$T/inspect.err")"
python3 "$CHECK" "$T/phony.spdx.json" >"$T/check.out" 2>&1
ok $? "its SBOM passes the SPDX 2.3 checks" || diag "$(cat "$T/check.out")"
# The phony image's dpkg database, read without a launch: its ext4
# partition starts at 1 MiB.
qemu-img convert -O raw "$T/phony.qcow2" "$T/phony.raw"
mkdir -p "$T/admin"
debugfs -R 'cat /var/lib/dpkg/status' "$T/phony.raw?offset=1048576" >"$T/admin/status" 2>/dev/null
want=$(dpkg-query --admindir="$T/admin" -W -f="$DPKG_FORMAT" 2>/dev/null | awk '$1 == "installed" { $1 = ""; sub(/^ /, ""); print }' | sort)
isnt "$want" "" "dpkg-query reads the phony image's package database ($(wc -l <<<"$want") packages)"
is "$(sbom_packages "$T/phony.spdx.json")" "$want" \
    "the SBOM lists exactly what dpkg-query lists: name, version (epoch too), architecture, source"
is "$(checksum "$T/phony.spdx.json" SPDXRef-Image)" "SHA256 $(sha256sum <"$T/phony.qcow2" | cut -d' ' -f1)" \
    "with the image's digest"
like "$(member "$T/phony.spdx.json" "[p['name'] + ' ' + p['versionInfo'] for p in d['packages'] if p['SPDXID'] == 'SPDXRef-OperatingSystem'][0]")" \
    "^debian 12\." "and the operating system"

# ---- the Debian fixture: built with one launch, compared with dpkg-query inside --
img=$(fixture_debian) || bail_out "cannot build the Debian fixture"
sum=$(sha512sum "$img" | cut -d' ' -f1)
cat >"$T/deb.yaml" <<EOF
recipe: 1
name: sbom-debian
base: {source: "$img", checksum: "sha512:$sum"}
output: {path: "$T/out/deb.qcow2", mode: overlay}
customize:
  - hostname: sbom-test
EOF
"$KILN" build "$T/deb.yaml" >"$T/deb.out" 2>&1
ok $? "the Debian fixture is built with a customize step" || diag "$(tail -n 20 "$T/deb.out")"
is "$(grep -c 'Launching the appliance' "$T/deb.out")" 1 "in one appliance launch: the SBOM adds none"
sb=$T/out/deb.qcow2.spdx.json
ok "$([ -f "$sb" ]; echo $?)" "the SBOM is beside the image ($(basename "$sb"))"
python3 "$CHECK" "$sb" >"$T/check.out" 2>&1
ok $? "it passes the SPDX 2.3 checks" || diag "$(cat "$T/check.out")"
is "$(member "$T/out/deb.qcow2.json" "d['output']['sbom']")" "$sb" "the manifest names it"
like "$(checksum "$sb" SPDXRef-BaseImage)" "(^|$NL)SHA512 $sum($NL|\$)" "the base is listed with the digest it was verified against"
like "$(member "$sb" "[p['comment'] for p in d['packages'] if p['SPDXID'] == 'SPDXRef-BaseImage'][0]")" \
    ", verified against its published checksum" "and says it was verified"
is "$(checksum "$sb" SPDXRef-Image)" "SHA256 $(sha256sum <"$T/out/deb.qcow2" | cut -d' ' -f1)" \
    "the image with its digest"

# dpkg-query inside the built image (the second launch).
guestfish --ro -a "$T/out/deb.qcow2" -i sh "dpkg-query -W -f='$DPKG_FORMAT'" >"$T/dpkg.out" 2>"$T/dpkg.err"
ok $? "dpkg-query runs inside the built image" || diag "$(tail -n 20 "$T/dpkg.err")"
want=$(awk '$1 == "installed" { $1 = ""; sub(/^ /, ""); print }' "$T/dpkg.out" | sort)
got=$(sbom_packages "$sb")
n=$(grep -c . <<<"$want")
ok "$([ "$n" -gt 50 ] && [ "$(grep -c . <<<"$got")" = "$n" ]; echo $?)" \
    "the SBOM has as many packages as dpkg-query lists ($n: a whole Debian system)"
is "$got" "$want" "and exactly the same: name, version, architecture, source package" ||
    diag "$(diff <(echo "$want") <(echo "$got") | head -n 20)"
