/* test-packages.c: lib/packages.c, the question asked of a guest's
 * package database before --uninstall (never its package lists). */
#include "tap.h"
#include "kiln.h"
#include "packages.h"

int
main (void)
{
  g_auto (GStrv) apt = kiln_packages_query_command ("apt", "cloud-init");
  g_auto (GStrv) dnf = kiln_packages_query_command ("dnf", "cloud-init");
  g_auto (GStrv) apk = kiln_packages_query_command ("apk", "cloud-init");
  g_auto (GStrv) pac = kiln_packages_query_command ("pacman", "cloud-init");
  g_auto (GStrv) none = kiln_packages_query_command ("portage", "cloud-init");
  char installed[] = "installed\n", config[] = "config-files", empty[] = "";

  ok (apt && strcmp (apt[0], "dpkg-query") == 0 && strcmp (apt[3], "cloud-init") == 0,
      "apt: dpkg's database (dpkg-query), not apt's lists");
  ok (dnf && strcmp (dnf[0], "rpm") == 0, "dnf: rpm -q");
  ok (apk && strcmp (apk[0], "apk") == 0 && strcmp (apk[2], "-e") == 0, "apk: apk info -e");
  ok (pac && strcmp (pac[0], "pacman") == 0 && strcmp (pac[1], "-Q") == 0, "pacman: -Q");
  ok (none == NULL, "an unknown manager has no query");

  ok (kiln_packages_is_installed ("apt", 0, installed), "dpkg: installed");
  ok (!kiln_packages_is_installed ("apt", 0, config), "dpkg: removed but not purged is not installed");
  ok (!kiln_packages_is_installed ("apt", 1, empty), "dpkg: unknown package");
  ok (kiln_packages_is_installed ("dnf", 0, empty), "rpm: exit 0 is installed");
  ok (!kiln_packages_is_installed ("dnf", 1, empty), "rpm: exit 1 is not");
  return done_testing ();
}
