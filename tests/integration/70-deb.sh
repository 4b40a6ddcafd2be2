#!/bin/bash
# 70-deb.sh: the Debian package.  make deb builds it (in this test's own
# build directory: ./build and build/deb are left alone), lintian finds no
# error in it, apt installs it, and the installed /usr/bin/kiln works:
# --version, one kiln inspect --sbom on the phony image (one appliance
# launch), its man pages, conffile and bash completion are where Debian
# puts them; then it is purged and the machine is as it was.  The
# build-tree kiln the other tests use is never touched.
#
# KILN_DEB=FILE tests that .deb instead of building one (lintian then
# checks the .deb alone).
. "$(dirname "$0")/lib.sh"
require_guest
require_cmd dpkg-buildpackage dh lintian apt-get python3

# An installed kiln of any origin would be replaced, then purged: refuse.
if dpkg-query -W -f='${Status}' kiln 2>/dev/null | grep -q " installed$"; then
    skip_all "a kiln package is installed already"
fi
for f in /usr/bin/kiln /etc/kiln; do
    [ -e "$f" ] && skip_all "$f exists (not from this test): it would be overwritten"
done
plan 19

build_sum=$(sha256sum "$KILN" | cut -d' ' -f1)
installed=0
purge() {
    [ "$installed" = 1 ] || return 0
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 kiln >"$T/purge.log" 2>&1
}
trap '_rc=$?; purge; (exit $_rc); _lib_cleanup' EXIT

# 1. Build.
if [ -n "${KILN_DEB:-}" ]; then
    deb=$KILN_DEB
    checked=$deb
    ok 0 "using $deb"
else
    make -C "$TOP" --no-print-directory deb O="$T/o" >"$T/deb.log" 2>&1
    ok $? "make deb" || diag "$(tail -n 30 "$T/deb.log")"
    deb=$(tail -n 1 "$T/deb.log")
    checked=${deb%.deb}.changes
fi
[ -f "$deb" ]; ok $? "the package is $deb"
like "$(basename "$deb")" "^kiln_[0-9][0-9.]*_$(dpkg-architecture -qDEB_HOST_ARCH)\.deb$" "named kiln_VERSION_ARCH.deb"
[ ! -e "$TOP/../kiln_$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")_$(dpkg-architecture -qDEB_HOST_ARCH).changes" ] || [ -n "${KILN_DEB:-}" ]
ok $? "nothing written beside the source tree"

# 2. lintian: no errors (warnings are listed as notes).
lintian "$checked" >"$T/lintian.out" 2>/dev/null
errors=$(grep -c '^E: ' "$T/lintian.out")
is "$errors" 0 "lintian reports no errors" || diag "$(cat "$T/lintian.out")"
note "lintian: $(grep -c '^W: ' "$T/lintian.out") warning(s)" "$(grep '^W: ' "$T/lintian.out")"

# 3. What it holds and needs.
depends=$(dpkg-deb -f "$deb" Depends)
like "$depends" "libguestfs0" "Depends are computed from the libraries (shlibs)"
like "$depends" "qemu-utils" "and name the tools kiln runs (qemu-utils)"
like "$(dpkg-deb -f "$deb" Recommends)" "libvirt-daemon-system" "libvirt-daemon-system is recommended"

# 4. Install.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "$deb" >"$T/install.log" 2>&1
st=$?
[ $st = 0 ] && installed=1
ok $st "apt-get install the .deb" || diag "$(tail -n 20 "$T/install.log")"
/usr/bin/kiln --version >"$T/version" 2>&1
ok $? "the installed kiln runs: $(head -n 1 "$T/version")"
is "$(dpkg-query -W -f='${Conffiles}' kiln | awk 'NF { print $1 }')" /etc/kiln/repos.d/debian.conf \
    "/etc/kiln/repos.d/debian.conf is a conffile"
[ -f /usr/share/man/man1/kiln.1.gz ] && [ -f /usr/share/man/man1/kiln-inspect.1.gz ] &&
    [ -f /usr/share/man/man5/kiln-recipe.5.gz ]
ok $? "the man pages are installed (kiln.1, kiln-inspect.1, kiln-recipe.5)"
[ -f /usr/share/bash-completion/completions/kiln ]
ok $? "the bash completion is installed"
got=$(env -i PATH=/usr/bin:/bin bash -c '
    . /usr/share/bash-completion/completions/kiln
    COMP_LINE="kiln insp"; COMP_POINT=${#COMP_LINE}
    COMP_WORDS=(kiln insp); COMP_CWORD=1
    _kiln; echo "${COMPREPLY[*]}"' 2>&1)
is "$got" inspect "the installed completion completes a verb with the installed kiln"

# 5. One inspect from the installed copy, with its SBOM.
fixture_synthetic phony-debian "$T/phony.qcow2"
/usr/bin/kiln inspect --sbom "$T/phony.spdx.json" "$T/phony.qcow2" >"$T/inspect.out" 2>"$T/inspect.err"
ok $? "the installed kiln inspects the phony image" || diag "$(tail -n 20 "$T/inspect.err")"
like "$(cat "$T/inspect.out")" "distro: +debian" "and finds Debian"
python3 "$TOP/tests/spdx-check.py" "$T/phony.spdx.json" >"$T/spdx.out" 2>&1
ok $? "its SBOM passes the SPDX 2.3 checks" || diag "$(cat "$T/spdx.out")"

# 6. Purge: the machine as it was.
purge; st=$?
installed=0
[ $st = 0 ] && [ ! -e /usr/bin/kiln ] && [ ! -e /etc/kiln ] &&
    [ ! -e /usr/share/bash-completion/completions/kiln ] &&
    ! dpkg-query -W -f='${Status}' kiln 2>/dev/null | grep -q " installed$"
ok $? "apt-get purge removes the binary, /etc/kiln and the completion" || diag "$(tail -n 20 "$T/purge.log")"
is "$(sha256sum "$KILN" | cut -d' ' -f1)" "$build_sum" "the build-tree kiln is untouched"
