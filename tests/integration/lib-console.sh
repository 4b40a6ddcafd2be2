# tests/integration/lib-console.sh — in-guest checks over a libvirt domain's serial
# console, sourced after lib.sh:
#     . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib-console.sh"
#
# serial_login DOMAIN USER PASSWORD COMMAND [TIMEOUT]
#   Finds the domain's pty with `virsh ttyconsole`, waits for `login:` (a Debian
#   guest under TCG shows it within a minute or two), logs in, runs COMMAND in the
#   guest's shell, logs out and prints COMMAND's output (CR stripped) on stdout.
#   Returns COMMAND's exit status, or 124 on timeout (default 240 s), 125 when the
#   login fails, 126 when there is no pty.  The transcript goes to
#   $T/console-DOMAIN.log.  The password and the command travel in the driver's
#   environment, never in its argv.
# The console driver is python3 (os, termios, select): no expect needed.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "1..0 # SKIP lib-console.sh is a helper library for the tests, not a test"
    exit 0
fi

serial_login() {
    local dom=$1 user=$2 pass=$3 cmd=$4 timeout=${5:-240} pty
    pty=$(virsh -c "${KILN_CONSOLE_URI:-qemu:///system}" ttyconsole "$dom" 2>/dev/null)
    if [ -z "$pty" ] || [ ! -e "$pty" ]; then
        echo "serial_login: no pty for $dom" >&2
        return 126
    fi
    KC_PTY=$pty KC_USER=$user KC_PASS=$pass KC_CMD=$cmd KC_TIMEOUT=$timeout \
        KC_LOG="$T/console-$dom.log" python3 -c "$_KILN_CONSOLE_PY"
}

_KILN_CONSOLE_PY='
import os, re, select, sys, termios, time, tty

pty, user, password, cmd = (os.environ[k] for k in ("KC_PTY", "KC_USER", "KC_PASS", "KC_CMD"))
deadline = time.monotonic() + float(os.environ["KC_TIMEOUT"])
log = open(os.environ["KC_LOG"], "ab")
fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
buf = b""

def send(s):
    os.write(fd, s.encode())

def wait_for(pattern, poke=None, every=5.0):
    """Read until PATTERN (a bytes regex) matches what arrived since the
    last match; send POKE every EVERY seconds of silence meanwhile."""
    global buf
    last = time.monotonic()
    while True:
        m = re.search(pattern, buf)
        if m:
            rest = buf[m.end():]
            got = buf[:m.end()]
            buf = rest
            return got
        now = time.monotonic()
        if now > deadline:
            log.write(b"\n[serial_login: timeout waiting for %r]\n" % pattern)
            sys.exit(124)
        if poke is not None and now - last > every:
            send(poke)
            last = now
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if data:
                log.write(data)
                log.flush()
                buf += data

# A fresh prompt: the getty may have printed login: before we opened the pty.
send("\r")
wait_for(rb"login: $", poke="\r")
send(user + "\r")
wait_for(rb"[Pp]assword: $")
send(password + "\r")
got = wait_for(rb"([#$] $)|(Login incorrect)")
if b"Login incorrect" in got:
    sys.exit(125)
# The markers are split in what is typed, whole only in what is printed,
# so the echo of the command line cannot be taken for them.
send("stty -echo; echo KILN\"\"BEGIN; " + cmd + "; echo KILN\"\"END $?\r")
wait_for(rb"KILNBEGIN\r?\n")
out = wait_for(rb"KILNEND (\d+)\r?\n")
m = re.search(rb"KILNEND (\d+)\r?\n$", out)
status = int(m.group(1))
body = out[:m.start()].replace(b"\r", b"")
send("exit\r")
time.sleep(0.2)
sys.stdout.buffer.write(body)
sys.exit(status)
'
