/* packages.c: package manager commands as argv vectors (never a shell
 * string built from package names), and running them in the guest. */
#include <stdlib.h>
#include <string.h>

#include "packages.h"

static void
push (GPtrArray *cmds, GStrvBuilder *b)
{
  g_ptr_array_add (cmds, g_strv_builder_end (b));
  g_strv_builder_unref (b);
}

static GStrvBuilder *
start (const char *const *words)
{
  GStrvBuilder *b = g_strv_builder_new ();

  for (; *words; words++)
    g_strv_builder_add (b, *words);
  return b;
}

static GStrvBuilder *
with_pkgs (GStrvBuilder *b, char *const *pkgs)
{
  for (; pkgs && *pkgs; pkgs++)
    g_strv_builder_add (b, *pkgs);
  return b;
}

char **
kiln_packages_query_command (const char *pm, const char *pkg)
{
  if (g_strcmp0 (pm, "apt") == 0)
    return g_strdupv ((char *[]) { "dpkg-query", "-W", "-f=${db:Status-Status}\\n", (char *) pkg, NULL });
  if ((g_strcmp0 (pm, "dnf") == 0 || g_strcmp0 (pm, "yum") == 0 || g_strcmp0 (pm, "zypper") == 0) &&
      kiln_package_is_pattern (pkg))
    /* rpm -q takes names only; -qa matches a glob and exits 0 either way. */
    return g_strdupv ((char *[]) { "sh", "-c", "rpm -qa \"$1\" | grep -q .", "sh", (char *) pkg, NULL });
  if (g_strcmp0 (pm, "dnf") == 0 || g_strcmp0 (pm, "yum") == 0 || g_strcmp0 (pm, "zypper") == 0)
    return g_strdupv ((char *[]) { "rpm", "-q", "--quiet", (char *) pkg, NULL });
  if (g_strcmp0 (pm, "apk") == 0)
    return g_strdupv ((char *[]) { "apk", "info", "-e", (char *) pkg, NULL });
  if (g_strcmp0 (pm, "pacman") == 0)
    return g_strdupv ((char *[]) { "pacman", "-Q", (char *) pkg, NULL });
  return NULL;
}

bool
kiln_packages_is_installed (const char *pm, int status, char *output)
{
  if (status != 0)
    return false;
  if (g_strcmp0 (pm, "apt") == 0) {
    /* One status a line, one line for each package a pattern matches
     * ('cloud-*'): installed when any of them is. */
    g_auto (GStrv) lines = g_strsplit (output ? output : "", "\n", -1);

    for (char **l = lines; *l; l++)
      if (strcmp (g_strstrip (*l), "installed") == 0)
        return true;
    return false;
  }
  return true;
}

bool
kiln_package_is_pattern (const char *name)
{
  return name && strpbrk (name, "*?[") != NULL;
}

int
kiln_packages_check_patterns (const char *pm, char *const *pkgs, GError **err)
{
  /* apt-get, dnf, yum and zypper expand globs themselves; apk and pacman
   * take exact names, and their queries would call a pattern "not
   * installed" and skip it without a word. */
  if (g_strcmp0 (pm, "apk") != 0 && g_strcmp0 (pm, "pacman") != 0)
    return 0;
  for (; pkgs && *pkgs; pkgs++)
    if (kiln_package_is_pattern (*pkgs)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "'%s' is a pattern, and the guest's package manager (%s) takes exact "
                   "package names only: name each package", *pkgs, pm);
      return -1;
    }
  return 0;
}

bool
kiln_package_name_ok (const char *name)
{
  if (name == NULL || name[0] == '\0' || name[0] == '-')
    return false;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._+-:~=@/<>*", *p) == NULL)
      return false;
  return true;
}

GPtrArray *
kiln_packages_commands (const char *pm, enum kiln_pkg_op op, char *const *pkgs,
                        bool refresh, GError **err)
{
  g_autoptr (GPtrArray) cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  if (g_strcmp0 (pm, "apt") == 0) {
    /* env puts DEBIAN_FRONTEND in apt's environment without a shell;
     * force-confdef/confold keeps the guest's edited configuration. */
    static const char *const apt[] = {
      "/usr/bin/env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
      "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", NULL
    };
    GStrvBuilder *b;

    if (refresh && op != KILN_PKG_UNINSTALL) {
      b = start (apt);
      g_strv_builder_add (b, "update");
      push (cmds, b);
    }
    b = start (apt);
    switch (op) {
    case KILN_PKG_INSTALL: g_strv_builder_add (b, "install"); break;
    case KILN_PKG_UNINSTALL: g_strv_builder_add_many (b, "remove", "--purge", NULL); break;
    case KILN_PKG_UPDATE: g_strv_builder_add (b, "dist-upgrade"); break;
    }
    push (cmds, with_pkgs (b, pkgs));
  } else if (g_strcmp0 (pm, "dnf") == 0 || g_strcmp0 (pm, "yum") == 0) {
    const char *const base[] = { pm, "-y", NULL };
    GStrvBuilder *b = start (base);

    g_strv_builder_add (b, op == KILN_PKG_INSTALL ? "install"
                           : op == KILN_PKG_UNINSTALL ? "remove" : "upgrade");
    push (cmds, with_pkgs (b, pkgs));
  } else if (g_strcmp0 (pm, "zypper") == 0) {
    static const char *const base[] = { "zypper", "-n", NULL };
    GStrvBuilder *b = start (base);

    g_strv_builder_add (b, op == KILN_PKG_INSTALL ? "install"
                           : op == KILN_PKG_UNINSTALL ? "remove" : "update");
    push (cmds, with_pkgs (b, pkgs));
  } else if (g_strcmp0 (pm, "apk") == 0) {
    static const char *const base[] = { "apk", NULL };
    GStrvBuilder *b;

    if (refresh && op != KILN_PKG_UNINSTALL) {
      b = start (base);
      g_strv_builder_add (b, "update");
      push (cmds, b);
    }
    b = start (base);
    g_strv_builder_add (b, op == KILN_PKG_INSTALL ? "add"
                           : op == KILN_PKG_UNINSTALL ? "del" : "upgrade");
    push (cmds, with_pkgs (b, pkgs));
  } else if (g_strcmp0 (pm, "pacman") == 0) {
    /* A fresh image often has no sync databases: pacman -S then finds
     * nothing.  Arch supports no partial upgrade (-Sy without -u), so
     * the refresh is -Syu, with the install in the same transaction;
     * --needed leaves what is installed and current alone. */
    static const char *const base[] = { "pacman", "--noconfirm", NULL };
    GStrvBuilder *b = start (base);

    if (op == KILN_PKG_INSTALL)
      g_strv_builder_add_many (b, refresh ? "-Syu" : "-S", "--needed", NULL);
    else
      g_strv_builder_add (b, op == KILN_PKG_UNINSTALL ? "-R" : "-Syu");
    push (cmds, with_pkgs (b, pkgs));
  } else {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "the guest's package manager is %s; kiln knows apt, dnf, yum, zypper, apk and pacman",
                 pm ? pm : "unknown");
    return NULL;
  }
  return g_steal_pointer (&cmds);
}

int
kiln_guest_command (guestfs_h *g, char *const *argv, char **output, int *status,
                    GError **err)
{
  /* A constant script: the command's words reach it as "$@", never as
   * text to parse.  It always exits 0 so that the output survives a
   * failure (guestfs_command drops stdout when the command fails). */
  static const char *const script = "\"$@\" 2>&1; echo \"kiln-exit=$?\"";
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) full = NULL;
  char *out, *mark;

  g_strv_builder_add_many (b, "/bin/sh", "-c", script, "kiln", NULL);
  for (char *const *a = argv; *a; a++)
    g_strv_builder_add (b, *a);
  full = g_strv_builder_end (b);
  out = guestfs_command (g, full);
  if (out == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_GUEST, "cannot run %s in the guest: %s",
                 argv[0], guestfs_last_error (g));
    return -1;
  }
  mark = g_strrstr (out, "kiln-exit=");
  *status = mark ? atoi (mark + 10) : 255;
  if (mark)
    *mark = '\0';
  *output = g_strdup (out);
  free (out);
  return 0;
}

const char *
kiln_text_tail (const char *text, int n)
{
  const char *p = text + strlen (text);

  while (p > text && (p[-1] == '\n' || p[-1] == ' '))
    p--;
  while (p > text) {
    if (p[-1] == '\n' && --n == 0)
      break;
    p--;
  }
  return p;
}
