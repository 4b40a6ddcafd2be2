/* test-accel.c: kiln_accel_resolve from several threads at once (kiln
 * build -j) runs the check once and warns once; then the KVM probe's two
 * outcomes, with real qemu: a kernel that boots under TCG is seen; a qemu
 * that exits at start is reported. */
#include <unistd.h>
#include "tap.h"
#include "accel.h"
#include "event.h"

#define THREADS 8

static gint checks, warnings;

/* A slow check that finds KVM broken, as the real one does on a host
 * whose KVM hangs: the other threads arrive while it runs. */
static enum kiln_accel
slow_broken_kvm (char **why)
{
  g_atomic_int_inc (&checks);
  g_usleep (200 * 1000);
  *why = g_strdup ("planted: the kernel printed nothing");
  return KILN_ACCEL_TCG;
}

static void
count_events (const struct kiln_event *ev, void *opaque)
{
  if (ev->level == KILN_EVENT_WARNING && g_strcmp0 (ev->topic, "accel") == 0)
    g_atomic_int_inc (&warnings);
}

static gpointer
resolve_thread (gpointer data)
{
  enum kiln_accel a = KILN_ACCEL_AUTO;

  if (kiln_accel_resolve (&a, NULL) == -1)
    return GINT_TO_POINTER (-1);
  return GINT_TO_POINTER ((int) a);
}

static void
concurrent_resolve (void)
{
  GThread *t[THREADS];
  int tcg = 0;

  kiln_event_set_handler (count_events, NULL);
  kiln_accel_set_check (slow_broken_kvm);
  kiln_accel_set_mode (KILN_ACCEL_AUTO);
  for (int i = 0; i < THREADS; i++)
    t[i] = g_thread_new ("resolve", resolve_thread, NULL);
  for (int i = 0; i < THREADS; i++)
    tcg += GPOINTER_TO_INT (g_thread_join (t[i])) == KILN_ACCEL_TCG;
  is_int (tcg, THREADS, "every thread resolves to TCG");
  is_int (g_atomic_int_get (&checks), 1, "%d threads at once: the KVM check ran once", THREADS);
  is_int (g_atomic_int_get (&warnings), 1, "and the fallback was said once");
  ok (!kiln_accel_fallback ("launch failed"), "a later launch failure does not fall back again");
  is_int (g_atomic_int_get (&warnings), 1, "nor warn again");

  /* Forced modes never run the check. */
  kiln_accel_set_mode (KILN_ACCEL_TCG);
  {
    enum kiln_accel a = KILN_ACCEL_AUTO;

    ok (kiln_accel_resolve (&a, NULL) == 0 && a == KILN_ACCEL_TCG, "--accel tcg is TCG");
  }
  is_int (g_atomic_int_get (&checks), 1, "--accel tcg runs no check");
  kiln_accel_set_check (NULL);
  kiln_event_set_handler (NULL, NULL);
}

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

  concurrent_resolve ();
  if (kernel == NULL || qemu == NULL) {
    diag ("the probe tests need a kernel in /boot and qemu-system-x86_64: skipped");
    return done_testing ();
  }
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
