# tests/integration/lib.sh — sourced by every integration test:
#     . "$(dirname "$0")/lib.sh"
# Tests are bash scripts printing TAP, run by prove.  This file sets:
#   TOP    repository root          KILN   the kiln binary (${KILN:-$TOP/build/kiln})
#   T      per-test scratch dir under /var/tmp, removed at exit unless KILN_KEEP=1
# and provides TAP helpers (plan ok ok_cmd nok_cmd is isnt like unlike skip skip_all
# diag note bail_out done_testing), requirements (require_root require_cmd),
# fixtures (fixture_debian fixture_synthetic overlay_of build_scratch) and real services
# (start_nginx stop_nginx ensure_libvirtd libvirt_scratch).
# Safe under set -u; the test may use set -e only if it never lets a check fail.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KILN=${KILN:-$TOP/build/kiln}
case $KILN in /*) ;; *) KILN=$PWD/$KILN ;; esac
export TOP KILN
PATH=$PATH:/usr/sbin:/sbin

# libguestfs under TCG: KVM is broken on the project's machines (see DESIGN.md).
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

_tap_n=0          # tests run
_tap_fail=0       # tests failed
_tap_plan=""      # planned count, if plan was called
_tap_done=0       # plan printed at the end by done_testing
_tap_skipped_all=0
_nginx_pidfiles=()

T=$(mktemp -d /var/tmp/kiln-test.XXXXXX) || { echo "Bail out! mktemp failed"; exit 255; }
export T

_lib_cleanup() {
    local rc=$? pf pid i
    set +e
    for pf in ${_nginx_pidfiles[@]+"${_nginx_pidfiles[@]}"}; do
        _stop_nginx_pidfile "$pf"
    done
    if [ "${KILN_KEEP:-0}" = 1 ]; then
        echo "# KILN_KEEP=1: scratch dir kept: $T"
    else
        rm -rf "$T"
    fi
    if [ "$_tap_skipped_all" = 1 ]; then
        exit 0
    fi
    if [ -n "$_tap_plan" ] && [ "$_tap_n" -ne "$_tap_plan" ]; then
        echo "# planned $_tap_plan tests but ran $_tap_n"
        [ "$rc" -ne 0 ] || rc=255
    elif [ -n "$_tap_plan" ] && [ "$_tap_fail" -eq 0 ]; then
        rc=0    # all planned tests ran and passed; ignore the last command's status
    fi
    if [ "$_tap_fail" -gt 0 ]; then
        echo "# failed $_tap_fail of $_tap_n tests"
        rc=$(( _tap_fail > 254 ? 254 : _tap_fail ))
    fi
    exit "$rc"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- TAP helpers ----

# plan N — print the plan first (or call done_testing at the end instead).
plan() {
    _tap_plan=$1
    echo "1..$1"
}

# done_testing — print the plan at the end, when no plan was given up front.
done_testing() {
    if [ -z "$_tap_plan" ]; then
        _tap_plan=$_tap_n
        echo "1..$_tap_n"
    fi
}

# diag MSG... — a comment (prove shows it in verbose mode, and on stderr always)
# (each argument is one or more lines)
diag() { local a l; for a in "$@"; do while IFS= read -r l; do echo "# $l" >&2; done <<<"$a"; done; }
# note MSG... — a comment on stdout (shown with prove -v only)
note() { local a l; for a in "$@"; do while IFS= read -r l; do echo "# $l"; done <<<"$a"; done; }

# ok STATUS DESC — pass when STATUS is 0, e.g.:  cmd; ok $? "cmd works"
ok() {
    local st=${1-1} desc=${2-}
    _tap_n=$((_tap_n + 1))
    if [ "$st" = 0 ]; then
        echo "ok $_tap_n - $desc"
        return 0
    fi
    _tap_fail=$((_tap_fail + 1))
    echo "not ok $_tap_n - $desc"
    diag "  Failed test '$desc' (status $st)"
    return 1
}

# ok_cmd DESC CMD [ARG...] — run CMD, pass when it exits 0; its output goes to
# $T/last.out (and is shown as diagnostics when it fails).
ok_cmd() {
    local desc=$1; shift
    "$@" >"$T/last.out" 2>&1
    local st=$?
    ok "$st" "$desc" || diag "  command: $*" "$(tail -n 30 "$T/last.out")"
    return "$st"
}

# nok_cmd DESC CMD [ARG...] — run CMD, pass when it exits non-zero (output in $T/last.out)
nok_cmd() {
    local desc=$1; shift
    "$@" >"$T/last.out" 2>&1
    local st=$?
    if [ "$st" -ne 0 ]; then ok 0 "$desc"; return 0; fi
    ok 1 "$desc"; diag "  command unexpectedly succeeded: $*" "$(tail -n 30 "$T/last.out")"
    return 1
}

# is GOT EXPECTED DESC
is() {
    local got=${1-} exp=${2-} desc=${3-}
    if [ "$got" = "$exp" ]; then ok 0 "$desc"; return 0; fi
    ok 1 "$desc"
    diag "         got: '$got'" "    expected: '$exp'"
    return 1
}

# isnt GOT UNEXPECTED DESC
isnt() {
    local got=${1-} exp=${2-} desc=${3-}
    if [ "$got" != "$exp" ]; then ok 0 "$desc"; return 0; fi
    ok 1 "$desc"
    diag "         got: '$got'" "    expected anything else"
    return 1
}

# like GOT ERE DESC — GOT matches the extended regex ERE (bash =~)
like() {
    local got=${1-} re=${2-} desc=${3-}
    if [[ $got =~ $re ]]; then ok 0 "$desc"; return 0; fi
    ok 1 "$desc"
    diag "                  '$got'" "    doesn't match '$re'"
    return 1
}

# unlike GOT ERE DESC
unlike() {
    local got=${1-} re=${2-} desc=${3-}
    if ! [[ $got =~ $re ]]; then ok 0 "$desc"; return 0; fi
    ok 1 "$desc"
    diag "                  '$got'" "    matches '$re'"
    return 1
}

# skip N REASON — record N skipped tests (e.g. inside a block that cannot run)
skip() {
    local n=${1-1} reason=${2-} i
    for ((i = 0; i < n; i++)); do
        _tap_n=$((_tap_n + 1))
        echo "ok $_tap_n # skip $reason"
    done
}

# skip_all REASON — skip the whole test; must come before any test output.
# prove reports it as "skipped: REASON" (TAP "1..0 # SKIP"); exit status 0, which
# is what prove requires (a non-zero status would make it "Dubious").
skip_all() {
    _tap_skipped_all=1
    echo "1..0 # SKIP ${1-}"
    exit 0
}

# bail_out REASON — stop the whole prove run (broken environment)
bail_out() {
    echo "Bail out! ${1-}"
    exit 255
}

# ---------------------------------------------------------------- requirements ----

require_root() {
    [ "$(id -u)" = 0 ] || skip_all "needs root"
}

# require_cmd CMD... — skip_all unless every CMD is on PATH
require_cmd() {
    local c missing=()
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    [ ${#missing[@]} -eq 0 ] || skip_all "missing command(s): ${missing[*]}"
}

# require_kiln — skip_all unless the kiln binary is built
require_kiln() {
    [ -x "$KILN" ] || skip_all "kiln binary not built ($KILN)"
}

# require_guest CMD... — what a test that launches the appliance on a guest
# needs: root, the kiln binary, qemu-img, guestfish and CMD...; the appliance
# runs under TCG (KILN_ACCEL=tcg), so no KVM probe.
require_guest() {
    require_root
    require_kiln
    require_cmd qemu-img guestfish "$@"
    export KILN_ACCEL=tcg
}

# crypt_ok CLEAR HASH — libxcrypt (through perl) says CLEAR matches HASH.
# Both go through the environment, not argv.
crypt_ok() {
    CLEAR=$1 HASH=$2 perl -e 'exit (crypt ($ENV{CLEAR}, $ENV{HASH}) eq $ENV{HASH} ? 0 : 1)'
}

# ---------------------------------------------------------------- fixtures ----

# fixture_debian — print the path of the cached bootable Debian 12 qcow2 (built on
# first use, several minutes).  Never write to it: use overlay_of.
fixture_debian() {
    "$TOP/tests/fixtures/debian-image.sh"
}

# fixture_synthetic KIND OUT — phony-debian | phony-debian-lvm | no-os | not-a-disk (a private copy)
fixture_synthetic() {
    "$TOP/tests/fixtures/synthetic-image.sh" "$@"
}

# overlay_of BASE OUT — a qcow2 overlay backed by BASE, so tests never write BASE
# flip_byte FILE OFFSET: replace the byte at OFFSET with its complement,
# so the file always changes (writing a fixed value is a no-op whenever
# random data already holds that value: 1 run in 256).
flip_byte() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    [ -n "$b" ] || bail_out "flip_byte: $1 has no byte at offset $2"
    printf "\\$(printf %03o $(( 255 - b )))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

overlay_of() {
    local base=$1 out=$2
    case $base in /*) ;; *) base=$PWD/$base ;; esac
    qemu-img create -q -f qcow2 -F qcow2 -b "$base" "$out"
}

# ---------------------------------------------------------------- nginx ----

# start_nginx DIR [https] — a real nginx serving DIR on 127.0.0.1 at a free port.
# Sets NGINX_PORT, NGINX_URL (http://127.0.0.1:PORT or https://localhost:PORT),
# NGINX_ACCESS_LOG, NGINX_ERROR_LOG, NGINX_PIDFILE, and for https NGINX_CA (the
# test CA's certificate: give it to kiln as CURL_CA_BUNDLE / SSL_CERT_FILE).
# $NGINX_EXTRA (optional) is inserted in the server block, e.g.
#   NGINX_EXTRA='location = /old { return 302 /new; }' start_nginx "$T/www"
# Access log format: combined plus " range=$http_range".  Stopped at exit.
start_nginx() {
    local root=$1 mode=${2:-http} n port conf listen tls="" used
    case $root in /*) ;; *) root=$PWD/$root ;; esac
    command -v nginx >/dev/null || { bail_out "nginx not installed"; }
    n=${#_nginx_pidfiles[@]}
    local d="$T/nginx$n"
    mkdir -p "$d/tmp"
    if [ "$mode" = https ]; then
        _make_test_ca "$d" || bail_out "could not make the test CA"
        NGINX_CA=$d/ca.pem
        export NGINX_CA
        tls="
        ssl_certificate     $d/server.pem;
        ssl_certificate_key $d/server.key;
        ssl_protocols       TLSv1.2 TLSv1.3;"
    fi
    local try
    for try in $(seq 1 20); do
        used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if grep -qx "$port" <<<"$used"; then continue; fi
        listen="127.0.0.1:$port"
        [ "$mode" = https ] && listen="$listen ssl"
        conf="$d/nginx.conf"
        cat >"$conf" <<EOF
user root;
worker_processes 1;
master_process on;
daemon on;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 256; }
http {
    $( [ -f /etc/nginx/mime.types ] && echo "include /etc/nginx/mime.types;" )
    default_type application/octet-stream;
    log_format kiln '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" range=\$http_range';
    access_log $d/access.log kiln;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 10;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen $listen;
        server_name localhost;
        root $root;
        autoindex off;$tls
        ${NGINX_EXTRA:-}
    }
}
EOF
        rm -f "$d/nginx.pid"
        if nginx -e "$d/error.log" -p "$d" -c "$conf" 2>>"$d/start.log"; then
            local i
            for i in $(seq 1 50); do
                [ -s "$d/nginx.pid" ] && break
                sleep 0.1
            done
            if [ -s "$d/nginx.pid" ]; then
                _nginx_pidfiles+=("$d/nginx.pid")
                NGINX_PORT=$port
                if [ "$mode" = https ]; then
                    NGINX_URL=https://localhost:$port
                else
                    NGINX_URL=http://127.0.0.1:$port
                fi
                NGINX_ACCESS_LOG=$d/access.log
                NGINX_ERROR_LOG=$d/error.log
                NGINX_PIDFILE=$d/nginx.pid
                export NGINX_PORT NGINX_URL NGINX_ACCESS_LOG NGINX_ERROR_LOG NGINX_PIDFILE
                return 0
            fi
        fi
        grep -q 'Address already in use' "$d/start.log" "$d/error.log" 2>/dev/null || break
    done
    diag "nginx failed to start:" "$(cat "$d/start.log" "$d/error.log" 2>/dev/null | tail -n 20)"
    bail_out "cannot start nginx"
}

# stop_nginx [PIDFILE] — stop one nginx (default: the last started); waits for exit
stop_nginx() {
    _stop_nginx_pidfile "${1:-${NGINX_PIDFILE-}}"
}

_stop_nginx_pidfile() {
    local pf=$1 pid i
    [ -n "$pf" ] && [ -s "$pf" ] || return 0
    pid=$(cat "$pf")
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        _pid_alive "$pid" || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pf"
    return 0
}

# _pid_alive PID — running and not a zombie (this machine's PID 1 reaps slowly)
_pid_alive() {
    local st
    st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# _make_test_ca DIR — CA (ca.key, ca.pem) and a server cert for localhost/127.0.0.1
_make_test_ca() {
    local d=$1
    (
    set -e
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout ca.key -out ca.pem -days 3 -subj "/CN=kiln test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:localhost,IP:127.0.0.1" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 3 -extfile server.ext -out server.pem 2>/dev/null
    )
}

# ---------------------------------------------------------------- libvirt ----

# ensure_libvirtd — make qemu:///system answer: start virtlogd and libvirtd (as
# daemons, left running for later tests) when absent; wait up to 30 s.
# build_scratch — for kiln build tests that libvirtd's qemu reads: a private
# phony-debian base at $T/base.qcow2, read-only, and an empty output
# directory O=$T/out, both reachable by the qemu user.
build_scratch() {
    chmod 755 "$T"
    fixture_synthetic phony-debian "$T/base.qcow2" || bail_out "no phony-debian fixture"
    chmod a-w "$T/base.qcow2"
    O=$T/out
    mkdir -p "$O"
    chmod 755 "$O"
}

# libvirt_scratch NAME-PREFIX — for a test that defines domains on the real
# libvirtd (started if needed): V (virsh on qemu:///system) and P (a prefix
# unique to this run, NAME-PREFIX-NNNN-); every domain named P* is destroyed
# and undefined at exit.
libvirt_scratch() {
    ensure_libvirtd
    V="virsh -q -c qemu:///system"
    P=$1-$RANDOM$RANDOM-
    trap '_ls_rc=$?; undefine_domains "$P"; (exit $_ls_rc); _lib_cleanup' EXIT
}

ensure_libvirtd() {
    if timeout 10 virsh -c qemu:///system version >/dev/null 2>&1; then
        return 0
    fi
    [ "$(id -u)" = 0 ] || skip_all "libvirtd not running and not root to start it"
    command -v libvirtd >/dev/null || skip_all "libvirtd not installed"
    # Tests run in parallel (make check: prove -j): one starts the daemons,
    # the others wait for it.
    (
        flock 8
        pidof virtlogd >/dev/null || virtlogd -d
        pidof libvirtd >/dev/null || libvirtd -d
    ) 8>/run/lock/kiln-test-libvirtd.lock
    local i
    for i in $(seq 1 60); do
        if timeout 10 virsh -c qemu:///system list >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    bail_out "libvirtd does not answer on qemu:///system after 30 s"
}

# undefine_domains PREFIX — destroy and undefine (with their NVRAM) every
# domain on qemu:///system whose name starts with PREFIX: a test's cleanup.
undefine_domains() {
    local d v="virsh -q -c qemu:///system"
    for d in $($v list --all --name 2>/dev/null | grep "^$1"); do
        $v destroy "$d" >/dev/null 2>&1
        $v undefine --nvram "$d" >/dev/null 2>&1 || $v undefine "$d" >/dev/null 2>&1
    done
}
