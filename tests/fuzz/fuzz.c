/* fuzz.c: the targets' shared harness (fuzz.h): inputs as strings and
 * files in a private tmpfs directory, and a Landlock sandbox for the
 * targets whose code under test opens host paths named in the input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/landlock.h>

#include "fuzz.h"

static char *dir;
static char *file_path;

char *
kiln_fuzz_text (const uint8_t *data, size_t size)
{
  char *s = g_malloc (size + 1);

  memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

static void
remove_dir (void)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    unlink (p);
  }
  if (d)
    g_dir_close (d);
  rmdir (dir);
}

const char *
kiln_fuzz_dir (void)
{
  if (dir)
    return dir;
  dir = g_build_filename (access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : g_get_tmp_dir (),
                          "kiln-fuzz-XXXXXX", NULL);
  if (g_mkdtemp (dir) == NULL) {
    fprintf (stderr, "fuzz: cannot make %s: %s\n", dir, g_strerror (errno));
    abort ();
  }
  /* Nothing of the caller's environment: ${VAR} in a recipe finds only
   * what the input defines, ~ is the private directory. */
  clearenv ();
  setenv ("HOME", dir, 1);
  setenv ("TMPDIR", dir, 1);
  atexit (remove_dir);
  return dir;
}

const char *
kiln_fuzz_file (const char *name, const uint8_t *data, size_t size)
{
  int fd;

  g_free (file_path);
  file_path = g_build_filename (kiln_fuzz_dir (), name, NULL);
  fd = open (file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd == -1 || (size > 0 && write (fd, data, size) != (ssize_t) size) || close (fd) == -1) {
    fprintf (stderr, "fuzz: cannot write %s: %s\n", file_path, g_strerror (errno));
    abort ();
  }
  return file_path;
}

bool
kiln_fuzz_names_host (const uint8_t *data, size_t size)
{
  return memchr (data, '/', size) != NULL || memchr (data, '\\', size) != NULL;
}

/* ------------------------------------------------------------ sandbox */

#define RO (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define RW_FILE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE)
/* Every right of Landlock's first ABI: what the ruleset handles. */
#define ALL ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

static bool
allow_fd (int ruleset, const char *path, uint64_t access)
{
  struct landlock_path_beneath_attr pb = { .allowed_access = access };
  int fd = open (path, O_PATH | O_CLOEXEC);
  long r;

  if (fd == -1)
    return errno == ENOENT;
  pb.parent_fd = fd;
  r = syscall (SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
  close (fd);
  if (r == -1)
    fprintf (stderr, "fuzz: landlock rule for %s: %s\n", path, g_strerror (errno));
  return r == 0;
}

bool
kiln_fuzz_sandbox (int argc, char **argv)
{
  struct landlock_ruleset_attr attr = { .handled_access_fs = ALL };
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = exe ? g_path_get_dirname (exe) : NULL;
  bool good = true;
  int rs;

  rs = (int) syscall (SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (rs == -1) {
    fprintf (stderr, "fuzz: no Landlock (%s): inputs naming paths are skipped\n",
             g_strerror (errno));
    kiln_fuzz_dir ();
    return false;
  }
  /* The system's libraries and configuration (glib, libxml2, the
   * symbolizer ASan runs on a report), this process's /proc entry (ASan
   * and LeakSanitizer read its maps), the binary's directory. */
  good &= allow_fd (rs, "/usr", RO);
  good &= allow_fd (rs, "/lib", RO);
  good &= allow_fd (rs, "/lib64", RO);
  good &= allow_fd (rs, "/etc", RO);
  good &= allow_fd (rs, "/proc/self", RO);
  good &= allow_fd (rs, "/dev/null", RW_FILE);
  if (exe_dir)
    good &= allow_fd (rs, exe_dir, RO);
  /* Where libFuzzer reads and writes: the corpus directories and input
   * files it was given, its artifact prefix, the working directory it
   * was started in; and the private directory. */
  good &= allow_fd (rs, cwd, ALL);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    g_autofree char *d = NULL;

    if (g_str_has_prefix (a, "-artifact_prefix=") || g_str_has_prefix (a, "-exact_artifact_path="))
      a = strchr (a, '=') + 1;
    else if (a[0] == '-')
      continue;
    d = g_file_test (a, G_FILE_TEST_IS_DIR) ? g_strdup (a) : g_path_get_dirname (a);
    good &= allow_fd (rs, d, ALL);
  }
  good &= allow_fd (rs, kiln_fuzz_dir (), ALL);
  if (!good || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
      syscall (SYS_landlock_restrict_self, rs, 0) == -1) {
    fprintf (stderr, "fuzz: cannot sandbox this process: %s\n", g_strerror (errno));
    abort ();
  }
  close (rs);
  return true;
}
