/* event.c: the process's one event handler (see event.h). */
#include <stdarg.h>

#include "event.h"
#include "secret.h"

static kiln_event_fn handler;
static void *handler_opaque;
static GPrivate job_key = G_PRIVATE_INIT (g_free);

void
kiln_event_set_handler (kiln_event_fn fn, void *opaque)
{
  handler = fn;
  handler_opaque = opaque;
}

void
kiln_event_set_job (const char *job)
{
  g_private_replace (&job_key, g_strdup (job));
}

void
kiln_event (enum kiln_event_level level, const char *topic, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  struct kiln_event ev;
  va_list ap;

  if (handler == NULL)
    return;
  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (kiln_secret_in (msg)) {     /* a message never holds a secret (secret.h) */
    char *shown = kiln_secret_redact (msg);

    g_free (msg);
    msg = shown;
  }
  ev = (struct kiln_event) {
    .level = level, .topic = topic, .message = msg, .job = g_private_get (&job_key),
  };
  handler (&ev, handler_opaque);
}
