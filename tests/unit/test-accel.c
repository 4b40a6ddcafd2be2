/* test-accel.c: kiln_accel_resolve from several threads at once (kiln
 * build -j) runs the check once and warns once; then the KVM probe's two
 * outcomes, with real qemu: a kernel that boots under TCG is seen; a qemu
 * that exits at start is reported.  The per-boot cache of the verdict:
 * a second command reuses it, a foreign or corrupt entry is ignored, a
 * KVM launch failure removes it, forced modes neither read nor write it. */
#include <unistd.h>
#include <glib/gstdio.h>
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

static gint kvm_checks;

static enum kiln_accel
working_kvm (char **why)
{
  g_atomic_int_inc (&kvm_checks);
  return KILN_ACCEL_KVM;
}

static enum kiln_accel
no_device (char **why)
{
  g_atomic_int_inc (&kvm_checks);
  return KILN_ACCEL_TCG;   /* silent: /dev/kvm not usable */
}

/* A new command's auto resolve (the process state reset as --accel auto
 * does): the verdict, -1 on error. */
static int
resolve_auto (void)
{
  enum kiln_accel a = KILN_ACCEL_AUTO;

  kiln_accel_set_mode (KILN_ACCEL_AUTO);
  if (kiln_accel_resolve (&a, NULL) == -1)
    return -1;
  return (int) a;
}

static char *
read_entry (const char *path)
{
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

static void
write_entry (const char *path, const char *text)
{
  g_file_set_contents (path, text, -1, NULL);
}

static void
probe_cache (const char *runtime)
{
  g_autofree char *path = kiln_accel_cache_path ();
  g_autofree char *want = g_build_filename (runtime, "kiln", "accel-probe", NULL);
  g_autofree char *entry = NULL;
  g_autofree char *boot_id = NULL;
  int before;

  is_str (path, want, "the cache lives in $XDG_RUNTIME_DIR/kiln/accel-probe");

  /* The concurrent test above left a TCG verdict with its reason. */
  entry = read_entry (path);
  ok (entry && strstr (entry, "verdict tcg\nwhy planted") != NULL,
      "the first probe's TCG verdict and reason were recorded");
  ok (entry && g_file_get_contents ("/proc/sys/kernel/random/boot_id", &boot_id, NULL, NULL)
      && strstr (entry, g_strstrip (boot_id)) != NULL, "keyed by the boot id");

  kiln_event_set_handler (count_events, NULL);
  kiln_accel_set_check (slow_broken_kvm);
  before = g_atomic_int_get (&checks);
  g_atomic_int_set (&warnings, 0);
  is_int (resolve_auto (), KILN_ACCEL_TCG, "the next command takes TCG from the cache");
  is_int (g_atomic_int_get (&checks), before, "without probing again");
  is_int (g_atomic_int_get (&warnings), 1, "and still says why once");

  /* KVM verdict: cached, then invalidated by a failed KVM launch. */
  g_unlink (path);
  kiln_accel_set_check (working_kvm);
  is_int (resolve_auto (), KILN_ACCEL_KVM, "no entry: the check runs and says KVM");
  is_int (resolve_auto (), KILN_ACCEL_KVM, "the next command takes KVM");
  is_int (g_atomic_int_get (&kvm_checks), 1, "from the cache");
  ok (kiln_accel_fallback ("planted launch failure"), "a KVM launch failure falls back to TCG");
  ok (!g_file_test (path, G_FILE_TEST_EXISTS), "and removes the cached KVM verdict");
  is_int (resolve_auto (), KILN_ACCEL_KVM, "so the next command probes again");
  is_int (g_atomic_int_get (&kvm_checks), 2, "(it did)");

  /* An entry for another boot is ignored (and replaced). */
  g_clear_pointer (&entry, g_free);
  entry = read_entry (path);
  {
    g_autoptr (GRegex) re = g_regex_new ("boot-id [^\n]*", 0, 0, NULL);
    g_autofree char *foreign = g_regex_replace_literal (re, entry, -1, 0,
                                                        "boot-id 00000000-0000-0000-0000-000000000000",
                                                        0, NULL);

    write_entry (path, foreign);
  }
  is_int (resolve_auto (), KILN_ACCEL_KVM, "an entry of another boot");
  is_int (g_atomic_int_get (&kvm_checks), 3, "is ignored: the check runs");
  {
    g_autofree char *now = read_entry (path);

    ok (now && g_strcmp0 (now, entry) == 0, "and the entry is rewritten for this boot");
  }

  /* Corrupt entries are ignored. */
  {
    const char *bad[] = { "", "garbage\n", NULL, NULL, NULL };
    g_autofree char *no_verdict = g_strndup (entry, strstr (entry, "verdict") - entry);
    g_autofree char *bad_verdict = g_strconcat (no_verdict, "verdict maybe\n", NULL);
    g_autofree char *tcg_no_why = g_strconcat (no_verdict, "verdict tcg\n", NULL);

    bad[2] = no_verdict;
    bad[3] = bad_verdict;
    bad[4] = tcg_no_why;
    for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
      int n = g_atomic_int_get (&kvm_checks);

      write_entry (path, bad[i]);
      is_int (resolve_auto (), KILN_ACCEL_KVM, "corrupt entry %zu: the check's verdict", i);
      is_int (g_atomic_int_get (&kvm_checks), n + 1, "corrupt entry %zu is ignored", i);
    }
  }

  /* Forced modes neither read nor write it. */
  g_unlink (path);
  kiln_accel_set_mode (KILN_ACCEL_TCG);
  {
    enum kiln_accel a = KILN_ACCEL_AUTO;

    ok (kiln_accel_resolve (&a, NULL) == 0 && a == KILN_ACCEL_TCG, "--accel tcg");
  }
  ok (!g_file_test (path, G_FILE_TEST_EXISTS), "--accel tcg records nothing");
  write_entry (path, entry);
  kiln_accel_set_mode (KILN_ACCEL_TCG);
  {
    enum kiln_accel a = KILN_ACCEL_AUTO;

    ok (kiln_accel_resolve (&a, NULL) == 0 && a == KILN_ACCEL_TCG,
        "--accel tcg wins over a cached KVM verdict");
  }

  /* A silent TCG (no /dev/kvm) can change within a boot: not cached. */
  g_unlink (path);
  kiln_accel_set_check (no_device);
  is_int (resolve_auto (), KILN_ACCEL_TCG, "no usable /dev/kvm: TCG");
  ok (!g_file_test (path, G_FILE_TEST_EXISTS), "is not recorded");

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
  g_autofree char *runtime = g_dir_make_tmp ("kiln-test-accel-XXXXXX", NULL);

  /* Never the real cache: a planted verdict there would steer real runs. */
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  concurrent_resolve ();
  probe_cache (runtime);
  {
    g_autofree char *path = kiln_accel_cache_path ();
    g_autofree char *dir = g_path_get_dirname (path);

    g_unlink (path);
    g_rmdir (dir);
    g_rmdir (runtime);
  }
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
