/* packages.h: installing, removing and updating packages in a guest with
 * its own package manager (from inspection), and running commands inside
 * the appliance with their output kept for the error message. */
#ifndef KILN_PACKAGES_H
#define KILN_PACKAGES_H

#include <guestfs.h>
#include "kiln.h"

enum kiln_pkg_op {
  KILN_PKG_INSTALL,
  KILN_PKG_UNINSTALL,
  KILN_PKG_UPDATE,
};

/* The commands (each a NULL-terminated argv, run in order) that do OP
 * on PKGS (NULL for KILN_PKG_UPDATE) with package manager PM ("apt",
 * "dnf", "yum", "zypper", "apk", "pacman").  REFRESH: fetch the package
 * lists first where the manager does not do it itself: apt-get update,
 * apk update, pacman's -Syu with the install (dnf, yum and zypper
 * refresh their metadata themselves); an uninstall never refreshes.
 * NULL and an error for an unknown manager. */
GPtrArray *kiln_packages_commands (const char *pm, enum kiln_pkg_op op,
                                   char *const *pkgs, bool refresh, GError **err);

/* The command (a NULL-terminated argv) that asks package manager PM's
 * package DATABASE (dpkg, rpm, apk, pacman: never the package lists,
 * which a cloud image often ships empty) whether PKG is installed.  It
 * exits 0 when it is, except dpkg-query, which prints "installed" (a
 * package removed but not purged is known to dpkg too), one status a
 * line, a line for each package a pattern such as cloud-* matches: check with
 * kiln_packages_is_installed.  NULL for an unknown manager. */
char **kiln_packages_query_command (const char *pm, const char *pkg);
/* Does package name NAME hold a glob character (*, ? or [)? */
bool kiln_package_is_pattern (const char *name);

/* 0 when package manager PM takes every name of PKGS (NULL-terminated) as
 * it stands; -1 with ERR (KILN_ERROR_USAGE) naming the first pattern
 * when PM is apk or pacman, which take exact names only (apt-get, dnf,
 * yum and zypper expand globs themselves, as virt-customize leaves them
 * to). */
int kiln_packages_check_patterns (const char *pm, char *const *pkgs, GError **err);

/* What the query above said: STATUS (its exit status) and OUTPUT. */
bool kiln_packages_is_installed (const char *pm, int status, char *output);

/* Is NAME acceptable as a package name (not an option, no blanks)? */
bool kiln_package_name_ok (const char *name);

/* Run ARGV inside the guest (chroot of the mounted root) with stdout and
 * stderr together in *OUTPUT; *STATUS is its exit status.  -1 only when
 * the command could not be run at all. */
int kiln_guest_command (guestfs_h *g, char *const *argv, char **output,
                        int *status, GError **err);

/* The last N lines of TEXT (a pointer into it). */
const char *kiln_text_tail (const char *text, int n);

#endif
