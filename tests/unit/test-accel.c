/* test-accel.c: the KVM probe's two outcomes, with real qemu: a kernel
 * that boots under TCG is seen; a qemu that exits at start is reported. */
#include <unistd.h>
#include "tap.h"
#include "accel.h"

static char *
newest_kernel (void)
{
  g_autoptr (GDir) d = g_dir_open ("/boot", 0, NULL);
  const char *n;
  char *best = NULL;

  while (d && (n = g_dir_read_name (d)))
    if (g_str_has_prefix (n, "vmlinuz-") && (!best || strverscmp (n, best) > 0)) {
      g_free (best);
      best = g_strdup (n);
    }
  if (best) {
    char *p = g_build_filename ("/boot", best, NULL);
    g_free (best);
    return p;
  }
  return NULL;
}

int
main (void)
{
  g_autofree char *kernel = newest_kernel ();
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  char *why = NULL;

  if (kernel == NULL || qemu == NULL) {
    printf ("1..0 # SKIP needs a kernel in /boot and qemu-system-x86_64\n");
    return 0;
  }
  plan (4);
  ok (kiln_accel_probe (qemu, kernel, "tcg", 30000, &why),
      "a kernel boots under TCG within 30 s%s%s", why ? ": " : "", why ? why : "");
  g_clear_pointer (&why, g_free);
  ok (!kiln_accel_probe (qemu, "/nonexistent/vmlinuz", "tcg", 5000, &why),
      "a kernel that does not exist is not seen");
  ok (why && strstr (why, "qemu exited at start") != NULL, "and qemu's exit is the reason: %s",
      why ? why : "(none)");
  g_clear_pointer (&why, g_free);
  ok (!kiln_accel_probe ("/nonexistent/qemu", kernel, "tcg", 5000, &why) && why != NULL,
      "a missing qemu is a failed probe with a reason");
  g_free (why);
  return done_testing ();
}
