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

/* Only files are jobs (directories like crontabs/ are kept). */
static bool
is_not_file (struct kiln_sysprep_job *j, const char *path)
{
  return guestfs_is_file_opts (j->g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1) <= 0;
}

int
kiln_sysprep_op_cron_spool (struct kiln_sysprep_job *j, GError **err)
{
  /* .SEQ is at's job counter, not a job. */
  static const char *const keep[] = { ".SEQ", NULL };

  for (const char *const *d = job_dirs; *d; d++)
    if (kiln_sysprep_empty_dir_except (j, *d, keep, err) == -1)
      return -1;
  return kiln_sysprep_remove_globs_unless (j, job_files, is_not_file, err);
}
