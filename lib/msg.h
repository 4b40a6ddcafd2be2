/* msg.h: how kiln speaks to its user.  Only verbs call these; lib/ code
 * reports through GError and lets the verb decide what to say. */
#ifndef KILN_MSG_H
#define KILN_MSG_H

#include <glib.h>

void kiln_msg_set_verbosity (int level);
int kiln_msg_verbosity (void);

/* "kiln: MESSAGE" on stderr: always shown. */
void kiln_error (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* "kiln: warning: MESSAGE" on stderr: hidden by -q. */
void kiln_warn (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* "[  12.3] MESSAGE" on stderr: progress of long work, hidden by -q. */
void kiln_info (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* Shown with -v only. */
void kiln_debug (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

/* Print ERR with kiln_error and return the exit code that fits its code
 * (KILN_EXIT_USAGE for KILN_ERROR_USAGE, else KILN_EXIT_FAILURE). */
int kiln_fail (const GError *err);

struct kiln_event;
/* The front end's handler for lib/'s events (event.h): info as
 * kiln_info, warnings as kiln_warn, debug as kiln_debug, results on
 * stdout; a job's events are prefixed by "JOB: ".  OPAQUE is unused. */
void kiln_msg_event_handler (const struct kiln_event *ev, void *opaque);

/* Seconds since the process started, for kiln_info's stamps and timings. */
double kiln_elapsed (void);

#endif
