/* test-access.c: lib/access.c, whether the hypervisor's user can reach a
 * backing chain, and kiln_mkdir_p's modes under a strict umask. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "tap.h"
#include "kiln.h"
#include "access.h"
#include "fileio.h"
#include "virt.h"

int
main (void)
{
  g_autofree char *top = g_dir_make_tmp ("kiln-access-XXXXXX", NULL);
  g_autofree char *cache = g_build_filename (top, "cache", "images", NULL);
  g_autofree char *file = g_build_filename (cache, "sha512-x", NULL);
  g_autoptr (GPtrArray) files = g_ptr_array_new ();
  g_autoptr (GError) err = NULL;
  struct stat st;
  uid_t nobody = 65534;
  gid_t nogroup = 65534;

  /* The directories kiln makes are searchable whatever the umask. */
  umask (077);
  chmod (top, 0755);
  ok (kiln_mkdir_p (cache, 0755, NULL) == 0, "mkdir -p under umask 077");
  ok (stat (cache, &st) == 0 && (st.st_mode & 07777) == 0755, "images/ is 0755");
  {
    g_autofree char *mid = g_path_get_dirname (cache);
    ok (stat (mid, &st) == 0 && (st.st_mode & 07777) == 0755, "and so is the parent it made");
  }
  g_file_set_contents (file, "x", 1, NULL);
  g_ptr_array_add (files, file);

  ok (kiln_user_check_reach (files, nobody, nogroup, NULL) == 0, "another user can reach the file");

  /* A directory on the way that only its owner can search. */
  {
    g_autofree char *mid = g_path_get_dirname (cache);

    chmod (mid, 0700);
    ok (kiln_user_check_reach (files, nobody, nogroup, &err) == -1, "a 0700 directory blocks it");
    ok (err && strstr (err->message, mid) && strstr (err->message, "chmod o+x") &&
        strstr (err->message, "0700"), "the error names the directory, its mode and the fix: %s",
        err ? err->message : "");
    g_clear_error (&err);
    ok (kiln_user_check_reach (files, 0, 0, NULL) == 0, "root reaches it anyway");
    ok (kiln_user_check_reach (files, getuid () == 0 ? 0 : getuid (), getgid (), NULL) == 0,
        "the owner reaches it");
    chmod (mid, 0710);
    stat (mid, &st);
    ok (kiln_user_can_search (&st, nobody, st.st_gid), "group search bit for the directory's group");
    ok (!kiln_user_can_search (&st, nobody, nogroup), "not for another group");
    chmod (mid, 0711);
    ok (kiln_user_check_reach (files, nobody, nogroup, NULL) == 0, "o+x is enough");
  }

  /* Drivers that run domains as the caller have no DAC base label. */
  {
    virConnectPtr conn;
    uid_t u;
    gid_t g;

    kiln_virt_quiet ();
    conn = virConnectOpen ("test:///default");
    ok (conn && kiln_hypervisor_user (conn, &u, &g, NULL) == 0, "test driver: no hypervisor user");
    ok (conn && kiln_hypervisor_check_reach (conn, files, NULL) == 0, "so nothing to check");
    if (conn)
      virConnectClose (conn);
  }

  /* Confinement: the security drivers come from the capabilities. */
  {
    const char *caps =
      "<capabilities><host><uuid>x</uuid>"
      "<secmodel><model>apparmor</model><doi>0</doi></secmodel>"
      "<secmodel><model>dac</model><doi>0</doi>"
      "<baselabel type='kvm'>+64055:+64055</baselabel></secmodel>"
      "</host></capabilities>";

    is_int (kiln_secmodels_of_caps (caps), KILN_SECMODEL_APPARMOR | KILN_SECMODEL_DAC,
            "apparmor and dac read from the capabilities");
    is_int (kiln_secmodels_of_caps ("<capabilities><host><secmodel><model>selinux</model>"
                                    "</secmodel></host></capabilities>"),
            KILN_SECMODEL_SELINUX, "selinux");
    is_int (kiln_secmodels_of_caps ("<capabilities><host/></capabilities>"), 0, "none");
    is_int (kiln_secmodels_of_caps ("not xml"), 0, "not XML: none");
  }
  /* AppArmor: virt-aa-helper's restricted list, on the resolved path. */
  ok (kiln_apparmor_refused_prefix ("/etc/kiln/t.qcow2", true) != NULL, "/etc/ refused");
  ok (kiln_apparmor_refused_prefix ("/usr/lib/x/t.qcow2", true) != NULL, "/usr/lib refused");
  ok (kiln_apparmor_refused_prefix ("/lib64/t.qcow2", true) != NULL, "/lib64 refused (a /lib prefix)");
  is_str (kiln_apparmor_refused_prefix ("/boot/t.qcow2", false), "/boot/", "/boot/ refused for a writable disk");
  ok (kiln_apparmor_refused_prefix ("/boot/t.qcow2", true) == NULL, "but allowed for a read-only backing file");
  ok (kiln_apparmor_refused_prefix ("/var/lib/libvirt/images/t.qcow2", false) == NULL, "/var/lib/libvirt/images allowed");
  ok (kiln_apparmor_refused_prefix ("/var/tmp/kiln/cache/images/sha512-x", true) == NULL, "the cache allowed");
  ok (kiln_apparmor_refused_prefix ("/etcetera/t.qcow2", false) == NULL, "/etcetera is not /etc/");
  ok (kiln_apparmor_refused_prefix ("/usr/share/OVMF/OVMF_VARS.fd", true) == NULL,
      "firmware under /usr/share allowed read-only, as virt-aa-helper does");
  ok (kiln_apparmor_refused_prefix ("/usr/share/OVMF/OVMF_VARS.fd", false) != NULL, "but not writable");
  ok (kiln_apparmor_refused_prefix ("/etc/libvirt-sandbox/services/x/disk", false) == NULL,
      "virt-aa-helper's overrides allowed");
  is_str (kiln_apparmor_refused_prefix ("/var/lib/libvirt/images/a\"b.qcow2", false), "\"",
          "a path with a double quote is refused anywhere");
  {
    /* A clone's disk is checked before it exists: judged where it will be. */
    g_autofree char *link = g_build_filename (top, "etc-link", NULL);
    g_autofree char *future = g_build_filename (link, "new-clone.qcow2", NULL);
    g_autoptr (GPtrArray) chain = g_ptr_array_new ();

    ok (symlink ("/etc", link) == 0, "a directory link into /etc");
    g_ptr_array_add (chain, future);
    ok (kiln_confinement_check (KILN_SECMODEL_APPARMOR, chain, &err) == -1,
        "a disk yet to be made through a link into /etc/ is refused under AppArmor");
    ok (err && strstr (err->message, "/etc/new-clone.qcow2"), "the error says where it resolves: %s",
        err ? err->message : "");
    g_clear_error (&err);
    unlink (link);
  }
  {
    g_autofree char *link = g_build_filename (top, "via-link.qcow2", NULL);
    g_autoptr (GPtrArray) chain = g_ptr_array_new ();

    ok (symlink ("/etc/hostname", link) == 0, "a link into /etc");
    g_ptr_array_add (chain, file);
    ok (kiln_confinement_check (KILN_SECMODEL_APPARMOR, chain, NULL) == 0, "a chain in a temp dir passes AppArmor");
    g_ptr_array_add (chain, link);
    ok (kiln_confinement_check (KILN_SECMODEL_DAC, chain, NULL) == 0, "DAC alone has no path rule");
    ok (kiln_confinement_check (KILN_SECMODEL_APPARMOR, chain, &err) == -1,
        "a backing file that resolves into /etc/ is refused under AppArmor");
    ok (err && strstr (err->message, link) && strstr (err->message, "/etc/hostname") &&
        strstr (err->message, "virt-aa-helper"), "the error names the file, where it resolves and why: %s",
        err ? err->message : "");
    g_clear_error (&err);
    ok (kiln_confinement_check (KILN_SECMODEL_SELINUX, chain, NULL) == 0,
        "SELinux: local file systems keep labels");
    unlink (link);
  }
  /* SELinux: file systems without labels need virt_use_*. */
  is_str (kiln_selinux_fs_boolean (0x6969), "virt_use_nfs", "NFS needs virt_use_nfs");
  is_str (kiln_selinux_fs_boolean (0xFF534D42), "virt_use_samba", "CIFS needs virt_use_samba");
  is_str (kiln_selinux_fs_boolean (0x65735546), "virt_use_fusefs", "FUSE needs virt_use_fusefs");
  ok (kiln_selinux_fs_boolean (0xEF53) == NULL, "ext4 keeps labels");
  ok (kiln_selinux_fs_boolean (0x58465342) == NULL, "XFS keeps labels");

  unlink (file);
  {
    g_autofree char *mid = g_path_get_dirname (cache);
    rmdir (cache);
    rmdir (mid);
  }
  rmdir (top);
  return done_testing ();
}
