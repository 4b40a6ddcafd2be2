/* event.h: how lib/ tells the user what it is doing without printing.
 *
 * lib/ code never writes to stdout or stderr: it calls kiln_event_*
 * and the front end decides what each event becomes (a "[  12.3] ..."
 * line on stderr, a --json event object, or nothing with -q).  One
 * handler per process, installed by the front end before a verb runs;
 * with none installed events are dropped.  The handler may be called from
 * several threads (kiln build -j) and must be thread-safe. */
#ifndef KILN_EVENT_H
#define KILN_EVENT_H

#include "kiln.h"

enum kiln_event_level {
  KILN_EVENT_DEBUG,       /* shown with -v */
  KILN_EVENT_INFO,        /* progress of long work */
  KILN_EVENT_WARNING,     /* something the user should know; the work goes on */
  KILN_EVENT_RESULT,      /* a line of the command's output (a --dry-run plan) */
};

struct kiln_event {
  enum kiln_event_level level;
  const char *topic;      /* stable, for --json: "launch", "customize", "sysprep",
                             "network", "register", "clone", "image", "accel", ... */
  const char *message;    /* for a person; never holds a secret */
  const char *job;        /* the job this thread works for (kiln_event_set_job), or NULL */
};

typedef void (*kiln_event_fn) (const struct kiln_event *ev, void *opaque);

/* Install FN (NULL: drop events) with OPAQUE for the whole process. */
void kiln_event_set_handler (kiln_event_fn fn, void *opaque);

/* Name the job (a recipe, an output) that the calling thread works for
 * from now on; events it sends carry it.  NULL: none.  JOB is copied. */
void kiln_event_set_job (const char *job);

void kiln_event (enum kiln_event_level level, const char *topic, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);

#define kiln_event_debug(topic, ...)   kiln_event (KILN_EVENT_DEBUG, topic, __VA_ARGS__)
#define kiln_event_info(topic, ...)    kiln_event (KILN_EVENT_INFO, topic, __VA_ARGS__)
#define kiln_event_warning(topic, ...) kiln_event (KILN_EVENT_WARNING, topic, __VA_ARGS__)
#define kiln_event_result(topic, ...)  kiln_event (KILN_EVENT_RESULT, topic, __VA_ARGS__)

#endif
