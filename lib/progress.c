/* progress.c: bytes, rate and ETA on one redrawn terminal line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "progress.h"

struct kiln_progress {
  char *label;
  uint64_t total, done;
  gint64 start, last_draw;
  bool enabled, drawn;
};

char *
kiln_format_size (uint64_t bytes)
{
  static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  double v = (double) bytes;
  size_t u = 0;

  while (v >= 1024 && u + 1 < G_N_ELEMENTS (units)) {
    v /= 1024;
    u++;
  }
  return u == 0 ? g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes)
                : g_strdup_printf ("%.1f %s", v, units[u]);
}

char *
kiln_progress_render (const char *label, uint64_t done, uint64_t total,
                      double seconds, int width)
{
  g_autofree char *sdone = kiln_format_size (done);
  g_autofree char *srate = kiln_format_size (seconds > 0 ? (uint64_t) (done / seconds) : 0);
  g_autofree char *right = NULL;
  GString *s = g_string_new (NULL);
  int barw;

  if (total > 0) {
    double frac = done >= total ? 1.0 : (double) done / (double) total;
    int pct = (int) (frac * 100);
    double eta = (seconds > 0 && done > 0 && done < total)
      ? seconds * (double) (total - done) / (double) done : 0;

    right = g_strdup_printf (" %3d%% %10s %10s/s ETA %d:%02d", pct, sdone, srate,
                             (int) eta / 60, (int) eta % 60);
    barw = width - (int) strlen (label) - (int) strlen (right) - 3;
    g_string_append_printf (s, "%s [", label);
    for (int i = 0; i < barw; i++)
      g_string_append_c (s, i < (int) (frac * barw) ? '#' : ' ');
    g_string_append_printf (s, "]%s", right);
  } else {
    g_string_append_printf (s, "%s %10s %10s/s", label, sdone, srate);
  }
  return g_string_free (s, FALSE);
}

struct kiln_progress *
kiln_progress_new (const struct kiln_ctx *ctx, const char *label, uint64_t total)
{
  struct kiln_progress *p = g_new0 (struct kiln_progress, 1);

  p->label = g_strdup (label);
  p->total = total;
  p->start = g_get_monotonic_time ();
  p->enabled = isatty (STDERR_FILENO) && kiln_msg_verbosity () > 0 && !(ctx && ctx->json);
  return p;
}

void
kiln_progress_set_total (struct kiln_progress *p, uint64_t total)
{
  p->total = total;
}

void
kiln_progress_update (struct kiln_progress *p, uint64_t done)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *line = NULL;

  p->done = done;
  if (!p->enabled || (now - p->last_draw < 100000 && done != p->total))
    return;
  p->last_draw = now;
  line = kiln_progress_render (p->label, done, p->total, (now - p->start) / 1e6, 78);
  fprintf (stderr, "\r%s", line);
  fflush (stderr);
  p->drawn = true;
}

void
kiln_progress_free (struct kiln_progress *p)
{
  if (p == NULL)
    return;
  if (p->drawn)
    fprintf (stderr, "\r%-79s\r", "");
  g_free (p->label);
  g_free (p);
}
