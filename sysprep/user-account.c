/* user-account.c: remove the ordinary user accounts (UID_MIN..UID_MAX of
 * /etc/login.defs, 1000..60000 by default; root always stays) from
 * passwd, shadow, group and gshadow, with their private groups, their
 * memberships, their homes under /home and their mail.  Off by default:
 * a template usually means to ship its users. */
#include <stdlib.h>
#include <string.h>
#include "ops.h"

static char *
read_text (struct kiln_sysprep_job *j, const char *path)
{
  size_t len = 0;
  char *t = guestfs_is_file (j->g, path) > 0 ? kiln_guest_read_file (j->g, path, &len) : NULL;
  char *r = t ? g_strndup (t, len) : NULL;

  free (t);
  return r;
}

static void
uid_range (struct kiln_sysprep_job *j, long *min, long *max)
{
  g_autofree char *defs = read_text (j, "/etc/login.defs");
  g_auto (GStrv) lines = defs ? g_strsplit (defs, "\n", -1) : NULL;

  *min = 1000;
  *max = 60000;
  for (char **l = lines; l && *l; l++) {
    g_auto (GStrv) w = g_strsplit_set (g_strstrip (*l), " \t", 2);

    if (w[0] && w[1] && strcmp (w[0], "UID_MIN") == 0)
      *min = strtol (g_strstrip (w[1]), NULL, 10);
    else if (w[0] && w[1] && strcmp (w[0], "UID_MAX") == 0)
      *max = strtol (g_strstrip (w[1]), NULL, 10);
  }
}

/* FIELD (0-based) of a colon-separated LINE, or "". */
static char *
field (const char *line, int n)
{
  g_auto (GStrv) f = g_strsplit (line, ":", -1);

  return g_strdup ((int) g_strv_length (f) > n ? f[n] : "");
}

/* LIST (comma-separated names) without the names in USERS. */
static char *
drop_members (const char *list, GHashTable *users)
{
  g_auto (GStrv) m = g_strsplit (list, ",", -1);
  g_autoptr (GString) out = g_string_new (NULL);

  for (char **p = m; *p; p++)
    if (**p && !g_hash_table_contains (users, *p))
      g_string_append_printf (out, "%s%s", out->len ? "," : "", *p);
  return g_strdup (out->str);
}

/* Rewrite an account file: drop the lines whose first field is in DROP,
 * and remove USERS from the member lists in fields MEMBER_FIELDS. */
static int
rewrite (struct kiln_sysprep_job *j, const char *path, GHashTable *drop, GHashTable *users,
         const int *member_fields, GError **err)
{
  g_autofree char *text = read_text (j, path);
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) out = g_string_new (NULL);

  if (text == NULL)
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_autofree char *name = field (*l, 0);
    g_auto (GStrv) f = NULL;

    if (**l == '\0') {
      if (l[1] != NULL)
        g_string_append_c (out, '\n');
      continue;
    }
    if (g_hash_table_contains (drop, name))
      continue;
    f = g_strsplit (*l, ":", -1);
    for (const int *m = member_fields; *m >= 0; m++)
      if ((int) g_strv_length (f) > *m) {
        char *nl = drop_members (f[*m], users);

        g_free (f[*m]);
        f[*m] = nl;
      }
    {
      g_autofree char *joined = g_strjoinv (":", f);

      g_string_append (out, joined);
    }
    if (l[1] != NULL)
      g_string_append_c (out, '\n');
  }
  if (strcmp (out->str, text) == 0)
    return 0;
  return kiln_sysprep_rewrite (j, path, out, err);
}

int
kiln_sysprep_op_user_account (struct kiln_sysprep_job *j, GError **err)
{
  static const int none[] = { -1 };
  static const int group_members[] = { 3, -1 };
  static const int gshadow_members[] = { 2, 3, -1 };
  g_autofree char *passwd = read_text (j, "/etc/passwd");
  g_auto (GStrv) lines = passwd ? g_strsplit (passwd, "\n", -1) : NULL;
  g_autoptr (GHashTable) users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) homes = g_ptr_array_new_with_free_func (g_free);
  long min, max;

  uid_range (j, &min, &max);
  for (char **l = lines; l && *l; l++) {
    g_auto (GStrv) f = g_strsplit (*l, ":", -1);
    long uid;

    if (g_strv_length (f) < 7 || strcmp (f[0], "root") == 0)
      continue;
    uid = strtol (f[2], NULL, 10);
    if (uid < min || uid > max)
      continue;
    g_hash_table_add (users, g_strdup (f[0]));
    /* The user's private group goes with it; Debian and Red Hat name it
     * after the user. */
    g_hash_table_add (groups, g_strdup (f[0]));
    if (g_str_has_prefix (f[5], "/home/") && strstr (f[5], "/../") == NULL)
      g_ptr_array_add (homes, g_strdup (f[5]));
  }
  if (g_hash_table_size (users) == 0)
    return 0;
  if (rewrite (j, "/etc/passwd", users, users, none, err) == -1 ||
      rewrite (j, "/etc/shadow", users, users, none, err) == -1 ||
      rewrite (j, "/etc/group", groups, users, group_members, err) == -1 ||
      rewrite (j, "/etc/gshadow", groups, users, gshadow_members, err) == -1 ||
      rewrite (j, "/etc/subuid", users, users, none, err) == -1 ||
      rewrite (j, "/etc/subgid", users, users, none, err) == -1)
    return -1;
  for (guint i = 0; i < homes->len; i++)
    if (kiln_sysprep_remove (j, homes->pdata[i], err) == -1)
      return -1;
  {
    GHashTableIter it;
    gpointer name;

    g_hash_table_iter_init (&it, users);
    while (g_hash_table_iter_next (&it, &name, NULL)) {
      g_autofree char *m1 = g_build_filename ("/var/spool/mail", name, NULL);
      g_autofree char *m2 = g_build_filename ("/var/mail", name, NULL);

      if (kiln_sysprep_remove (j, m1, err) == -1 || kiln_sysprep_remove (j, m2, err) == -1)
        return -1;
    }
  }
  return 0;
}
