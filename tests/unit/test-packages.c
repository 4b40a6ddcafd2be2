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
  {
    /* --uninstall 'cloud-*': dpkg-query -W answers for every package the
     * pattern matches, one status a line. */
    char several[] = "config-files\ninstalled\n", none_inst[] = "not-installed\nconfig-files\n";

    ok (apt && g_str_has_suffix (apt[2], "\\n"), "dpkg-query: one status a line: %s", apt ? apt[2] : "");
    ok (kiln_packages_is_installed ("apt", 0, several), "dpkg: a pattern with one installed match is installed");
    ok (!kiln_packages_is_installed ("apt", 0, none_inst), "dpkg: a pattern with none installed is not");
  }
  {
    g_auto (GStrv) pat = kiln_packages_query_command ("dnf", "cloud-*");
    g_autoptr (GError) e = NULL;
    char *apkpat[] = { "nano", "cloud-*", NULL };
    char *names[] = { "nano", "cloud-init", NULL };

    ok (pat && strcmp (pat[0], "sh") == 0 && strstr (pat[2], "rpm -qa") && strcmp (pat[4], "cloud-*") == 0,
        "rpm: a pattern is asked with rpm -qa, as an argument, not in the script");
    ok (kiln_package_is_pattern ("cloud-*") && kiln_package_is_pattern ("py?") &&
        !kiln_package_is_pattern ("libstdc++6"), "glob characters make a pattern");
    ok (kiln_packages_check_patterns ("apk", apkpat, &e) == -1 && e && strstr (e->message, "'cloud-*'") &&
        e->code == KILN_ERROR_USAGE, "apk: a pattern is refused, naming it, as a usage error");
    g_clear_error (&e);
    ok (kiln_packages_check_patterns ("pacman", apkpat, NULL) == -1, "pacman: refused too");
    ok (kiln_packages_check_patterns ("pacman", names, NULL) == 0, "exact names pass");
    ok (kiln_packages_check_patterns ("apt", apkpat, NULL) == 0 &&
        kiln_packages_check_patterns ("dnf", apkpat, NULL) == 0, "apt and dnf expand patterns themselves");
  }
  ok (kiln_packages_is_installed ("dnf", 0, empty), "rpm: exit 0 is installed");
  ok (!kiln_packages_is_installed ("dnf", 1, empty), "rpm: exit 1 is not");

  /* Install refreshes the lists first where the manager needs it. */
  {
    char *pkgs[] = { (char *) "vim", NULL };
    const struct { const char *pm; bool refresh; enum kiln_pkg_op op; const char *want; } c[] = {
      { "apt", true, KILN_PKG_INSTALL, "apt-get update | apt-get install vim" },
      { "apt", false, KILN_PKG_INSTALL, "apt-get install vim" },
      { "apt", true, KILN_PKG_UNINSTALL, "apt-get remove --purge vim" },
      { "apk", true, KILN_PKG_INSTALL, "apk update | apk add vim" },
      { "apk", false, KILN_PKG_INSTALL, "apk add vim" },
      { "apk", true, KILN_PKG_UNINSTALL, "apk del vim" },
      { "pacman", true, KILN_PKG_INSTALL, "pacman --noconfirm -Syu --needed vim" },
      { "pacman", false, KILN_PKG_INSTALL, "pacman --noconfirm -S --needed vim" },
      { "pacman", true, KILN_PKG_UNINSTALL, "pacman --noconfirm -R vim" },
      { "dnf", true, KILN_PKG_INSTALL, "dnf -y install vim" },
      { "dnf", true, KILN_PKG_UNINSTALL, "dnf -y remove vim" },
      { "zypper", true, KILN_PKG_INSTALL, "zypper -n install vim" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS (c); i++) {
      g_autoptr (GPtrArray) cmds = kiln_packages_commands (c[i].pm, c[i].op, pkgs, c[i].refresh, NULL);
      g_autoptr (GString) got = g_string_new (NULL);

      for (guint j = 0; cmds && j < cmds->len; j++) {
        g_autofree char *line = g_strjoinv (" ", cmds->pdata[j]);
        /* apt's fixed options are not the point here. */
        char *apt = strstr (line, "apt-get");
        const char *verb = apt ? strstr (apt, "-o Dpkg::Options::=--force-confold ") : NULL;

        if (j > 0)
          g_string_append (got, " | ");
        if (apt && verb)
          g_string_append_printf (got, "apt-get %s", verb + strlen ("-o Dpkg::Options::=--force-confold "));
        else
          g_string_append (got, line);
      }
      is_str (got->str, c[i].want, "%s, %s%s", c[i].pm,
              c[i].op == KILN_PKG_INSTALL ? "install" : "uninstall",
              c[i].refresh ? ", lists not yet refreshed" : "");
    }
  }
  return done_testing ();
}
