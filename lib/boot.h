/* boot.h: start domains (all at once) and wait until each is up, for
 * kiln clone --start --wait and a recipe's boot check.  A domain is up
 * when the first of these shows:
 *
 * - its serial console log (a <log file=> on its first pty serial port,
 *   kiln_clone_spec.console_log) holds a getty login prompt;
 * - its guest agent answers (only asked when the domain has a
 *   org.qemu.guest_agent.0 channel);
 * - a libvirt network has a DHCP lease for one of its NICs.
 *
 * Its addresses are read where libvirt knows them (DHCP lease, guest
 * agent, ARP table).  A domain that is not up when the time runs out, or
 * stops meanwhile, is reported with the last lines of its console; it is
 * left as it is (defined, and running if it runs).  Errors through
 * GError, progress through kiln_event_* (topic "boot"), nothing printed. */
#ifndef KILN_BOOT_H
#define KILN_BOOT_H

#include "kiln.h"

/* How many console lines a domain that is not up is reported with. */
#define KILN_BOOT_TAIL_LINES 20

enum kiln_boot_state {
  KILN_BOOT_STARTED,        /* started, not waited for */
  KILN_BOOT_UP,             /* started and up */
  KILN_BOOT_TIMEOUT,        /* running, not up within the limit */
  KILN_BOOT_STOPPED,        /* shut off or crashed while waited for */
  KILN_BOOT_START_FAILED,   /* libvirt could not start it (ERROR says why) */
};

/* "started", "up", "timeout", "stopped", "start-failed": for --json. */
const char *kiln_boot_state_name (enum kiln_boot_state s);

struct kiln_boot_target {
  const char *name;           /* the domain */
  const char *console_log;    /* its serial console log file, or NULL */
};

struct kiln_boot_result {
  char *name;
  enum kiln_boot_state state;
  char *domain_state;         /* libvirt's, after the wait: "running", "shut off", ... */
  const char *how;            /* static: "login prompt", "guest agent", "DHCP lease"; or NULL */
  char *console_hostname;     /* the host name the login prompt shows, or NULL */
  GPtrArray *addresses;       /* char *: "ADDR/PREFIX", maybe empty */
  char *console_tail;         /* not up: the console's last lines (sanitized), or NULL */
  char *error;                /* START_FAILED: libvirt's message */
  gint64 usec;                /* from the start of all to up (or to giving up) */
};
void kiln_boot_result_free (struct kiln_boot_result *r);

/* Start the N domains TARGETS names on CTX's connection, one after the
 * other without waiting in between; then, when WAIT_SECONDS > 0, wait
 * up to WAIT_SECONDS (counted from the first start) until each is up.
 * *RESULTS (struct kiln_boot_result, in TARGETS' order; free with
 * g_ptr_array_unref) is set whenever the connection opened, also on
 * failure.  0 when every domain started (and with a wait, came up); -1
 * with ERR otherwise: KILN_ERROR_FAILED naming the domains that did
 * not, KILN_ERROR_LIBVIRT/NOT_FOUND when the connection or a lookup
 * failed (then *RESULTS may be NULL). */
int kiln_boot_start (const struct kiln_ctx *ctx, const struct kiln_boot_target *targets,
                     size_t n, unsigned wait_seconds, GPtrArray **results, GError **err);

/* --wait[=SECONDS]: ARG NULL gives KILN_BOOT_DEFAULT_WAIT; else a whole
 * number of seconds from 1 to 86400, optionally followed by s, m or h.
 * 0 and *SECONDS set, or -1 with ERR (KILN_ERROR_USAGE). */
#define KILN_BOOT_DEFAULT_WAIT 300
int kiln_boot_parse_wait (const char *arg, unsigned *seconds, GError **err);

/* The serial console log kiln made for domain NAME (kiln clone --start,
 * a recipe's boot check: NAME-console.log, kiln_clone_spec.console_log)
 * that XML (the domain's definition) names: a new string, or NULL when
 * it names none or one kiln did not name (that one is not kiln's to
 * remove).  For removing it with the domain. */
char *kiln_boot_console_log_of (const char *xml, const char *name);

/* The pure parts, for the tests. */

/* TEXT (LEN bytes of a serial console) holds a getty login prompt
 * ("HOST login: " at the start of a line; "Last login:" is not one):
 * the newly allocated HOST of the last one, else NULL. */
char *kiln_boot_login_prompt (const char *text, size_t len);

/* LEN bytes of a serial console as printable text (as
 * kiln_boot_console_tail, all of it).  Newly allocated. */
char *kiln_boot_console_text (const char *text, size_t len);

/* The last LINES lines of TEXT (LEN bytes of a serial console), as
 * printable text: ANSI escape sequences removed, CR LF and lone CRs made
 * newlines, other control bytes and non-ASCII bytes shown as '?', empty
 * trailing lines dropped.  Newly allocated, "" for an empty console. */
char *kiln_boot_console_tail (const char *text, size_t len, unsigned lines);

#endif
