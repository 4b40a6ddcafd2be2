/* progress.h: a progress bar on stderr when it is a terminal; silent
 * otherwise, with -q or with --json. */
#ifndef KILN_PROGRESS_H
#define KILN_PROGRESS_H

#include <stdint.h>
#include "kiln.h"

typedef struct kiln_progress kiln_progress;

/* TOTAL 0: unknown (rate and bytes, no percentage or ETA). */
struct kiln_progress *kiln_progress_new (const struct kiln_ctx *ctx, const char *label,
                                         uint64_t total);
void kiln_progress_set_total (struct kiln_progress *p, uint64_t total);
void kiln_progress_update (struct kiln_progress *p, uint64_t done);
/* Erase the bar; the caller says the outcome. */
void kiln_progress_free (struct kiln_progress *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (kiln_progress, kiln_progress_free)

/* "1.5 GiB", "320.0 KiB": for messages too. */
char *kiln_format_size (uint64_t bytes);

/* Render the bar for these values into a string of WIDTH columns (used
 * by the bar, and by tests). */
char *kiln_progress_render (const char *label, uint64_t done, uint64_t total,
                            double seconds, int width);

#endif
