/* access.c: the hypervisor's user and the directories it must search
 * (see access.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "access.h"
#include "qcow2.h"
#include "virt.h"

/* What the capabilities XML CAPS says: the DAC base label's uid and gid
 * (returns 1 and fills them, 0 when there is none) and the security drivers
 * in *MODELS (KILN_SECMODEL_*).  -1 when CAPS is not XML. */
static int
parse_caps (const char *caps, uid_t *uid, gid_t *gid, unsigned *models)
{
  g_autofree char *label = NULL;
  xmlDocPtr doc;
  xmlXPathContextPtr xp;
  xmlXPathObjectPtr obj;
  unsigned long u, g;
  char *end;

  *models = 0;
  doc = xmlReadMemory (caps, (int) strlen (caps), "capabilities.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL)
    return -1;
  xp = xmlXPathNewContext (doc);
  obj = xp ? xmlXPathEvalExpression ((const xmlChar *) "string(/capabilities/host/secmodel"
                                     "[model='dac']/baselabel[@type='kvm' or @type='qemu'][1])", xp)
           : NULL;
  if (obj && obj->type == XPATH_STRING && obj->stringval && obj->stringval[0])
    label = g_strdup ((const char *) obj->stringval);
  xmlXPathFreeObject (obj);
  obj = xp ? xmlXPathEvalExpression ((const xmlChar *) "/capabilities/host/secmodel/model", xp) : NULL;
  if (obj && obj->type == XPATH_NODESET && obj->nodesetval)
    for (int i = 0; i < obj->nodesetval->nodeNr; i++) {
      g_autofree xmlChar *m = xmlNodeGetContent (obj->nodesetval->nodeTab[i]);
      const char *name = (const char *) m;

      if (g_strcmp0 (name, "dac") == 0)
        *models |= KILN_SECMODEL_DAC;
      else if (g_strcmp0 (name, "selinux") == 0)
        *models |= KILN_SECMODEL_SELINUX;
      else if (g_strcmp0 (name, "apparmor") == 0)
        *models |= KILN_SECMODEL_APPARMOR;
    }
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (xp);
  xmlFreeDoc (doc);
  if (label == NULL)
    return 0;
  /* "+64055:+64055" */
  errno = 0;
  u = strtoul (label + (label[0] == '+'), &end, 10);
  if (errno || *end != ':')
    return 0;
  g = strtoul (end + 1 + (end[1] == '+'), &end, 10);
  if (errno || *end != '\0')
    return 0;
  *uid = (uid_t) u;
  *gid = (gid_t) g;
  return 1;
}

unsigned
kiln_secmodels_of_caps (const char *caps)
{
  uid_t u;
  gid_t g;
  unsigned models = 0;

  parse_caps (caps, &u, &g, &models);
  return models;
}

/* The capabilities of CONN, parsed: see parse_caps. */
static int
conn_caps (virConnectPtr conn, uid_t *uid, gid_t *gid, unsigned *models, GError **err)
{
  g_autofree char *caps = virConnectGetCapabilities (conn);
  int r;

  if (caps == NULL) {
    kiln_virt_set_error (err, "cannot read the hypervisor's capabilities");
    return -1;
  }
  if ((r = parse_caps (caps, uid, gid, models)) == -1)
    g_set_error (err, KILN_ERROR, KILN_ERROR_LIBVIRT, "malformed capabilities XML from libvirt");
  return r;
}

int
kiln_hypervisor_user (virConnectPtr conn, uid_t *uid, gid_t *gid, GError **err)
{
  unsigned models;

  return conn_caps (conn, uid, gid, &models, err);
}

bool
kiln_user_can_search (const struct stat *st, uid_t uid, gid_t gid)
{
  struct passwd pw, *res = NULL;
  char buf[4096];

  if (uid == 0)
    return true;
  if (st->st_uid == uid)
    return (st->st_mode & S_IXUSR) != 0;
  if (st->st_gid == gid)
    return (st->st_mode & S_IXGRP) != 0;
  if (st->st_mode & S_IXGRP) {
    /* The user's groups, looked up once per user (NSS reads /etc/passwd
     * and /etc/group, or asks a directory service, on every call). */
    static GMutex lock;
    static uid_t memo_uid = (uid_t) -1;
    static gid_t memo_gid, memo_groups[256];
    static int memo_n = -1;
    bool member = false;

    g_mutex_lock (&lock);
    if (memo_uid != uid || memo_gid != gid) {
      memo_n = -1;
      if (getpwuid_r (uid, &pw, buf, sizeof buf, &res) == 0 && res) {
        int n = G_N_ELEMENTS (memo_groups);

        if (getgrouplist (pw.pw_name, gid, memo_groups, &n) != -1)
          memo_n = n;
      }
      memo_uid = uid;
      memo_gid = gid;
    }
    for (int i = 0; i < memo_n; i++)
      if (memo_groups[i] == st->st_gid)
        member = true;
    g_mutex_unlock (&lock);
    if (member)
      return true;
  }
  return (st->st_mode & S_IXOTH) != 0;
}

static char *
user_name (uid_t uid)
{
  struct passwd pw, *res = NULL;
  char buf[4096];

  if (getpwuid_r (uid, &pw, buf, sizeof buf, &res) == 0 && res)
    return g_strdup (pw.pw_name);
  return g_strdup_printf ("uid %u", (unsigned) uid);
}

int
kiln_user_check_reach (GPtrArray *files, uid_t uid, gid_t gid, GError **err)
{
  for (guint i = 0; i < files->len; i++) {
    const char *file = files->pdata[i];
    g_autofree char *dir = g_path_get_dirname (file);

    /* Every directory from the file's up to the root. */
    for (;;) {
      struct stat st;
      g_autofree char *parent = NULL;

      if (stat (dir, &st) == 0 && !kiln_user_can_search (&st, uid, gid)) {
        g_autofree char *who = user_name (uid);
        g_autofree char *owner = user_name (st.st_uid);

        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "libvirt runs domains as %s, which cannot reach %s: directory %s "
                     "(owner %s, mode %04o) is not searchable by it; run "
                     "'chmod o+x %s' (or 'setfacl -m u:%s:x %s'), or keep the images "
                     "under a directory it can reach", who, file, dir, owner,
                     (unsigned) (st.st_mode & 07777), dir, who, dir);
        return -1;
      }
      if (strcmp (dir, "/") == 0 || strcmp (dir, ".") == 0)
        break;
      parent = g_path_get_dirname (dir);
      g_free (dir);
      dir = g_steal_pointer (&parent);
    }
  }
  return 0;
}

/* Where virt-aa-helper (libvirt's AppArmor driver) refuses a disk: it
 * writes no rule for a file under these, so qemu is denied it at start. */
static const char *const aa_restricted[] = {
  "/bin/", "/etc/", "/lib", "/lost+found/", "/proc/", "/sbin/", "/selinux/", "/sys/",
  "/usr/bin/", "/usr/lib", "/usr/sbin/", "/usr/share/", "/usr/local/bin/",
  "/usr/local/etc/", "/usr/local/lib", "/usr/local/sbin/", NULL
};
/* Refused for a writable disk only (a backing file is opened read-only):
 * the kernels and the firmware directories under the lists above. */
static const char *const aa_restricted_rw[] = {
  "/boot/", "/vmlinuz", "/initrd", "/usr/share/edk2/", "/usr/share/OVMF/", "/usr/share/ovmf/",
  "/usr/share/AAVMF/", "/usr/share/qemu-efi/", "/usr/share/qemu-efi-aarch64/", "/usr/share/qemu/",
  "/usr/lib/u-boot/", "/usr/lib/riscv64-linux-gnu/opensbi", NULL
};
/* Allowed whatever the lists above say. */
static const char *const aa_override[] = {
  "/sys/devices/pci", "/sys/kernel/config/target/vhost", "/etc/libvirt-sandbox/services/", NULL
};

static bool
has_any_prefix (const char *path, const char *const *prefixes)
{
  for (int i = 0; prefixes[i]; i++)
    if (g_str_has_prefix (path, prefixes[i]))
      return true;
  return false;
}

const char *
kiln_apparmor_refused_prefix (const char *path, bool readonly)
{
  /* A double quote would end the rule's quoted path: never allowed. */
  if (strchr (path, '"'))
    return "\"";
  if (has_any_prefix (path, aa_override) || (readonly && has_any_prefix (path, aa_restricted_rw)))
    return NULL;
  for (int i = 0; aa_restricted[i]; i++)
    if (g_str_has_prefix (path, aa_restricted[i]))
      return aa_restricted[i];
  if (!readonly)
    for (int i = 0; aa_restricted_rw[i]; i++)
      if (g_str_has_prefix (path, aa_restricted_rw[i]))
        return aa_restricted_rw[i];
  return NULL;
}

const char *
kiln_selinux_fs_boolean (unsigned long f_type)
{
  switch (f_type) {
  case 0x6969:                  /* NFS */
    return "virt_use_nfs";
  case 0xFF534D42:              /* CIFS */
  case 0xFE534D42:              /* SMB2 */
    return "virt_use_samba";
  case 0x65735546:              /* FUSE */
    return "virt_use_fusefs";
  default:
    return NULL;
  }
}

/* Is SELinux boolean NAME on, as selinuxfs says ("1 1")? */
static bool
selinux_boolean_on (const char *name)
{
  g_autofree char *path = g_build_filename ("/sys/fs/selinux/booleans", name, NULL);
  g_autofree char *v = NULL;

  return g_file_get_contents (path, &v, NULL, NULL) && v[0] == '1';
}

/* PATH as virt-aa-helper resolves it: the longest part of it that exists,
 * resolved (realpath), then the rest as it is (a clone's disk is checked
 * before it is made).  *EXISTING (if not NULL) gets that part, NULL when
 * nothing exists.  The caller frees both. */
static char *
resolve_existing (const char *path, char **existing)
{
  g_autofree char *dir = g_strdup (path);

  for (;;) {
    g_autofree char *real = NULL;
    g_autofree char *parent = NULL;

    if ((real = realpath (dir, NULL)) != NULL) {
      if (existing)
        *existing = g_strdup (dir);
      return g_build_filename (real, path + strlen (dir), NULL);
    }
    parent = g_path_get_dirname (dir);
    if (strcmp (parent, dir) == 0) {
      if (existing)
        *existing = NULL;
      return g_strdup (path);
    }
    g_free (dir);
    dir = g_steal_pointer (&parent);
  }
}

int
kiln_confinement_check (unsigned models, GPtrArray *files, GError **err)
{
  for (guint i = 0; i < files->len; i++) {
    const char *file = files->pdata[i];
    bool readonly = i > 0;

    if (models & KILN_SECMODEL_APPARMOR) {
      /* virt-aa-helper judges the resolved path (of the part that
       * exists: a clone's disk is checked before it is made). */
      g_autofree char *real = resolve_existing (file, NULL);
      const char *where = kiln_apparmor_refused_prefix (real, readonly);

      if (where && strcmp (where, "\"") == 0) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "libvirt confines domains with AppArmor, and its profile helper "
                     "(virt-aa-helper) refuses a disk whose path holds a double quote: "
                     "%s is refused at virsh start; rename it", real);
        return -1;
      }
      if (where) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "libvirt confines domains with AppArmor, and its profile helper "
                     "(virt-aa-helper) allows no %sdisk under %s: %s%s%s is refused at "
                     "virsh start; keep the images elsewhere (for example under "
                     "/var/lib/libvirt/images or the cache directory)",
                     readonly ? "" : "writable ", where, file, real && strcmp (real, file) ? " -> " : "",
                     real && strcmp (real, file) ? real : "");
        return -1;
      }
    }
    if (models & KILN_SECMODEL_SELINUX) {
      /* libvirt labels every file of the chain (svirt_image_t on the disk,
       * virt_content_t below it); a file system without labels needs the
       * boolean that lets svirt_t use it anyway. */
      struct statfs sf;
      const char *boolean;
      g_autofree char *existing = NULL;
      g_autofree char *real = resolve_existing (file, &existing);

      if (existing && statfs (existing, &sf) == 0 && (boolean = kiln_selinux_fs_boolean ((unsigned long) sf.f_type)) &&
          !selinux_boolean_on (boolean)) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "libvirt confines domains with SELinux and %s is on a file system "
                     "without SELinux labels, which confined qemu may use only with the "
                     "boolean %s on: run 'setsebool -P %s 1', or keep the images on a "
                     "local file system", file, boolean, boolean);
        return -1;
      }
    }
  }
  return 0;
}

int
kiln_hypervisor_get (virConnectPtr conn, struct kiln_hypervisor *hv, GError **err)
{
  int r;

  memset (hv, 0, sizeof *hv);
  r = conn_caps (conn, &hv->uid, &hv->gid, &hv->models, err);
  if (r == -1)
    return -1;
  hv->dac = r == 1;
  return 0;
}

int
kiln_hypervisor_check_reach_as (const struct kiln_hypervisor *hv, GPtrArray *files,
                                GError **err)
{
  if (hv->dac && kiln_user_check_reach (files, hv->uid, hv->gid, err) == -1)
    return -1;
  return kiln_confinement_check (hv->models, files, err);
}

int
kiln_hypervisor_check_reach (virConnectPtr conn, GPtrArray *files, GError **err)
{
  struct kiln_hypervisor hv;

  if (kiln_hypervisor_get (conn, &hv, err) == -1)
    return -1;
  return kiln_hypervisor_check_reach_as (&hv, files, err);
}

int
kiln_hypervisor_check_chain (virConnectPtr conn, const char *image, GError **err)
{
  g_autoptr (GPtrArray) chain = kiln_image_chain (image, err);

  if (chain == NULL)
    return -1;
  return kiln_hypervisor_check_reach (conn, chain, err);
}
