/* test-progress.c: sizes and the rendered bar. */
#include "tap.h"
#include "progress.h"

int
main (void)
{
  g_autofree char *a = kiln_format_size (0);
  g_autofree char *b = kiln_format_size (1536);
  g_autofree char *c = kiln_format_size (3ULL << 30);
  g_autofree char *half = kiln_progress_render ("fetch", 50 << 20, 100 << 20, 2.0, 78);
  g_autofree char *unk = kiln_progress_render ("fetch", 10 << 20, 0, 1.0, 78);

  is_str (a, "0 B", "zero bytes");
  is_str (b, "1.5 KiB", "KiB");
  is_str (c, "3.0 GiB", "GiB");
  ok (strstr (half, " 50%") != NULL, "half way shows 50%%: %s", half);
  ok (strstr (half, "25.0 MiB/s") != NULL, "rate is bytes over seconds");
  ok (strstr (half, "ETA 0:02") != NULL, "ETA from the rate");
  is_int ((long long) strlen (half), 78, "the bar fills the width");
  ok (strstr (unk, "%") == NULL && strstr (unk, "10.0 MiB") != NULL,
      "unknown total: bytes and rate, no percentage");
  return done_testing ();
}
