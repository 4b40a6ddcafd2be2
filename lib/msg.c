/* msg.c: messages to the user, on stderr, so that stdout carries only
 * results (paths, JSON) that scripts read. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "kiln.h"
#include "msg.h"
#include "event.h"
#include "secret.h"

static int verbosity = 1;

G_DEFINE_QUARK (kiln-error-quark, kiln_error)

void
kiln_msg_set_verbosity (int level)
{
  verbosity = level;
}

int
kiln_msg_verbosity (void)
{
  return verbosity;
}

double
kiln_elapsed (void)
{
  static gint64 start;

  if (start == 0)
    start = g_get_monotonic_time ();
  return (g_get_monotonic_time () - start) / 1e6;
}

static void
vsay (const char *prefix, const char *fmt, va_list ap)
{
  g_autofree char *raw = g_strdup_vprintf (fmt, ap);
  g_autofree char *msg = kiln_secret_redact (raw);    /* secret.h */

  fflush (stdout);
  fprintf (stderr, "%s%s\n", prefix, msg);
}

void
kiln_error (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsay ("kiln: ", fmt, ap);
  va_end (ap);
}

void
kiln_warn (const char *fmt, ...)
{
  va_list ap;

  if (verbosity < 1)
    return;
  va_start (ap, fmt);
  vsay ("kiln: warning: ", fmt, ap);
  va_end (ap);
}

void
kiln_info (const char *fmt, ...)
{
  va_list ap;
  char stamp[32];

  if (verbosity < 1)
    return;
  snprintf (stamp, sizeof stamp, "[%6.1f] ", kiln_elapsed ());
  va_start (ap, fmt);
  vsay (stamp, fmt, ap);
  va_end (ap);
}

void
kiln_debug (const char *fmt, ...)
{
  va_list ap;

  if (verbosity < 2)
    return;
  va_start (ap, fmt);
  vsay ("kiln: debug: ", fmt, ap);
  va_end (ap);
}

int
kiln_fail (const GError *err)
{
  if (err == NULL) {
    kiln_error ("failed, with no error reported (this is a bug in kiln)");
    return KILN_EXIT_FAILURE;
  }
  kiln_error ("%s", err->message);
  if (err->domain == KILN_ERROR && err->code == KILN_ERROR_USAGE)
    return KILN_EXIT_USAGE;
  return KILN_EXIT_FAILURE;
}

void
kiln_msg_event_handler (const struct kiln_event *ev, void *opaque)
{
  static GMutex lock;
  const char *sep = ev->job ? ": " : "";
  const char *job = ev->job ? ev->job : "";

  g_mutex_lock (&lock);
  switch (ev->level) {
  case KILN_EVENT_DEBUG: kiln_debug ("%s%s%s", job, sep, ev->message); break;
  case KILN_EVENT_INFO: kiln_info ("%s%s%s", job, sep, ev->message); break;
  case KILN_EVENT_WARNING: kiln_warn ("%s%s%s", job, sep, ev->message); break;
  case KILN_EVENT_RESULT:
    printf ("%s%s%s\n", job, sep, ev->message);
    fflush (stdout);
    break;
  }
  g_mutex_unlock (&lock);
}
