/* accel.c: the KVM probe and the KVM -> TCG fallback.  kiln build -j
 * resolves from several pool threads at once: one lock guards the state,
 * so the probe runs once per process and the fallback is said once. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include "accel.h"
#include "event.h"
#include "fileio.h"

#define PROBE_TIMEOUT_MS 5000
#define CACHE_MAGIC "kiln-accel-probe 1"

static GMutex lock;             /* guards everything below */
static enum kiln_accel mode = KILN_ACCEL_AUTO;
static bool mode_from_user;
static enum kiln_accel resolved = KILN_ACCEL_AUTO;   /* AUTO: not probed yet */
static bool warned;                                  /* the fallback was said */
static enum kiln_accel kvm_check (char **why);
static kiln_accel_check_fn check = kvm_check;

void
kiln_accel_set_mode (enum kiln_accel m)
{
  g_mutex_lock (&lock);
  mode = m;
  mode_from_user = true;
  resolved = m;
  warned = false;
  g_mutex_unlock (&lock);
}

void
kiln_accel_set_check (kiln_accel_check_fn fn)
{
  g_mutex_lock (&lock);
  check = fn ? fn : kvm_check;
  g_mutex_unlock (&lock);
}

/* With the lock held. */
static enum kiln_accel
mode_locked (void)
{
  if (!mode_from_user) {
    const char *env = g_getenv ("KILN_ACCEL");
    enum kiln_accel m;

    if (env && kiln_accel_parse (env, &m)) {
      mode = m;
      resolved = m;
    }
    mode_from_user = true;
  }
  return mode;
}

enum kiln_accel
kiln_accel_mode (void)
{
  enum kiln_accel m;

  g_mutex_lock (&lock);
  m = mode_locked ();
  g_mutex_unlock (&lock);
  return m;
}

static bool
kvm_device_usable (void)
{
  int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return false;
  close (fd);
  return true;
}

/* The newest kernel in /boot: the one the libguestfs appliance boots too. */
static char *
find_kernel (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/boot", 0, NULL);
  const char *name;
  char *best = NULL;

  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL) {
    if (!g_str_has_prefix (name, "vmlinuz-"))
      continue;
    if (best == NULL || strverscmp (name, best) > 0) {
      g_free (best);
      best = g_strdup (name);
    }
  }
  if (best) {
    char *path = g_build_filename ("/boot", best, NULL);
    g_free (best);
    return path;
  }
  return NULL;
}

static const char *
qemu_for_host (void)
{
  static char path[64];
  struct utsname u;

  if (uname (&u) != 0)
    return "qemu-system-x86_64";
  g_snprintf (path, sizeof path, "qemu-system-%s", u.machine);
  return path;
}

bool
kiln_accel_probe (const char *qemu, const char *kernel, const char *accel,
                  int timeout_ms, char **why)
{
  g_autofree char *accel_arg = g_strdup (accel);
  const char *argv[] = {
    qemu, "-accel", accel_arg, "-cpu", "max,la57=off", "-nodefaults",
    "-no-user-config", "-display", "none", "-m", "256", "-no-reboot",
    "-serial", "stdio", "-kernel", kernel,
    "-append", "console=ttyS0 panic=-1", NULL,
  };
  g_autoptr (GError) err = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GString) errtext = g_string_new (NULL);
  GPid pid;
  int fd_out, fd_err;
  bool seen = false, exited = false;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  int status = 0;

  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                 G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                 NULL, NULL, &pid, NULL, &fd_out, &fd_err, &err)) {
    *why = g_strdup_printf ("cannot run %s: %s", qemu, err->message);
    return false;
  }
  fcntl (fd_out, F_SETFL, O_NONBLOCK);
  fcntl (fd_err, F_SETFL, O_NONBLOCK);
  while (!seen) {
    struct pollfd fds[2] = { { fd_out, POLLIN, 0 }, { fd_err, POLLIN, 0 } };
    gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    char buf[4096];
    ssize_t r;
    int open_fds = 0;

    if (left <= 0)
      break;
    if (poll (fds, 2, (int) left) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
        continue;
      r = read (fds[i].fd, buf, sizeof buf);
      if (r > 0)
        g_string_append_len (i == 0 ? out : errtext, buf, r);
      else if (r == 0) {
        if (i == 0) { close (fd_out); fd_out = -1; }
        else { close (fd_err); fd_err = -1; }
      }
    }
    if (strstr (out->str, "Linux version"))
      seen = true;
    open_fds = (fd_out >= 0) + (fd_err >= 0);
    if (open_fds == 0) {
      exited = true;
      break;
    }
    if (fd_out < 0 && fd_err >= 0) {
      /* qemu closed stdout: it is exiting; collect stderr and stop. */
      continue;
    }
  }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
  if (fd_out >= 0)
    close (fd_out);
  if (fd_err >= 0)
    close (fd_err);
  if (seen)
    return true;
  g_strstrip (errtext->str);
  if (exited || errtext->len > 0) {
    char *nl = strchr (errtext->str, '\n');

    if (nl)
      *nl = '\0';
    *why = g_strdup_printf ("qemu exited at start: %s",
                            errtext->len ? errtext->str : "no message");
  } else
    *why = g_strdup_printf ("a kernel booted with %s printed nothing within %d s",
                            accel, timeout_ms / 1000);
  return false;
}

/* With the lock held. */
static void
choose_tcg (const char *why)
{
  resolved = KILN_ACCEL_TCG;
  if (warned)
    return;
  warned = true;
  kiln_event_warning ("accel", "KVM does not work here (%s); using TCG software emulation, "
                      "which is slower. --accel tcg skips this check.", why);
}

/* auto's check: no usable /dev/kvm is TCG, silently; no kernel to boot
 * is KVM (a failed launch falls back); else a kernel must boot. */
static enum kiln_accel
kvm_check (char **why)
{
  g_autofree char *kernel = NULL;

  if (!kvm_device_usable ()) {
    kiln_event_debug ("accel", "/dev/kvm is not usable; using TCG");
    return KILN_ACCEL_TCG;
  }
  kernel = find_kernel ();
  if (kernel == NULL)
    return KILN_ACCEL_KVM;
  kiln_event_debug ("accel", "probing KVM by booting %s", kernel);
  if (kiln_accel_probe (qemu_for_host (), kernel, "kvm", PROBE_TIMEOUT_MS, why))
    return KILN_ACCEL_KVM;
  return KILN_ACCEL_TCG;
}

/* The per-boot probe cache.  One small text file: a magic line, the key
 * (kernel boot id, running kernel release, qemu binary path, size and
 * mtime), then the verdict and, for TCG, the reason.  An entry whose key
 * differs (another boot, a kernel or qemu upgrade) or that does not parse
 * is ignored and replaced by the next probe. */

char *
kiln_accel_cache_path (void)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");

  if (runtime && *runtime && g_path_is_absolute (runtime))
    return g_build_filename (runtime, "kiln", "accel-probe", NULL);
  if (geteuid () == 0)
    return g_strdup ("/run/kiln/accel-probe");
  return g_build_filename (g_get_user_cache_dir (), "kiln", "accel-probe", NULL);
}

/* The key lines for this boot, kernel and qemu; NULL when the boot id
 * cannot be read (then nothing is cached). */
static char *
cache_key (void)
{
  g_autofree char *boot_id = NULL;
  g_autofree char *qemu = g_find_program_in_path (qemu_for_host ());
  struct utsname u;
  struct stat st;
  GString *key;

  if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &boot_id, NULL, NULL))
    return NULL;
  g_strstrip (boot_id);
  if (uname (&u) != 0)
    return NULL;
  key = g_string_new (CACHE_MAGIC "\n");
  g_string_append_printf (key, "boot-id %s\nkernel %s\n", boot_id, u.release);
  if (qemu && stat (qemu, &st) == 0)
    g_string_append_printf (key, "qemu %s %jd %jd.%09ld\n", qemu, (intmax_t) st.st_size,
                            (intmax_t) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  else
    g_string_append (key, "qemu none\n");
  return g_string_free (key, FALSE);
}

/* The cached verdict for KEY: KILN_ACCEL_KVM, or KILN_ACCEL_TCG with its
 * reason in *WHY; KILN_ACCEL_AUTO when there is no usable entry. */
static enum kiln_accel
cache_read (const char *path, const char *key, char **why)
{
  g_autofree char *text = NULL;
  const char *rest;
  gsize len;

  if (!g_file_get_contents (path, &text, &len, NULL))
    return KILN_ACCEL_AUTO;
  if (strlen (text) != len || !g_str_has_prefix (text, key)) {
    kiln_event_debug ("accel", "%s is for another boot, kernel or qemu: probing again", path);
    return KILN_ACCEL_AUTO;
  }
  rest = text + strlen (key);
  if (g_strcmp0 (rest, "verdict kvm\n") == 0)
    return KILN_ACCEL_KVM;
  if (g_str_has_prefix (rest, "verdict tcg\nwhy ") && g_str_has_suffix (rest, "\n")) {
    const char *w = rest + strlen ("verdict tcg\nwhy ");
    size_t wlen = strlen (w) - 1;

    if (wlen > 0 && memchr (w, '\n', wlen) == NULL) {
      *why = g_strndup (w, wlen);
      return KILN_ACCEL_TCG;
    }
  }
  kiln_event_debug ("accel", "%s does not parse: probing again", path);
  return KILN_ACCEL_AUTO;
}

/* Record VERDICT (WHY: its reason for TCG) under KEY.  Best effort: a
 * cache that cannot be written only costs a probe next time. */
static void
cache_write (const char *path, const char *key, enum kiln_accel verdict, const char *why)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *one_line = g_strdup (why ? why : "");
  g_autoptr (GString) text = g_string_new (key);
  g_autoptr (GError) err = NULL;

  g_strdelimit (one_line, "\n\r", ' ');
  if (verdict == KILN_ACCEL_KVM)
    g_string_append (text, "verdict kvm\n");
  else
    g_string_append_printf (text, "verdict tcg\nwhy %s\n", *one_line ? one_line : "unknown");
  if (kiln_mkdir_p (dir, 0700, &err) == -1
      || kiln_file_write_atomic (path, text->str, text->len, 0644, true, &err) == -1)
    kiln_event_debug ("accel", "cannot record the probe's verdict: %s", err->message);
}

/* With the lock held: the verdict for this boot, from the cache or from
 * the check (recorded when it tested something: a TCG without a reason,
 * such as an unusable /dev/kvm, may change within a boot). */
static enum kiln_accel
check_cached (char **why)
{
  g_autofree char *path = kiln_accel_cache_path ();
  g_autofree char *key = cache_key ();
  enum kiln_accel v = KILN_ACCEL_AUTO;

  if (key) {
    v = cache_read (path, key, why);
    if (v != KILN_ACCEL_AUTO) {
      kiln_event_debug ("accel", "%s from %s (this boot's earlier probe; remove the file "
                        "to probe again)", v == KILN_ACCEL_KVM ? "KVM" : "TCG", path);
      return v;
    }
  }
  v = check (why);
  if (key && (v == KILN_ACCEL_KVM || *why))
    cache_write (path, key, v, *why);
  return v;
}

/* With the lock held: a launch under KVM failed, so a cached "KVM works"
 * is wrong; the next command probes again. */
static void
cache_invalidate (void)
{
  g_autofree char *path = kiln_accel_cache_path ();

  if (unlink (path) == 0)
    kiln_event_debug ("accel", "removed %s: a launch failed under KVM", path);
}

int
kiln_accel_resolve (enum kiln_accel *out, GError **err)
{
  g_autofree char *why = NULL;
  int r = 0;

  /* The lock is held through the probe: a second thread waits for the
   * first one's answer instead of probing again. */
  g_mutex_lock (&lock);
  mode_locked ();
  if (resolved == KILN_ACCEL_AUTO) {
    resolved = check_cached (&why);
    if (resolved == KILN_ACCEL_TCG && why)
      choose_tcg (why);
  }
  else if (resolved == KILN_ACCEL_KVM && mode == KILN_ACCEL_KVM && !kvm_device_usable ()) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "--accel kvm: /dev/kvm cannot be opened (%s); use --accel tcg or auto",
                 g_strerror (errno));
    r = -1;
  }
  *out = resolved;
  g_mutex_unlock (&lock);
  return r;
}

bool
kiln_accel_fallback (const char *why)
{
  bool r = false;

  g_mutex_lock (&lock);
  if (mode == KILN_ACCEL_AUTO && resolved == KILN_ACCEL_KVM) {
    cache_invalidate ();
    choose_tcg (why);
    r = true;
  }
  g_mutex_unlock (&lock);
  return r;
}

bool
kiln_accel_parse (const char *s, enum kiln_accel *out)
{
  if (g_strcmp0 (s, "auto") == 0)
    *out = KILN_ACCEL_AUTO;
  else if (g_strcmp0 (s, "kvm") == 0)
    *out = KILN_ACCEL_KVM;
  else if (g_strcmp0 (s, "tcg") == 0)
    *out = KILN_ACCEL_TCG;
  else
    return false;
  return true;
}
