/* console.h: log in on a running domain's serial console and run shell
 * commands there, for a recipe's boot check (kiln build, test:).  The
 * console is the domain's first pty serial port, opened on this host, so
 * the connection must be local (qemu:///system, qemu:///session); the
 * guest needs no network and no agent.  Each command runs as
 *     printf MARK-BEGIN; { COMMAND ; } </dev/null 2>&1; printf MARK-END:$?
 * and its output is what arrives between the marks (the echo of the typed
 * line never holds a whole mark).  Errors through GError; the password
 * never appears in one, nor in an event. */
#ifndef KILN_CONSOLE_H
#define KILN_CONSOLE_H

#include <stdbool.h>
#include "kiln.h"

/* What one command gave. */
struct kiln_console_output {
  char *text;                 /* its output (stdout and stderr), cleaned
                                 (kiln_console_clean) */
  int status;                 /* its exit status */
};
void kiln_console_output_free (struct kiln_console_output *o);

/* Log in as USER (PASSWORD may be NULL: an account without one) on FD,
 * a terminal (or socket) connected to a getty, run the N commands CMDS
 * one after the other, log out.  DEADLINE is g_get_monotonic_time ()'s
 * clock (microseconds): past it, KILN_ERROR_FAILED saying what was
 * waited for.  *OUTPUTS (struct kiln_console_output, one per command
 * that finished; free with g_ptr_array_unref) is set also on failure.
 * KILN_ERROR_FAILED when the login is refused or FD fails. */
int kiln_console_run_fd (int fd, const char *user, const char *password,
                         const char *const *cmds, size_t n, gint64 deadline,
                         GPtrArray **outputs, GError **err);

/* kiln_console_run_fd on DOMAIN's first pty serial port (on CTX's
 * connection, which must be local: KILN_ERROR_USAGE otherwise), with
 * TIMEOUT seconds for all of it. */
int kiln_console_run (const struct kiln_ctx *ctx, const char *domain, const char *user,
                      const char *password, const char *const *cmds, size_t n,
                      unsigned timeout, GPtrArray **outputs, GError **err);

/* LEN bytes of console output as text: escape sequences and CRs
 * removed, trailing blanks and empty lines dropped.  Newly allocated. */
char *kiln_console_clean (const char *text, size_t len);

/* Does GOT match EXPECTED: equal (trailing blanks of both ignored), or
 * with REGEX, EXPECTED (a GRegex, multiline: ^ and $ at each line) is
 * found in GOT.  An invalid regular expression never matches. */
bool kiln_console_matches (const char *expected, bool regex, const char *got);

#endif
