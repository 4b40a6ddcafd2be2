/* backup-files.c: editor and tool backups (*~, *.bak) keep old versions of
 * configuration, sometimes with secrets.  Only the trees where people edit
 * files are searched, as virt-sysprep does: /usr holds package files whose
 * names may end so. */
#include <string.h>
#include "ops.h"

static const char *const trees[] = { "/etc", "/root", "/srv", "/tmp", "/var", NULL };

int
kiln_sysprep_op_backup_files (struct kiln_sysprep_job *j, GError **err)
{
  for (const char *const *t = trees; *t; t++) {
    char **found;
    int r = 0;

    if (guestfs_is_dir_opts (j->g, *t, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 0, -1) <= 0)
      continue;
    found = guestfs_find (j->g, *t);
    if (found == NULL) {
      kiln_guest_set_error (j->gu, err, "%s: cannot search %s", j->op, *t);
      return -1;
    }
    for (char **f = found; *f; f++) {
      if (r == 0 && (g_str_has_suffix (*f, "~") || g_str_has_suffix (*f, ".bak"))) {
        g_autofree char *path = g_build_filename (*t, *f, NULL);

        /* Files only: a directory named foo.bak may be anything. */
        if (guestfs_is_file_opts (j->g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1) > 0)
          r = kiln_sysprep_remove (j, path, err);
      }
      free (*f);
    }
    free (found);
    if (r == -1)
      return -1;
  }
  return 0;
}
