/* cron-spool.c: users' crontabs and at jobs.  Only the jobs go: Debian's
 * cron and at need their spool directories (crontabs/, atjobs/, with
 * special modes) to exist, and at needs its .SEQ counter file. */
#include "ops.h"

/* Directories whose entries are jobs. */
static const char *const job_dirs[] = {
  "/var/spool/cron/crontabs",     /* Debian cron */
  "/var/spool/cron/atjobs",       /* Debian at */
  "/var/spool/cron/atspool",
  "/var/spool/at/spool",          /* Red Hat at */
  "/var/spool/atjobs",
  "/var/spool/atspool",
  NULL,
};

/* Red Hat keeps crontabs as files named by user in /var/spool/cron, and
 * at jobs as files in /var/spool/at (the glob skips .SEQ). */
static const char *const job_files[] = {
  "/var/spool/cron/*",
  "/var/spool/at/*",
  NULL,
};

int
kiln_sysprep_op_cron_spool (struct kiln_sysprep_job *j, GError **err)
{
  /* .SEQ is at's job counter, not a job. */
  static const char *const keep[] = { ".SEQ", NULL };

  for (const char *const *d = job_dirs; *d; d++)
    if (kiln_sysprep_empty_dir_except (j, *d, keep, err) == -1)
      return -1;
  for (const char *const *pat = job_files; *pat; pat++) {
    char **m = guestfs_glob_expand_opts (j->g, *pat, GUESTFS_GLOB_EXPAND_OPTS_DIRECTORYSLASH, 0, -1);
    int r = 0;

    if (m == NULL) {
      kiln_guest_set_error (j->gu, err, "%s: cannot expand %s", j->op, *pat);
      return -1;
    }
    for (char **p = m; *p; p++) {
      if (r == 0 && guestfs_is_file_opts (j->g, *p, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1) > 0)
        r = kiln_sysprep_remove (j, *p, err);
      free (*p);
    }
    free (m);
    if (r == -1)
      return -1;
  }
  return 0;
}
