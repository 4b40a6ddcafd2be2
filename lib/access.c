/* access.c: the hypervisor's user and the directories it must search
 * (see access.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "access.h"
#include "qcow2.h"
#include "virt.h"

int
kiln_hypervisor_user (virConnectPtr conn, uid_t *uid, gid_t *gid, GError **err)
{
  g_autofree char *caps = virConnectGetCapabilities (conn);
  g_autofree char *label = NULL;
  xmlDocPtr doc;
  xmlXPathContextPtr xp;
  xmlXPathObjectPtr obj;
  unsigned long u, g;
  char *end;

  if (caps == NULL) {
    kiln_virt_set_error (err, "cannot read the hypervisor's capabilities");
    return -1;
  }
  doc = xmlReadMemory (caps, (int) strlen (caps), "capabilities.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_LIBVIRT, "malformed capabilities XML from libvirt");
    return -1;
  }
  xp = xmlXPathNewContext (doc);
  obj = xp ? xmlXPathEvalExpression ((const xmlChar *) "string(/capabilities/host/secmodel"
                                     "[model='dac']/baselabel[@type='kvm' or @type='qemu'][1])", xp)
           : NULL;
  if (obj && obj->type == XPATH_STRING && obj->stringval && obj->stringval[0])
    label = g_strdup ((const char *) obj->stringval);
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
  if ((st->st_mode & S_IXGRP) && getpwuid_r (uid, &pw, buf, sizeof buf, &res) == 0 && res) {
    gid_t groups[256];
    int n = G_N_ELEMENTS (groups);

    if (getgrouplist (pw.pw_name, gid, groups, &n) != -1)
      for (int i = 0; i < n; i++)
        if (groups[i] == st->st_gid)
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

int
kiln_hypervisor_check_reach (virConnectPtr conn, GPtrArray *files, GError **err)
{
  uid_t uid;
  gid_t gid;
  int r = kiln_hypervisor_user (conn, &uid, &gid, err);

  if (r <= 0)
    return r;
  return kiln_user_check_reach (files, uid, gid, err);
}

int
kiln_hypervisor_check_chain (virConnectPtr conn, const char *image, GError **err)
{
  g_autoptr (GPtrArray) chain = kiln_image_chain (image, err);

  if (chain == NULL)
    return -1;
  return kiln_hypervisor_check_reach (conn, chain, err);
}
