#!/bin/bash
# bench/run.sh: make bench.  kiln against the tools users would otherwise
# run, side by side in the same run on the same inputs, alternating, REPS
# times each (3; QUICK=1: 1); medians and ratios go to bench/results.md and
# bench/results.json.  Absolute times vary on shared machines; ratios hold.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$TOP/build/kiln}
REPS=${REPS:-3}
[ "${QUICK:-0}" = 1 ] && REPS=1
export KILN_ACCEL=tcg                      # KVM hangs here; both sides use TCG
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
W=${KILN_BENCH_DIR:-/var/tmp/kiln-bench}
mkdir -p "$W" "$W/www"
RUN=$(mktemp -d "$W/run.XXXXXX")
chmod 755 "$RUN"                           # libvirt's qemu user reads disks here
RAW="$RUN/raw.tsv"                         # scenario side rep seconds maxrss_kib extra
: >"$RAW"
cleanup() { set +e; [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID"; declare -F cleanup_domains >/dev/null && cleanup_domains; declare -F cleanup_scale >/dev/null && cleanup_scale; declare -F cleanup_upload >/dev/null && cleanup_upload; rm -rf "$RUN"; }
trap cleanup EXIT

say() { echo "bench: $*" >&2; }
# want SCENARIO: BENCH_ONLY (space-separated: fetch unxz unxz1g pipeline
# clones cloneid clonescale memory recipes recipes3 accel upload) names the scenarios to run; all when empty.
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

# measure SCENARIO SIDE REP EXTRA CMD... : one timed run, appended to RAW.
measure() {
    local scen=$1 side=$2 rep=$3 extra=$4; shift 4
    local tf="$RUN/time.$$" t0 t1 secs rss
    # Wall time from the clock in ns (time's %e has 10 ms steps, too coarse
    # for a clone); peak RSS from time.
    t0=$(date +%s%N)
    if ! /usr/bin/time -f '%M' -o "$tf" "$@" >"$RUN/last.out" 2>"$RUN/last.err"; then
        say "FAILED: $scen/$side: $*"; tail -5 "$RUN/last.err" >&2; return 1
    fi
    t1=$(date +%s%N)
    secs=$(printf '%d.%03d' $(( (t1 - t0) / 1000000000 )) $(( (t1 - t0) / 1000000 % 1000 )))
    read -r rss <"$tf"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$side" "$rep" "$secs" "$rss" "$extra" >>"$RAW"
    say "$scen / $side #$rep: ${secs}s, peak RSS ${rss} KiB"
}

# ------------------------------------------------------------ inputs ----
FIXTURE=$("$TOP/tests/fixtures/debian-image.sh")

nginx_start() {          # serve $W/www on a loopback port
    mkdir -p "$W/www" "$RUN/nginx"
    NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$RUN/nginx/nginx.conf" <<NG
user root; worker_processes 1; daemon off; pid $RUN/nginx/pid;
error_log $RUN/nginx/error.log;
events { worker_connections 64; }
http { access_log $RUN/nginx/access.log; sendfile on;
  server { listen 127.0.0.1:$NGINX_PORT; root $W/www; } }
NG
    nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" & NGINX_PID=$!
    sleep 0.5
    URL=http://127.0.0.1:$NGINX_PORT
}

# A 400 MiB image of incompressible bytes, made once.
if want fetch && [ ! -f "$W/www/big.img" ]; then
    mkdir -p "$W/www"
    head -c $((400 << 20)) /dev/urandom >"$W/www/big.img.tmp" && mv "$W/www/big.img.tmp" "$W/www/big.img"
fi
# A 100 MiB one, to show memory stays flat as the size grows.
if want fetch; then
    [ -f "$W/www/small.img" ] || head -c $((100 << 20)) "$W/www/big.img" >"$W/www/small.img"
    BIG_SUM=$(sha512sum "$W/www/big.img" | cut -d' ' -f1)
    SMALL_SUM=$(sha512sum "$W/www/small.img" | cut -d' ' -f1)
fi
# An xz-compressed raw disk image: the fixture as raw (3 GiB, mostly holes).
if want unxz && [ ! -f "$W/www/debian.raw.xz" ]; then
    qemu-img convert -O raw "$FIXTURE" "$RUN/debian.raw"
    xz -T2 -1 -c "$RUN/debian.raw" >"$W/www/debian.raw.xz.tmp" && mv "$W/www/debian.raw.xz.tmp" "$W/www/debian.raw.xz"
    rm -f "$RUN/debian.raw"
fi
want unxz && XZ_SUM=$(sha512sum "$W/www/debian.raw.xz" | cut -d' ' -f1)
ln -sf "$FIXTURE" "$W/www/debian-12.qcow2"
FIX_SUM=$(sha512sum "$FIXTURE" | cut -d' ' -f1)
nginx_start

# ------------------------------------------------------------ 1. fetch ----
for r in $(want fetch && seq 1 "$REPS"); do
    rm -rf "$RUN/cache" "$RUN/dl"; mkdir -p "$RUN/dl"
    measure fetch kiln "$r" "" "$KILN" -q --cache-dir "$RUN/cache" fetch "$URL/big.img" --checksum "sha512:$BIG_SUM"
    rm -f "$RUN/dl/big.img"; sync
    measure fetch curl+sha512sum "$r" "" bash -c 'curl -sSf -o "$1/big.img" "$2/big.img" && sha512sum "$1/big.img" >/dev/null' _ "$RUN/dl" "$URL"
    rm -f "$RUN/dl/big.img"
    measure fetch curl "$r" "" curl -sSf -o "$RUN/dl/big.img" "$URL/big.img"
    rm -rf "$RUN/cache" "$RUN/dl/big.img"
    measure fetch-small kiln "$r" "" "$KILN" -q --cache-dir "$RUN/cache" fetch "$URL/small.img" --checksum "sha512:$SMALL_SUM"
    rm -rf "$RUN/cache"
done

# ------------------------------------------------------------ 2. decompress ----
# unxz_reps SCENARIO FILE SUM ALT-SIDE ALT-COMMAND [ALT-SIDE ALT-COMMAND]:
# kiln fetch (verify, decompress, hash) of FILE against each ALT-COMMAND
# "$1" "$2" (input, output), each with its allocated output size; with
# KILN_BASE, that kiln too.
unxz_reps() {
    local scen=$1 file=$2 sum=$3 r alloc who bin i
    local -a alts=("${@:4}")
    for r in $(seq 1 "$REPS"); do
        rm -rf "$RUN/cache"
        for who in kiln ${KILN_BASE:+base}; do
            bin=$KILN; [ "$who" = base ] && bin=$KILN_BASE
            measure "$scen" "$who" "$r" "" "$bin" -q --cache-dir "$RUN/cache" fetch "file://$file" --checksum "sha512:$sum"
            alloc=$(du -k --total "$RUN"/cache/* 2>/dev/null | tail -1 | cut -f1)
            sed -i '$ s/\t$/\t'"alloc_kib=$alloc"'/' "$RAW"
            rm -rf "$RUN/cache"
        done
        for ((i = 0; i + 1 < ${#alts[@]}; i += 2)); do
            measure "$scen" "${alts[i]}" "$r" "" bash -c "${alts[i + 1]}" _ "$file" "$RUN/plain.raw"
            alloc=$(du -k "$RUN/plain.raw" | cut -f1)
            sed -i '$ s/\t$/\t'"alloc_kib=$alloc"'/' "$RAW"
            rm -f "$RUN/plain.raw"
        done
    done
}
want unxz && unxz_reps unxz "$W/www/debian.raw.xz" "$XZ_SUM" xzcat 'xzcat "$1" >"$2"'

# ------------------------------------------------------------ 2b. multi-block xz ----
# The first GiB of the fixture as raw (data and holes), xz -T2 -1: a
# multi-block stream, against xz's own threaded decoder into a file (both
# decode with two threads) and against xzcat (one thread, the issue's
# comparison).
if want unxz1g && [ ! -f "$W/www/one.raw.xz" ]; then
    qemu-img convert -O raw "$FIXTURE" "$RUN/one.raw"
    truncate -s 1G "$RUN/one.raw"
    xz -T2 -1 -c "$RUN/one.raw" >"$W/www/one.raw.xz.tmp" && mv "$W/www/one.raw.xz.tmp" "$W/www/one.raw.xz"
    rm -f "$RUN/one.raw"
fi
if want unxz1g; then
    XZ1_SUM=$(sha512sum "$W/www/one.raw.xz" | cut -d' ' -f1)
    unxz_reps unxz1g "$W/www/one.raw.xz" "$XZ1_SUM" "xz -dc -T2" 'xz -dc -T2 "$1" >"$2"' \
        xzcat 'xzcat "$1" >"$2"'
fi

# ------------------------------------------------------------ 3, 4. build and sysprep ----
# round_trips: the calls to the appliance's daemon in the last run's
# LIBGUESTFS_TRACE (its stderr), as the extra round_trips= of its row:
# every traced call but those the library answers itself (handle
# settings, cached inspection results, wrappers of a daemon call that is
# traced too, and the launch itself).  A count, so it holds on a loaded
# machine where times do not.
round_trips() {
    local n
    n=$(grep -E '^libguestfs: trace: [a-z_0-9]+ =' "$RUN/last.err" | awk '{print $3}' |
        grep -cvE '^(set_.*|get_.*|add_drive.*|inspect_get_.*|inspect_list_.*|max_disks|find|ls|lxattrlist|lstatnslist|write|read_file|launch|close|shutdown|is_config|is_ready|is_launching|is_busy|version|disk_create|disk_format|disk_virtual_size|disk_has_backing_file|last_errno|user_cancel)$' || true)
    sed -i '$ s/\t$/\t'"round_trips=${n:-0}"'/' "$RAW"
}
PW="$RUN/root.pw"; printf 'kiln-bench-pw\n' >"$PW"; chmod 600 "$PW"
# kiln sysprep checks with libvirt that no linked clone is backed by the
# disk it writes: libvirtd must run.
start_libvirtd() {
    pidof virtlogd >/dev/null || virtlogd -d
    pidof libvirtd >/dev/null || libvirtd -d
    for i in $(seq 1 30); do virsh -c qemu:///system list >/dev/null 2>&1 && break; sleep 1; done
}
want pipeline && [ "$(id -u)" = 0 ] && start_libvirtd
# Each kiln side twice: first with an empty inspection cache (the first
# run on a base: "inspection not cached"), then with what that run
# recorded ("kiln": every later run on the same unchanged base, as a
# pipeline that builds from one base does).  The cold run's --cache-dir
# is new each repetition; the base is a local file, so the cache holds
# nothing else.
for r in $(want pipeline && seq 1 "$REPS"); do
    IC="$RUN/icache-$r"
    rm -rf "$IC" "$RUN/out.qcow2"
    measure pipeline "kiln, inspection not cached" "$r" "" "$KILN" -q --cache-dir "$IC" create "$FIXTURE" \
        -o "$RUN/out.qcow2" --root-password "file:$PW" --uninstall cloud-init --sysprep
    rm -f "$RUN/out.qcow2"
    qemu-img create -q -f qcow2 -F qcow2 -b "$FIXTURE" "$RUN/ov.qcow2"
    measure pipeline virt-customize+virt-sysprep "$r" "" bash -c \
        'virt-customize -q -a "$1" --root-password "file:$2" --uninstall cloud-init && virt-sysprep -q -a "$1"' _ "$RUN/ov.qcow2" "$PW"
    rm -f "$RUN/ov.qcow2"
    measure pipeline kiln "$r" "" "$KILN" -q --cache-dir "$IC" create "$FIXTURE" -o "$RUN/out.qcow2" \
        --root-password "file:$PW" --uninstall cloud-init --sysprep
    rm -rf "$IC" "$RUN/out.qcow2"
    qemu-img create -q -f qcow2 -F qcow2 -b "$FIXTURE" "$RUN/ov.qcow2"
    measure sysprep "kiln, inspection not cached" "$r" "" env LIBGUESTFS_TRACE=1 "$KILN" -q --cache-dir "$IC" sysprep -a "$RUN/ov.qcow2"
    round_trips
    rm -f "$RUN/ov.qcow2"
    qemu-img create -q -f qcow2 -F qcow2 -b "$FIXTURE" "$RUN/ov.qcow2"
    measure sysprep virt-sysprep "$r" "" env LIBGUESTFS_TRACE=1 virt-sysprep -q -a "$RUN/ov.qcow2"
    round_trips
    rm -f "$RUN/ov.qcow2"
    qemu-img create -q -f qcow2 -F qcow2 -b "$FIXTURE" "$RUN/ov.qcow2"
    measure sysprep kiln "$r" "" env LIBGUESTFS_TRACE=1 "$KILN" -q --cache-dir "$IC" sysprep -a "$RUN/ov.qcow2"
    round_trips
    rm -rf "$IC" "$RUN/ov.qcow2"
done

# ------------------------------------------------------------ 5. clones ----
CONN=qemu:///system
DOMS=()
cleanup_domains() {
    local d f
    for d in ${DOMS[@]+"${DOMS[@]}"}; do
        for f in $(virsh -q -c "$CONN" domblklist "$d" --details 2>/dev/null | awk '$2=="disk"{print $4}'); do
            case $f in "$RUN"/*) rm -f "$f" ;; esac
        done
        virsh -c "$CONN" undefine "$d" --nvram >/dev/null 2>&1 || virsh -c "$CONN" undefine "$d" >/dev/null 2>&1
    done
    # virt-clone defines a storage pool for the directory of the disks it makes.
    virsh -c "$CONN" pool-destroy "$(basename "$RUN")" >/dev/null 2>&1
    virsh -c "$CONN" pool-undefine "$(basename "$RUN")" >/dev/null 2>&1
    return 0
}
# bench_template NAME: libvirtd up, and a copy of the fixture registered as
# template NAME (its disk $RUN/NAME.qcow2).
bench_template() {
    start_libvirtd
    cp --sparse=always "$FIXTURE" "$RUN/$1.qcow2"
    "$KILN" -q register "$RUN/$1.qcow2" --name "$1" --os-variant debian11 --network user --memory 512 --vcpus 1
}
# clonefull_floor REP: where a full clone's time goes.  The same disk
# copied by cp (copy_file_range, sparse; no fsync: the floor of the copy)
# and by cp then sync FILE (the copy made durable, as kiln does), and
# kiln's full clone once more under strace -f -w -c, which gives the wall
# time spent in its copy (copy_file_range) and in its fsync calls: the
# extras copy_ms= and fsync_ms= of that row.  Set CLONE_FLOOR=0 to skip.
clonefull_floor() {
    local r=$1 src="$RUN/$TPL.qcow2" st="$RUN/strace.out" copy fs
    [ "${CLONE_FLOOR:-1}" = 1 ] || return 0
    sync
    measure clonefull "cp --sparse" "$r" "" cp --sparse=always "$src" "$RUN/floor.qcow2"
    rm -f "$RUN/floor.qcow2"; sync
    measure clonefull "cp --sparse + sync" "$r" "" bash -c 'cp --sparse=always "$1" "$2" && sync "$2"' _ "$src" "$RUN/floor.qcow2"
    rm -f "$RUN/floor.qcow2"; sync
    if command -v strace >/dev/null; then
        sync
        measure clonefull "kiln under strace" "$r" "" strace -f -w -c -o "$st" \
            -e trace=copy_file_range,fsync,fdatasync,ioctl \
            "$KILN" -q clone --original "$TPL" --name "$TPL-s$r" --full
        DOMS+=("$TPL-s$r")
        # strace -c: "% time  seconds  usecs/call  calls  errors  syscall"
        copy=$(awk '$NF=="copy_file_range"{printf "%d", $2*1000}' "$st")
        fs=$(awk '$NF=="fsync"||$NF=="fdatasync"{t+=$2} END{printf "%d", t*1000}' "$st")
        sed -i '$ s/\t$/\t'"copy_ms=${copy:-0};fsync_ms=${fs:-0}"'/' "$RAW"
    fi
}
if want clones && [ "$(id -u)" = 0 ]; then
    TPL=kiln-bench-tpl-$$
    bench_template "$TPL"
    for r in $(seq 1 "$REPS"); do
        measure clone10 kiln "$r" "" "$KILN" -q clone --original "$TPL" --name "$TPL-k$r" --count 10
        for i in $(seq 1 10); do DOMS+=("$TPL-k$r-$i"); done
        sync        # no write-back of an earlier copy in the next one's time
        measure clone1 virt-clone "$r" "" virt-clone --connect "$CONN" --original "$TPL" --auto-clone
        DOMS+=("$TPL-clone")
        sync        # virt-clone's copy made durable too, as kiln's is
        measure clonefull "virt-clone + sync" "$r" "" bash -c \
            'virt-clone --connect "$0" --original "$1" --name "$1-v$2" --file "$3" && sync "$3"' \
            "$CONN" "$TPL" "$r" "$RUN/$TPL-v$r.qcow2"
        DOMS+=("$TPL-v$r")
        sync
        measure clonefull kiln "$r" "" "$KILN" -q clone --original "$TPL" --name "$TPL-f$r" --full
        DOMS+=("$TPL-f$r")
        if [ -n "${KILN_BASE:-}" ]; then      # an older kiln, for before/after
            sync
            measure clonefull base "$r" "" "$KILN_BASE" -q clone --original "$TPL" --name "$TPL-b$r" --full
            DOMS+=("$TPL-b$r")
        fi
        clonefull_floor "$r"
        cleanup_domains; DOMS=()
    done
    DOMS=("$TPL")
elif want clones; then
    say "clones: skipped (needs root for qemu:///system)"
fi

# ------------------------------------------------------------ 5a. clones with an identity ----
# 10 linked clones, each with its own host name (kiln clone --hostname
# web-%d: OEM strings in the XML, applied at first boot by the template's
# firstboot-identity unit; --assume-identity-unit as the copied fixture
# carries no mark) against what users do today for ONE such clone:
# virt-clone --auto-clone, then virt-customize --hostname (an appliance
# launch).  Alternating, REPS times.
if want cloneid && [ "$(id -u)" = 0 ]; then
    ITPL=kiln-bench-itpl-$$
    bench_template "$ITPL"
    for r in $(seq 1 "$REPS"); do
        measure cloneid kiln "$r" "" "$KILN" -q clone --original "$ITPL" --name "$ITPL-k$r" --count 10 \
            --hostname web-%d --assume-identity-unit
        for i in $(seq 1 10); do DOMS+=("$ITPL-k$r-$i"); done
        measure cloneid virt-clone+virt-customize "$r" "" bash -c \
            'virt-clone --connect "$1" --original "$2" --auto-clone && virt-customize -q -c "$1" -d "$2-clone" --hostname web-1' \
            _ "$CONN" "$ITPL"
        DOMS+=("$ITPL-clone")
        cleanup_domains; DOMS=()
    done
    DOMS=("$ITPL")              # for the exit's cleanup (no pool left to destroy now)
elif want cloneid; then
    say "cloneid: skipped (needs root for qemu:///system)"
fi

# ------------------------------------------------------------ 5b. clone scale ----
# 10 linked clones (one --count call, and one call per clone) with 10, 100,
# 300 and 1000 other domains defined: the per-clone time should stay flat.
# Beside them, one virt-clone --preserve-data (no disk copy) at each size
# (SCALE_VIRT_CLONE=0: not).
# KILN_BASE=OLD-KILN measures an older build alternately, for before/after.
# The fillers are cheap: shut off, one NIC, one small raw disk each.
SCALE_SIZES=${SCALE_SIZES:-10 100 300 1000}
if want clonescale && [ "$(id -u)" = 0 ]; then
    STPL=kiln-bench-stpl-$$
    FILL=kiln-bench-fill-$$-
    bench_template "$STPL"
    mkdir -p "$RUN/fill"
    # The floor of a scan: a bare libvirt client reading every domain's XML.
    gcc -O2 -Wall -o "$RUN/listxml" "$TOP/bench/listxml.c" $(pkg-config --cflags --libs libvirt glib-2.0)
    have=0
    cleanup_scale() {
        local d
        for d in $(virsh -q -c "$CONN" list --all --name 2>/dev/null | grep -e "^$FILL" -e "^$STPL"); do
            virsh -q -c "$CONN" undefine --nvram "$d" >/dev/null 2>&1 || virsh -q -c "$CONN" undefine "$d" >/dev/null 2>&1
        done
        return 0
    }
    for n in $SCALE_SIZES; do
        # Bring the number of filler domains up to N in one virsh session.
        : >"$RUN/fill.cmds"
        for i in $(seq $((have + 1)) "$n"); do
            truncate -s 1M "$RUN/fill/$i.raw"
            printf -v mac '52:54:01:%02x:%02x:%02x' $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255))
            cat >"$RUN/fill/$i.xml" <<XML
<domain type='kvm'><name>$FILL$i</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='$RUN/fill/$i.raw'/><target dev='vda' bus='virtio'/></disk>
<interface type='user'><mac address='$mac'/><model type='virtio'/></interface></devices></domain>
XML
            echo "define $RUN/fill/$i.xml" >>"$RUN/fill.cmds"
        done
        virsh -q -c "$CONN" <"$RUN/fill.cmds" >/dev/null
        have=$n
        for r in $(seq 1 "$REPS"); do
            # KILN_BASE: an older kiln, measured alternately with this one.
            for who in kiln ${KILN_BASE:+base}; do
                bin=$KILN; [ "$who" = base ] && bin=$KILN_BASE
                measure "clonescale-$n" "$who --count 10" "$r" "" "$bin" -q clone --original "$STPL" --name "$STPL-c$r" --count 10
                measure "clonescale-$n" "$who x10 calls" "$r" "" bash -c \
                    'for i in $(seq 1 10); do "$0" -q clone --original "$1" --name "$1-o$2-$i" || exit 1; done' \
                    "$bin" "$STPL" "$r"
                for d in $(virsh -q -c "$CONN" list --all --name | grep -e "^$STPL-c$r-" -e "^$STPL-o$r-"); do
                    virsh -q -c "$CONN" undefine "$d" >/dev/null
                done
                rm -f "$RUN"/"$STPL"-c"$r"-*.qcow2 "$RUN"/"$STPL"-o"$r"-*.qcow2
            done
            # What reading every domain's XML costs by itself (kiln reads
            # with 4 calls in flight): the floor under kiln's growth.
            measure "clonescale-$n" "floor: read every XML" "$r" "" "$RUN/listxml" "$CONN" 4
            # virt-clone's own cost of one clone among N domains, without
            # its disk copy (--preserve-data on an overlay made first): it
            # too reads every domain's XML, for MAC collisions.
            if [ "${SCALE_VIRT_CLONE:-1}" = 1 ] && command -v virt-clone >/dev/null; then
                qemu-img create -q -f qcow2 -F qcow2 -b "$RUN/$STPL.qcow2" "$RUN/$STPL-vc$r.qcow2"
                measure "clonescale-$n" "virt-clone --preserve-data x1" "$r" "" virt-clone --connect "$CONN" \
                    --original "$STPL" --name "$STPL-vc$r" --preserve-data --file "$RUN/$STPL-vc$r.qcow2"
                virsh -q -c "$CONN" undefine "$STPL-vc$r" >/dev/null 2>&1
                rm -f "$RUN/$STPL-vc$r.qcow2"
            fi
        done
    done
    cleanup_scale
elif want clonescale; then
    say "clonescale: skipped (needs root for qemu:///system)"
fi

# ------------------------------------------------------------ 2c. memory as inputs grow ----
# Peak RSS of kiln fetch (download, verify, store) of a raw image, and of
# kiln fetch of the same image compressed with xz -9 (download, verify,
# decompress: a 64 MiB dictionary), at each size of MEM_SIZES (sizes as
# truncate takes them; default 100M 1G 3G; MEM_SIZES=16M for a smoke run).
# The inputs are the fixture as raw, cut or extended to the size (data and
# holes), made once into $W/www.  Target: flat, <= 64 MiB.
MEM_SIZES=${MEM_SIZES:-100M 1G 3G}
if want memory; then
    for sz in $MEM_SIZES; do
        if [ ! -f "$W/www/mem-$sz.raw" ]; then
            qemu-img convert -O raw "$FIXTURE" "$RUN/mem.raw"
            truncate -s "$sz" "$RUN/mem.raw"
            mv "$RUN/mem.raw" "$W/www/mem-$sz.raw"
        fi
        if [ ! -f "$W/www/mem-$sz.raw.xz" ]; then
            say "memory: compressing $sz with xz -9 (once)"
            xz -9 -T1 -c "$W/www/mem-$sz.raw" >"$RUN/mem.xz" && mv "$RUN/mem.xz" "$W/www/mem-$sz.raw.xz"
        fi
        rsum=$(sha512sum "$W/www/mem-$sz.raw" | cut -d' ' -f1)
        xsum=$(sha512sum "$W/www/mem-$sz.raw.xz" | cut -d' ' -f1)
        for r in $(seq 1 "$REPS"); do
            rm -rf "$RUN/cache"
            measure "memory-$sz" "kiln fetch raw" "$r" "" "$KILN" -q --cache-dir "$RUN/cache" fetch "$URL/mem-$sz.raw" --checksum "sha512:$rsum"
            rm -rf "$RUN/cache"
            measure "memory-$sz" "kiln fetch xz -9" "$r" "" "$KILN" -q --cache-dir "$RUN/cache" fetch "$URL/mem-$sz.raw.xz" --checksum "sha512:$xsum"
            rm -rf "$RUN/cache"
            measure "memory-$sz" "xz -dc (xz -9)" "$r" "" bash -c 'xz -dc "$1" >"$2"' _ "$W/www/mem-$sz.raw.xz" "$RUN/plain.raw"
            rm -f "$RUN/plain.raw"
        done
    done
fi

# ------------------------------------------------------------ 6a. recipes at scale ----
# RECIPES_N (8) recipes sharing one base, built by one kiln build call with
# -j 1, -j 2 and -j 4 (RECIPES_JOBS), alternating: wall time, peak RSS of
# kiln, and how many times the base was downloaded (nginx's access log:
# extra fetches=).  The recipes have no customize step and --no-sbom, so
# they launch no appliance: every customize step runs in the guest (one
# launch per recipe, as recipes3 measures), and that cost would hide
# kiln's own (fetch once, overlay, digest, publish, in parallel).  Each
# -j runs twice: from an empty cache, then with the base cached.
RECIPES_N=${RECIPES_N:-8}
RECIPES_JOBS=${RECIPES_JOBS:-1 2 4}
if want recipes; then
    mkdir -p "$RUN/rcp"
    RFILES=()
    for i in $(seq 1 "$RECIPES_N"); do
        cat >"$RUN/rcp/s$i.yaml" <<YAML
recipe: 1
name: bench-s$i
base:
  source: \${BENCH_URL}
  checksum: sha512:\${BENCH_SUM}
output:
  path: \${BENCH_OUT}/bench-s$i.qcow2
  format: qcow2
  mode: overlay
YAML
        RFILES+=("$RUN/rcp/s$i.yaml")
    done
    for r in $(seq 1 "$REPS"); do
        for j in $RECIPES_JOBS; do
            rm -rf "$RUN/par" "$RUN/cache"; mkdir -p "$RUN/par"
            before=$(grep -c 'GET /debian-12.qcow2 ' "$RUN/nginx/access.log" || true)
            measure "recipes$RECIPES_N" "kiln -j$j" "$r" "" env BENCH_OUT="$RUN/par" BENCH_URL="$URL/debian-12.qcow2" BENCH_SUM="$FIX_SUM" \
                "$KILN" -q --cache-dir "$RUN/cache" build -j "$j" --no-sbom "${RFILES[@]}"
            after=$(grep -c 'GET /debian-12.qcow2 ' "$RUN/nginx/access.log" || true)
            sed -i '$ s/\t$/\t'"fetches=$((after - before))"'/' "$RAW"
            n=$(ls "$RUN"/par/bench-s*.qcow2 2>/dev/null | wc -l)
            [ "$n" = "$RECIPES_N" ] || say "recipes: -j$j made $n images, not $RECIPES_N"
            # Again with the base in the cache: what each recipe costs
            # beyond the one fetch.
            rm -rf "$RUN/par"; mkdir -p "$RUN/par"
            measure "recipes$RECIPES_N" "kiln -j$j, base cached" "$r" "" env BENCH_OUT="$RUN/par" BENCH_URL="$URL/debian-12.qcow2" BENCH_SUM="$FIX_SUM" \
                "$KILN" -q --cache-dir "$RUN/cache" build -j "$j" --no-sbom "${RFILES[@]}"
        done
    done
    rm -rf "$RUN/par" "$RUN/cache"
fi

# ------------------------------------------------------------ 6. parallel recipes ----
export BENCH_URL="$URL/debian-12.qcow2" BENCH_SUM="$FIX_SUM"
for r in $(want recipes3 && seq 1 "$REPS"); do
    rm -rf "$RUN/par" "$RUN/cache"; mkdir -p "$RUN/par"
    measure recipes3 "kiln -j2" "$r" "" env BENCH_OUT="$RUN/par" \
        "$KILN" -q --cache-dir "$RUN/cache" build -j 2 "$TOP"/bench/recipes/r1.yaml "$TOP"/bench/recipes/r2.yaml "$TOP"/bench/recipes/r3.yaml
    # The same without the SBOM: what listing the packages in the build's
    # launch and writing OUTPUT.spdx.json cost.
    rm -rf "$RUN/par" "$RUN/cache"; mkdir -p "$RUN/par"
    measure recipes3 "kiln -j2 --no-sbom" "$r" "" env BENCH_OUT="$RUN/par" \
        "$KILN" -q --cache-dir "$RUN/cache" build -j 2 --no-sbom "$TOP"/bench/recipes/r1.yaml "$TOP"/bench/recipes/r2.yaml "$TOP"/bench/recipes/r3.yaml
    rm -rf "$RUN/par" "$RUN/cache"; mkdir -p "$RUN/par"
    measure recipes3 "kiln one by one" "$r" "" env BENCH_OUT="$RUN/par" bash -c \
        'c=$1; shift; for f in "$@"; do "$0" -q --cache-dir "$c" build "$f" || exit 1; done' \
        "$KILN" "$RUN/cache" "$TOP"/bench/recipes/r1.yaml "$TOP"/bench/recipes/r2.yaml "$TOP"/bench/recipes/r3.yaml
done
rm -rf "$RUN/par" "$RUN/cache"

# ------------------------------------------------------------ 8. the KVM probe ----
# What choosing between KVM and TCG costs a command that does not force it
# (no KILN_ACCEL, no --accel): the first command of a boot probes (boots
# a kernel under KVM, bounded by 5 s); later ones read the verdict cached
# for this boot ($XDG_RUNTIME_DIR/kiln/accel-probe); against the same
# command forced to TCG, which decides nothing.  The command is kiln
# register --print-xml: it resolves the accelerator (the domain type) and
# launches nothing.  Where KVM works, or /dev/kvm is absent, the first
# command is quick too; on these machines KVM hangs.
# Two hosts: this one's qemu as it is (here KVM fails at once: qemu exits
# on an MSR it cannot set), and a stand-in qemu-system-* first on PATH
# that never prints, as qemu does where nested KVM hangs ("accel-hang").
if want accel; then
    want pipeline || { [ "$(id -u)" = 0 ] && start_libvirtd; }
    mkdir -p -m 700 "$RUN/xdg" "$RUN/hang"
    printf '#!/bin/sh\n# bench: a qemu whose KVM guest never prints (nested KVM that hangs)\nexec sleep 60\n' \
        >"$RUN/hang/qemu-system-$(uname -m)"
    chmod 755 "$RUN/hang/qemu-system-$(uname -m)"
    ACMD=("$KILN" -q register --print-xml "$FIXTURE" --name kiln-bench-accel --os-variant debian11
          --network user --memory 512 --vcpus 1)
    for r in $(seq 1 "$REPS"); do
        for scen in accel accel-hang; do
            p=$PATH; [ "$scen" = accel-hang ] && p=$RUN/hang:$PATH
            rm -rf "$RUN/xdg/kiln"
            measure "$scen" "kiln, first command of the boot" "$r" "" env -u KILN_ACCEL PATH="$p" XDG_RUNTIME_DIR="$RUN/xdg" "${ACMD[@]}"
            measure "$scen" "kiln, verdict cached" "$r" "" env -u KILN_ACCEL PATH="$p" XDG_RUNTIME_DIR="$RUN/xdg" "${ACMD[@]}"
            measure "$scen" "kiln --accel tcg" "$r" "" env KILN_ACCEL=tcg PATH="$p" XDG_RUNTIME_DIR="$RUN/xdg" "${ACMD[@]}"
        done
    done
fi

# ------------------------------------------------------------ 7. upload to a remote pool ----
# kiln register --pool against virsh vol-upload of the same image on the
# same connection: an unprivileged user's qemu:///session reached over
# qemu+ssh on a loopback sshd (as tests/integration/45-remote.sh), the
# Debian fixture (qcow2) uploaded whole.  Both sides stream sparse.
if want upload && [ "$(id -u)" = 0 ] && [ -x /usr/sbin/sshd ]; then
    UU=kiln-bup-$$
    US=$RUN/ssh
    cleanup_upload() {
        set +e
        [ -f "$US/sshd.pid" ] && kill "$(cat "$US/sshd.pid")"
        local pid
        for pid in $(pgrep -u "$UU"); do kill "$pid"; done
        sleep 0.5
        for pid in $(pgrep -u "$UU"); do kill -9 "$pid"; done
        userdel -r "$UU" >/dev/null 2>&1
    }
    useradd -m -s /bin/sh "$UU" && usermod -p '*' "$UU"
    mkdir -p "$US" /run/sshd "$RUN/upool"
    chown "$UU" "$RUN/upool"
    ssh-keygen -q -t ed25519 -N '' -f "$US/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$US/client_key"
    cp "$US/client_key.pub" "$US/authorized_keys"; chmod 644 "$US/authorized_keys"
    UPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf '%s\n' "Port $UPORT" "ListenAddress 127.0.0.1" "HostKey $US/host_key" \
        "AuthorizedKeysFile $US/authorized_keys" "PasswordAuthentication no" \
        "KbdInteractiveAuthentication no" "UsePAM no" "StrictModes no" "PidFile $US/sshd.pid" >"$US/sshd_config"
    printf '#!/bin/sh\nexec ssh -F /dev/null -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR "$@"\n' >"$US/ssh"
    chmod 755 "$US/ssh"
    /usr/sbin/sshd -f "$US/sshd_config" -E "$US/sshd.log"
    UR="qemu+ssh://$UU@127.0.0.1:$UPORT/session?keyfile=$US/client_key&command=$US/ssh"
    virsh -q -c "$UR" pool-define-as bup dir --target "$RUN/upool" >/dev/null
    virsh -q -c "$UR" pool-start bup >/dev/null
    USIZE=$(stat -c %s "$FIXTURE")
    for r in $(seq 1 "$REPS"); do
        measure upload "kiln register --pool" "$r" "" \
            "$KILN" -q -c "$UR" register "$FIXTURE" --name "bup-k$r" --os-variant debian12 \
            --network none --pool bup
        virsh -q -c "$UR" undefine "bup-k$r" >/dev/null
        virsh -q -c "$UR" vol-delete "bup-k$r.qcow2" --pool bup >/dev/null
        measure upload "virsh vol-upload" "$r" "" bash -c \
            'virsh -q -c "$0" vol-create-as bup "$1" "$2" --format raw >/dev/null &&
             virsh -q -c "$0" vol-upload --sparse "$1" "$3" --pool bup' \
            "$UR" "bup-v$r.qcow2" "$USIZE" "$FIXTURE"
        cmp -s "$FIXTURE" "$RUN/upool/bup-v$r.qcow2" || say "upload: virsh's volume differs"
        virsh -q -c "$UR" vol-delete "bup-v$r.qcow2" --pool bup >/dev/null
    done
    say "upload: $USIZE bytes each"
    cleanup_upload
    unset -f cleanup_upload
elif want upload; then
    say "upload: skipped (needs root and sshd)"
fi

python3 "$TOP/bench/report.py" "$RAW" "$TOP/bench/results.md" "$TOP/bench/results.json" "$REPS"
cat "$TOP/bench/results.md"
