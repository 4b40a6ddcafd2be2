/* accel.h: choosing between KVM and TCG for the appliance and for domains.
 *
 * --accel auto (the default) boots a kernel under KVM once per boot of the
 * host (the verdict is cached, see kiln_accel_cache_path) and takes KVM
 * only if the kernel starts printing within a few seconds: on
 * broken nested KVM qemu either aborts or hangs silently, and /dev/kvm
 * being present tells nothing about that. */
#ifndef KILN_ACCEL_H
#define KILN_ACCEL_H

#include <stdbool.h>
#include "kiln.h"

/* Parse "auto", "kvm" or "tcg". */
bool kiln_accel_parse (const char *s, enum kiln_accel *out);

/* --accel: MODE from now on (auto: probe again on the next resolve). */
void kiln_accel_set_mode (enum kiln_accel mode);
enum kiln_accel kiln_accel_mode (void);

/* KILN_ACCEL_KVM or KILN_ACCEL_TCG.  In auto mode the first call probes
 * (or reads this boot's earlier verdict from kiln_accel_cache_path) and
 * says once (a warning event, topic "accel") when it falls back to TCG;
 * later calls return the same answer.  Thread-safe: callers that come
 * while the probe runs wait for its answer, so the probe runs at most once
 * per process.  Forced kvm fails (-1 and ERR) when /dev/kvm is unusable. */
int kiln_accel_resolve (enum kiln_accel *out, GError **err);

/* What auto mode runs to decide: KILN_ACCEL_KVM or KILN_ACCEL_TCG, and
 * for TCG a reason in *WHY (g_free'd) when the user should be told.  The
 * default opens /dev/kvm and boots the host's kernel (kiln_accel_probe). */
typedef enum kiln_accel (*kiln_accel_check_fn) (char **why);
/* For tests: replace the check (NULL: the default).  Its verdict is
 * cached as the default's is (a TCG without a reason is not). */
void kiln_accel_set_check (kiln_accel_check_fn fn);

/* The appliance failed to launch under KVM although the probe passed.
 * Returns true (and records TCG for the rest of the command, saying so
 * once, and removes the cached verdict so the next command probes again)
 * when the caller should retry under TCG, false when kvm is forced. */
bool kiln_accel_fallback (const char *why);

/* Where auto mode keeps its verdict for the current boot, keyed by the
 * kernel's boot id, its release and the qemu binary (path, size, mtime):
 * $XDG_RUNTIME_DIR/kiln/accel-probe, else /run/kiln/accel-probe as root,
 * else $XDG_CACHE_HOME/kiln/accel-probe.  Removing it makes the next
 * command probe again.  Newly allocated. */
char *kiln_accel_cache_path (void);

/* The probe itself, exposed for tests: boots KERNEL with QEMU under ACCEL
 * ("kvm" or "tcg"), true when "Linux version" appears on the serial console
 * within TIMEOUT_MS.  *WHY says what happened otherwise. */
bool kiln_accel_probe (const char *qemu, const char *kernel, const char *accel,
                       int timeout_ms, char **why);

#endif
