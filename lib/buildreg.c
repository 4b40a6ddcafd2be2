/* buildreg.c: the commit of kiln build, a transaction (see build.h):
 * the image, its manifest, the libvirt networks a recipe names, the
 * template domain and its clones, through the same library calls as kiln
 * register and kiln clone.  Everything that can be made beforehand is
 * (the image and manifest under temporary names, the template's XML);
 * what the commit replaces is kept aside (files as hard links, the old
 * template as its XML) until the whole commit has succeeded, and put back
 * exactly when any step fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libxml/tree.h>
#include <libvirt/virterror.h>

#include "boot.h"
#include "build.h"
#include "clone.h"
#include "console.h"
#include "domain.h"
#include "event.h"
#include "fault.h"
#include "fileio.h"
#include "recipe.h"
#include "password.h"
#include "register.h"
#include "qcow2.h"
#include "secret.h"
#include "storage.h"
#include "virt.h"

/* The seed article's network XML, built from the recipe's fields:
 * {name, bridge, address: A.B.C.D/NN, dhcp: FIRST-LAST, forward: none|nat}. */
static char *
network_xml (const struct kiln_recipe_network *n, GError **err)
{
  xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
  xmlNodePtr net = xmlNewNode (NULL, BAD_CAST "network");
  xmlChar *buf = NULL;
  int len = 0;
  char *out;

  xmlDocSetRootElement (doc, net);
  xmlNewTextChild (net, NULL, BAD_CAST "name", BAD_CAST n->name);
  if (n->forward && strcmp (n->forward, "none") != 0) {
    xmlNodePtr fwd = xmlNewChild (net, NULL, BAD_CAST "forward", NULL);

    xmlNewProp (fwd, BAD_CAST "mode", BAD_CAST n->forward);
  }
  if (n->bridge) {
    xmlNodePtr br = xmlNewChild (net, NULL, BAD_CAST "bridge", NULL);

    xmlNewProp (br, BAD_CAST "name", BAD_CAST n->bridge);
    xmlNewProp (br, BAD_CAST "stp", BAD_CAST "on");
    xmlNewProp (br, BAD_CAST "delay", BAD_CAST "0");
  }
  if (n->address) {
    g_auto (GStrv) parts = g_strsplit (n->address, "/", 2);
    xmlNodePtr ip = xmlNewChild (net, NULL, BAD_CAST "ip", NULL);

    if (parts[0] == NULL || parts[1] == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "network %s: address '%s' is not ADDRESS/PREFIX", n->name, n->address);
      xmlFreeDoc (doc);
      return NULL;
    }
    xmlNewProp (ip, BAD_CAST "address", BAD_CAST parts[0]);
    xmlNewProp (ip, BAD_CAST "prefix", BAD_CAST parts[1]);
    if (n->dhcp) {
      g_auto (GStrv) range = g_strsplit (n->dhcp, "-", 2);
      xmlNodePtr dhcp, r;

      if (range[0] == NULL || range[1] == NULL) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                     "network %s: dhcp '%s' is not FIRST-LAST", n->name, n->dhcp);
        xmlFreeDoc (doc);
        return NULL;
      }
      dhcp = xmlNewChild (ip, NULL, BAD_CAST "dhcp", NULL);
      r = xmlNewChild (dhcp, NULL, BAD_CAST "range", NULL);
      xmlNewProp (r, BAD_CAST "start", BAD_CAST range[0]);
      xmlNewProp (r, BAD_CAST "end", BAD_CAST range[1]);
    }
  }
  xmlDocDumpFormatMemory (doc, &buf, &len, 1);
  out = g_strndup ((const char *) buf, len);
  xmlFree (buf);
  xmlFreeDoc (doc);
  return out;
}

/* ------------------------------------------------------------ state */

/* A file the commit publishes (TMP -> FINAL) or removes (TMP NULL). */
struct txn_file {
  char *tmp, *final;
  const char *step;             /* KILN_FAULT step of its publication */
  char *aside;                  /* the previous FINAL, hard-linked aside */
  bool published;               /* FINAL is now the new file (or gone) */
};

/* What the commit has done so far, for the undo. */
struct txn {
  const struct kiln_ctx *ctx;
  virConnectPtr conn;
  GArray *files;                /* struct txn_file */
  GPtrArray *networks;          /* virNetworkPtr this build defined */
  GPtrArray *extra_aside;       /* struct txn_file: the old template's
                                   extra disks, moved aside (tmp unused) */
  const char *tname;
  char *old_xml;                /* the previous template, undefined */
  bool old_undefined, new_defined;
  GPtrArray *extra_made;        /* char *: extra disks of the new template */
  GPtrArray *clones;            /* struct kiln_clone_made *, made */
  /* template.pool: the image goes up into a pool of the connection. */
  char *flat;                   /* the flattened temporary uploaded, or NULL */
  char *vol_name;               /* the new template's volume */
  virStorageVolPtr vol;         /* it, once uploaded */
  const char *pool;             /* the recipe's template.pool, or NULL */
  char *old_vol;                /* the previous template's volume (--force),
                                   deleted once the commit succeeded */
};

/* A name beside FINAL for its previous version: ".BASE.kiln-old-XXXXXX".
 * Not a registered temporary: a signal handler must not remove the only
 * copy of an image a domain uses. */
static char *
aside_name (const char *final, GError **err)
{
  g_autofree char *dir = g_path_get_dirname (final), *base = g_path_get_basename (final);
  g_autofree char *path = g_strdup_printf ("%s/.%s.kiln-old-XXXXXX", dir, base);
  int fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);

  if (fd == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot create a file in %s: %s",
                 dir, g_strerror (errno));
    return NULL;
  }
  close (fd);
  unlink (path);
  return g_steal_pointer (&path);
}

/* Keep F->final's present version as F->aside.  A hard link leaves FINAL
 * in place (a crash now leaves it as it was); a filesystem without hard
 * links gets a rename (FINAL is then missing until the publish). */
static int
keep_aside (struct txn_file *f, bool move, GError **err)
{
  struct stat st;

  if (lstat (f->final, &st) == -1)
    return 0;
  f->aside = aside_name (f->final, err);
  if (f->aside == NULL)
    return -1;
  if ((move || link (f->final, f->aside) == -1) && rename (f->final, f->aside) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot keep %s aside: %s", f->final,
                 g_strerror (errno));
    g_clear_pointer (&f->aside, g_free);
    return -1;
  }
  return 0;
}

/* Put F's previous version back (or remove what the commit made). */
static void
undo_file (struct txn_file *f)
{
  if (f->tmp) {
    kiln_temp_discard (f->tmp);
    g_clear_pointer (&f->tmp, g_free);
  }
  if (f->aside) {
    struct stat st;

    /* Still linked as FINAL when the publish never happened. */
    if (!f->published && lstat (f->final, &st) == 0)
      unlink (f->aside);
    else
      rename (f->aside, f->final);
  } else if (f->published) {
    unlink (f->final);
  }
  g_clear_pointer (&f->aside, g_free);
}

static void
txn_file_clear (struct txn_file *f)
{
  if (f->tmp)
    kiln_temp_discard (f->tmp);
  g_free (f->tmp);
  g_free (f->final);
  g_free (f->aside);
}

/* Take F->final away (kept aside) before the commit's first step, so
 * that a file published last (the manifest) never describes an image it
 * was not made with, not even after a crash. */
static int
withdraw_file (struct txn_file *f, GError **err)
{
  return keep_aside (f, true, err);
}

/* Publish F (or remove FINAL when F has no TMP); FINAL's previous version
 * is kept aside first unless withdraw_file did. */
static int
publish_file (struct txn_file *f, GError **err)
{
  struct stat st;

  if (f->aside == NULL && keep_aside (f, f->tmp == NULL, err) == -1)
    return -1;
  if (kiln_fault_check (f->step, err) == -1)
    return -1;
  if (f->tmp == NULL) {
    f->published = f->aside != NULL;
    return 0;
  }
  if (kiln_temp_publish (f->tmp, f->final, lstat (f->final, &st) == 0 && f->aside, err) == -1) {
    g_clear_pointer (&f->tmp, g_free);      /* kiln_temp_publish removed it */
    return -1;
  }
  g_clear_pointer (&f->tmp, g_free);
  f->published = true;
  return 0;
}

/* ------------------------------------------------------------ networks */

/* Define and start the networks the recipe names that do not exist yet;
 * an existing network of that name is used as it is. */
static int
ensure_networks (struct txn *t, const struct kiln_recipe *r, GError **err)
{
  virConnectPtr conn = t->conn;

  for (guint i = 0; i < r->networks->len; i++) {
    const struct kiln_recipe_network *n = r->networks->pdata[i];
    virNetworkPtr net = virNetworkLookupByName (conn, n->name);
    g_autofree char *xml = NULL;

    if (net) {
      kiln_event_info ("network", "network %s exists; using it as it is", n->name);
      if (!virNetworkIsActive (net) && virNetworkCreate (net) < 0) {
        kiln_virt_set_error (err, "cannot start network %s", n->name);
        virNetworkFree (net);
        return -1;
      }
      virNetworkFree (net);
      continue;
    }
    xml = network_xml (n, err);
    if (xml == NULL)
      return -1;
    net = virNetworkDefineXML (conn, xml);
    if (net == NULL) {
      kiln_virt_set_error (err, "cannot define network %s", n->name);
      return -1;
    }
    if (virNetworkCreate (net) < 0 || virNetworkSetAutostart (net, 1) < 0) {
      kiln_virt_set_error (err, "cannot start network %s", n->name);
      virNetworkUndefine (net);
      virNetworkFree (net);
      return -1;
    }
    kiln_event_info ("network", "defined and started network %s", n->name);
    g_ptr_array_add (t->networks, net);
  }
  return kiln_fault_check ("networks", err);
}

/* ------------------------------------------------------------ precondition */

/* CTX with the recipe's template.connect as its URI, if it names one:
 * the template and clones are published there (the image is built where
 * kiln runs). */
static struct kiln_ctx
publish_ctx (const struct kiln_ctx *ctx, const struct kiln_recipe *r)
{
  struct kiln_ctx c = *ctx;

  if (r->template_connect)
    c.connect_uri = r->template_connect;
  return c;
}


static const char *
template_name (const struct kiln_recipe *r)
{
  return r->template_name ? r->template_name : r->name;
}

/* See kiln_build_check.  *OLD (may be NULL): whether the template exists. */
static int
check (const struct kiln_ctx *ctx, virConnectPtr conn, const struct kiln_recipe *r, bool force,
       bool *old, GError **err)
{
  const char *name = template_name (r);
  virDomainPtr dom;

  if (old)
    *old = false;
  if (!r->template && r->clones == NULL)
    return 0;
  dom = virDomainLookupByName (conn, name);
  if (dom) {
    g_autoptr (GPtrArray) deps = NULL;
    int rc = 0;

    if (!force) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                   "a domain named '%s' exists already (kiln build --force replaces it)", name);
      rc = -1;
    } else {
      rc = kiln_domain_require_shutoff (dom, "replace", err);
    }
    virDomainFree (dom);
    if (rc == -1)
      return -1;
    deps = kiln_clone_dependents (ctx, name, err);
    if (deps == NULL)
      return -1;
    if (deps->len > 0) {
      g_autofree char *list = kiln_domain_name_list (deps);

      g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                   "template '%s' has linked clones (%s): its image stays as it is; remove "
                   "them before rebuilding it", name, list);
      return -1;
    }
    if (old)
      *old = true;
  }
  for (char **c = r->clones; c && *c; c++)
    if (kiln_domain_exists (conn, *c)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                   "a domain named '%s' exists already, and kiln build makes its clones anew "
                   "(even with --force): remove it first", *c);
      return -1;
    }
  return 0;
}

int
kiln_build_check_target (const struct kiln_ctx *ctx, const struct kiln_recipe *r, GError **err)
{
  struct kiln_ctx pctx = publish_ctx (ctx, r);
  const char *uri = kiln_default_uri (&pctx);

  if ((!r->template && r->clones == NULL) || kiln_virt_uri_is_local (uri))
    return 0;
  if (r->template_pool == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "the template goes to %s, a remote connection (%s): add template.pool: POOL "
                 "to the recipe (the built image is uploaded into that storage pool)", uri,
                 kiln_virt_remote_why ());
    return -1;
  }
  if (r->test) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "the test: boot check needs a local connection (it reads the throwaway "
                 "clone's serial console here), and the template goes to %s: remove test:, "
                 "or build and check on a local connection first", uri);
    return -1;
  }
  return 0;
}

int
kiln_build_check (const struct kiln_ctx *ctx, const struct kiln_recipe *r, bool force,
                  GError **err)
{
  virConnectPtr conn;
  int rc;

  struct kiln_ctx pctx = publish_ctx (ctx, r);

  if (!r->template && r->clones == NULL)
    return 0;
  if (kiln_build_check_target (ctx, r, err) == -1)
    return -1;
  conn = kiln_virt_open (&pctx, NULL, err);
  if (conn == NULL)
    return -1;
  rc = check (&pctx, conn, r, force, NULL, err);
  virConnectClose (conn);
  return rc;
}

/* ------------------------------------------------------------ remote */

/* IMAGE as one file for the upload: *FLAT NULL when it is one already,
 * else a temporary beside it (qemu-img convert, same format) that the
 * caller discards.  An overlay's own bytes would be useless on a host
 * without its backing file. */
static int
flatten (const char *image, char **flat, GError **err)
{
  g_autoptr (GPtrArray) chain = kiln_image_chain (image, err);
  g_autofree char *fmt = NULL, *errout = NULL;
  int status = 0;

  *flat = NULL;
  if (chain == NULL)
    return -1;
  if (chain->len < 2)
    return 0;
  fmt = kiln_image_file_format (image, err);
  if (fmt == NULL || (*flat = kiln_temp_beside (image, 0600, err)) == NULL)
    return -1;
  kiln_event_info ("register", "flattening %s (an overlay on %s) for the upload", image,
                   (const char *) chain->pdata[chain->len - 1]);
  {
    const char *argv[] = { "qemu-img", "convert", "-q", "-f", fmt, "-O", fmt, image, *flat, NULL };

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                       NULL, NULL, NULL, &errout, &status, err) ||
        !g_spawn_check_wait_status (status, err)) {
      g_prefix_error (err, "cannot flatten %s: %s%s", image, errout ? g_strstrip (errout) : "",
                      errout && *errout ? ": " : "");
      return -1;
    }
  }
  return 0;
}

/* The volume of POOL the template domain XML (libvirt's own output)
 * names as its disk, or NULL. */
static char *
xml_volume (const char *xml, const char *pool)
{
  g_autofree char *pat = g_strdup_printf ("<source pool='%s' volume='", pool);
  const char *p = xml ? strstr (xml, pat) : NULL, *e;

  if (p == NULL)
    return NULL;
  p += strlen (pat);
  e = strchr (p, '\'');
  return e ? g_strndup (p, e - p) : NULL;
}

/* The new template's volume name in T->pool: NAME.FORMAT, or when a
 * volume of that name is the template being replaced (--force)
 * NAME-XXXXXX.FORMAT, so that the old one stays until the commit
 * succeeded.  Any other volume of that name: KILN_ERROR_EXISTS. */
static int
choose_volume (struct txn *t, const char *format, bool old, GError **err)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (t->conn, t->pool);
  virStorageVolPtr v;
  int rc = -1;

  if (pool == NULL) {
    kiln_virt_set_error (err, "storage pool '%s' (virsh pool-list --all shows the pools)", t->pool);
    return -1;
  }
  if (old) {
    virDomainPtr dom = virDomainLookupByName (t->conn, t->tname);
    char *xml = dom ? virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE) : NULL;

    t->old_vol = xml_volume (xml, t->pool);
    free (xml);
    if (dom)
      virDomainFree (dom);
  }
  t->vol_name = g_strdup_printf ("%s.%s", t->tname, format);
  v = virStorageVolLookupByName (pool, t->vol_name);
  if (v && g_strcmp0 (t->vol_name, t->old_vol) != 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "pool '%s' has a volume '%s' already, and no template of that name uses "
                 "it: remove it first (virsh vol-delete --pool %s %s)", t->pool, t->vol_name,
                 t->pool, t->vol_name);
    virStorageVolFree (v);
    goto out;
  }
  while (v) {
    virStorageVolFree (v);
    g_free (t->vol_name);
    t->vol_name = g_strdup_printf ("%s-%06x.%s", t->tname, g_random_int () & 0xffffff, format);
    v = virStorageVolLookupByName (pool, t->vol_name);
  }
  virResetLastError ();
  rc = 0;
out:
  virStoragePoolFree (pool);
  return rc;
}

/* Upload what the build made (flattened if need be) as T->vol_name. */
static int
upload (struct txn *t, const char *image, bool verify, GError **err)
{
  t->vol = kiln_storage_upload_image (t->ctx, t->conn, t->pool, t->vol_name,
                                      t->flat ? t->flat : image, verify, err);
  if (t->vol == NULL)
    return -1;
  kiln_event_info ("register", "uploaded into pool '%s' as '%s': size checked", t->pool,
                   t->vol_name);
  if (t->flat) {
    kiln_temp_discard (t->flat);
    g_clear_pointer (&t->flat, g_free);
  }
  return kiln_fault_check ("template-upload", err);
}

/* ------------------------------------------------------------ commit */

/* The files at the paths where the new template's extra disks will be
 * made go aside (put back by the undo), after the old template is
 * undefined: with FORCE a file that no domain uses (the old template's
 * extra disk); a disk of any other domain is refused. */
static int
extra_aside (struct txn *t, GPtrArray *paths, bool force, GError **err)
{
  for (guint i = 0; paths && i < paths->len; i++) {
    struct txn_file f = { .final = g_strdup (paths->pdata[i]) };
    g_autoptr (GPtrArray) one = g_ptr_array_new ();
    g_autoptr (GPtrArray) users = NULL;
    struct stat st;

    if (lstat (f.final, &st) == -1) {
      g_free (f.final);
      continue;
    }
    g_ptr_array_add (one, f.final);
    users = kiln_domain_users (t->conn, one, NULL, err);
    if (users == NULL) {
      g_free (f.final);
      return -1;
    }
    /* The template being replaced is undefined by now: a file that no
     * domain uses is its extra disk, or what a killed build left. */
    if (users->len > 0 || !force) {
      g_autofree char *list = kiln_domain_name_list (users);

      g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS, "%s exists already%s%s", f.final,
                   users->len ? " and is a disk of " : " (kiln build --force replaces it)",
                   users->len ? list : "");
      g_free (f.final);
      return -1;
    }
    if (keep_aside (&f, true, err) == -1) {
      g_free (f.final);
      return -1;
    }
    g_ptr_array_add (t->extra_aside, g_memdup2 (&f, sizeof f));
  }
  return 0;
}

/* Undefine the previous template, its XML kept for the undo.  Its NVRAM
 * stays: a file a domain of before uses is never removed. */
static int
undefine_old (struct txn *t, GError **err)
{
  virDomainPtr dom = kiln_virt_lookup (t->conn, t->tname, err);

  if (dom == NULL)
    return -1;
  t->old_xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (t->old_xml == NULL) {
    kiln_virt_set_error (err, "cannot read the definition of '%s'", t->tname);
    virDomainFree (dom);
    return -1;
  }
  if (virDomainUndefineFlags (dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM) == -1 &&
      virDomainUndefine (dom) == -1) {
    kiln_virt_set_error (err, "cannot undefine '%s'", t->tname);
    virDomainFree (dom);
    return -1;
  }
  virDomainFree (dom);
  t->old_undefined = true;
  return 0;
}

static void
undefine_quietly (virConnectPtr conn, const char *name)
{
  virDomainPtr dom = virDomainLookupByName (conn, name);

  if (dom) {
    kiln_virt_undefine (dom, NULL);
    virDomainFree (dom);
  }
}

/* A disk kiln made: a local file, or on a remote connection the volume
 * at that path on its host. */
static void
remove_disk (virConnectPtr conn, const char *path)
{
  virStorageVolPtr vol;

  if (kiln_virt_is_local (conn)) {
    unlink (path);
    return;
  }
  vol = kiln_storage_vol_of_path (conn, path, NULL);
  if (vol) {
    virStorageVolDelete (vol, 0);
    virStorageVolFree (vol);
  }
}

/* A clone kiln made and no longer wants: stopped, undefined, its disks
 * and console log removed. */
static void
remove_made (virConnectPtr conn, const struct kiln_clone_made *m)
{
  virDomainPtr dom = virDomainLookupByName (conn, m->name);

  if (dom) {
    if (virDomainIsActive (dom) == 1)
      virDomainDestroy (dom);
    kiln_virt_undefine (dom, NULL);
    virDomainFree (dom);
  }
  for (guint k = 0; m->disks && k < m->disks->len; k++)
    remove_disk (conn, m->disks->pdata[k]);
  if (m->console_log)
    unlink (m->console_log);
}

/* Back to the state before the commit, in the reverse order. */
static void
undo (struct txn *t)
{
  for (guint i = t->clones ? t->clones->len : 0; i > 0; i--) {
    struct kiln_clone_made *m = t->clones->pdata[i - 1];

    remove_made (t->conn, m);
  }
  if (t->new_defined)
    undefine_quietly (t->conn, t->tname);
  if (t->vol) {
    virStorageVolDelete (t->vol, 0);
    g_clear_pointer (&t->vol, virStorageVolFree);
  }
  for (guint i = 0; t->extra_made && i < t->extra_made->len; i++)
    unlink (t->extra_made->pdata[i]);
  for (guint i = t->extra_aside->len; i > 0; i--)
    undo_file (t->extra_aside->pdata[i - 1]);
  if (t->old_undefined) {
    virDomainPtr dom = virDomainDefineXML (t->conn, t->old_xml);

    if (dom)
      virDomainFree (dom);
    else
      kiln_event_warning ("register", "could not define '%s' again; its definition was:\n%s",
                          t->tname, t->old_xml);
  }
  for (guint i = t->files->len; i > 0; i--)
    undo_file (&g_array_index (t->files, struct txn_file, i - 1));
  for (guint i = t->networks->len; i > 0; i--) {
    virNetworkPtr net = t->networks->pdata[i - 1];

    virNetworkDestroy (net);
    virNetworkUndefine (net);
  }
}

static void
txn_clear (struct txn *t)
{
  for (guint i = 0; i < t->files->len; i++)
    txn_file_clear (&g_array_index (t->files, struct txn_file, i));
  g_array_free (t->files, TRUE);
  for (guint i = 0; i < t->extra_aside->len; i++) {
    txn_file_clear (t->extra_aside->pdata[i]);
    g_free (t->extra_aside->pdata[i]);
  }
  g_ptr_array_unref (t->extra_aside);
  for (guint i = 0; i < t->networks->len; i++)
    virNetworkFree (t->networks->pdata[i]);
  g_ptr_array_unref (t->networks);
  if (t->clones)
    g_ptr_array_unref (t->clones);
  free (t->old_xml);
  if (t->flat)
    kiln_temp_discard (t->flat);
  g_free (t->flat);
  g_free (t->vol_name);
  g_free (t->old_vol);
  if (t->vol)
    virStorageVolFree (t->vol);
  if (t->conn)
    virConnectClose (t->conn);
}

/* The commit succeeded: what was kept aside goes. */
static void
drop_asides (struct txn *t)
{
  for (guint i = 0; i < t->files->len; i++) {
    struct txn_file *f = &g_array_index (t->files, struct txn_file, i);

    if (f->aside)
      unlink (f->aside);
  }
  for (guint i = 0; i < t->extra_aside->len; i++) {
    struct txn_file *f = t->extra_aside->pdata[i];

    unlink (f->aside);
  }
  if (t->old_vol) {
    virStoragePoolPtr pool = virStoragePoolLookupByName (t->conn, t->pool);
    virStorageVolPtr v = pool ? virStorageVolLookupByName (pool, t->old_vol) : NULL;

    if (v == NULL || virStorageVolDelete (v, 0) == -1)
      kiln_event_warning ("register", "could not delete '%s', the volume of the template "
                          "replaced, from pool '%s'", t->old_vol, t->pool);
    if (v)
      virStorageVolFree (v);
    if (pool)
      virStoragePoolFree (pool);
  }
}

/* ------------------------------------------------------------ boot check */

static void
test_check_free (gpointer p)
{
  struct kiln_build_test_check *c = p;

  g_free (c->run);
  g_free (c->expect);
  g_free (c->got);
  g_free (c);
}

void
kiln_build_test_report_clear (struct kiln_build_test_report *rep)
{
  g_clear_pointer (&rep->clone, g_free);
  g_clear_pointer (&rep->checks, g_ptr_array_unref);
}

/* The test's login password: a file's first line or a secret variable's
 * value (recipe.c allows nothing else), registered as a secret. */
static char *
test_password (const struct kiln_recipe *r, GError **err)
{
  struct kiln_password_selector ps;
  char *pw;

  if (r->test_password == NULL || !kiln_password_selector_parse (r->test_password, &ps, NULL))
    return NULL;
  pw = ps.file ? kiln_secret_read_line ("test password file", ps.file, NULL, err)
               : g_strdup (ps.secret);
  kiln_secret_register (pw);
  return pw;
}

/* Boot a throwaway linked clone of the new template, wait for it, run
 * the recipe's commands on its console and compare; the clone goes
 * whatever happens.  REP is filled as far as the check went. */
static int
boot_test (struct txn *t, const struct kiln_recipe *r, struct kiln_build_test_report *rep,
           GError **err)
{
  g_autofree char *name = g_strdup_printf ("%s-kiln-test-%06x", t->tname, g_random_int () & 0xffffff);
  struct kiln_clone_spec cs = {
    .original = t->tname, .name = name, .count = 1, .mode = KILN_CLONE_LINKED,
    .console_log = true,
  };
  g_autoptr (GPtrArray) made = NULL, boots = NULL, outs = NULL;
  g_autoptr (GPtrArray) cmds = g_ptr_array_new ();
  const struct kiln_clone_made *m;
  struct kiln_boot_target target;
  const struct kiln_boot_result *b;
  const struct kiln_build_test_check *bad = NULL;
  const char *bad_where = NULL;
  char *pw = NULL;
  int ret = -1;

  rep->clone = g_strdup (name);
  rep->checks = g_ptr_array_new_with_free_func (test_check_free);
  for (guint i = 0; i < r->test_checks->len; i++) {
    const struct kiln_recipe_check *rc = r->test_checks->pdata[i];
    struct kiln_build_test_check *c = g_new0 (struct kiln_build_test_check, 1);

    c->run = g_strdup (rc->run);
    c->expect = g_strdup (rc->expect);
    c->regex = rc->regex;
    g_ptr_array_add (rep->checks, c);
    g_ptr_array_add (cmds, rc->run);
  }
  if (kiln_fault_check ("test", err) == -1)
    return -1;
  if (r->test_user && r->test_password && (pw = test_password (r, err)) == NULL)
    return -1;
  kiln_event_info ("test", "boot check: booting %s, a linked clone of %s (up to %u s)", name,
                   t->tname, r->test_timeout);
  if (kiln_clone_domains (t->ctx, &cs, &made, err) == -1)
    goto out;
  m = made->pdata[0];
  target.name = m->name;
  target.console_log = m->console_log;
  if (kiln_boot_start (t->ctx, &target, 1, r->test_timeout, &boots, err) == -1) {
    b = boots && boots->len ? boots->pdata[0] : NULL;
    if (b) {
      rep->boot_seconds = (double) b->usec / 1e6;
      g_prefix_error (err, "boot check: ");
      if (b->console_tail)
        g_prefix_error (err, "%s\n", b->console_tail);
    }
    goto out;
  }
  b = boots->pdata[0];
  rep->up = true;
  rep->how = b->how;
  rep->boot_seconds = (double) b->usec / 1e6;
  if (r->test_user) {
    if (kiln_console_run (t->ctx, name, r->test_user, pw, (const char *const *) cmds->pdata,
                          cmds->len, r->test_timeout, &outs, err) == -1) {
      g_prefix_error (err, "boot check of %s: ", t->tname);
      goto out;
    }
    rep->logged_in = true;
    for (guint i = 0; i < outs->len; i++) {
      struct kiln_build_test_check *c = rep->checks->pdata[i];
      const struct kiln_console_output *o = outs->pdata[i];
      const struct kiln_recipe_check *rc = r->test_checks->pdata[i];

      c->got = g_strdup (o->text);
      c->status = o->status;
      c->pass = kiln_console_matches (c->expect, c->regex, c->got);
      kiln_event_info ("test", "`%s`: %s (exit status %d)", c->run,
                       c->pass ? "as expected" : "NOT as expected", c->status);
      if (!c->pass && bad == NULL)
        bad = c, bad_where = rc->where;
    }
    if (bad) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "boot check of %s failed: `%s` (%s) gave '%s' (exit status %d), %s '%s'",
                   t->tname, bad->run, bad_where, bad->got, bad->status,
                   bad->regex ? "which does not match" : "expected", bad->expect);
      goto out;
    }
  }
  rep->pass = true;
  ret = 0;
  kiln_event_info ("test", "boot check passed: %s up (%s) after %.1f s%s", name, rep->how,
                   rep->boot_seconds, rep->checks->len ? ", every command as expected" : "");
 out:
  kiln_secret_free (pw);
  if (made)
    for (guint i = 0; i < made->len; i++)
      remove_made (t->conn, made->pdata[i]);
  return ret;
}

int
kiln_build_register (const struct kiln_ctx *ctx, const struct kiln_recipe *r,
                     const struct kiln_build_file *files, size_t n_files, const char *image,
                     const struct kiln_image_result *built, bool force,
                     kiln_build_tested_fn tested, void *data, GError **err)
{
  struct kiln_build_test_report rep = { 0 };
  g_autofree struct kiln_register_disk *extra = NULL;
  struct kiln_register_spec spec = { 0 };
  struct kiln_register_result res = { 0 };
  g_autofree char *abs_image = NULL;
  const char *image_now = NULL;
  struct kiln_ctx pctx = publish_ctx (ctx, r);
  struct txn t = { .ctx = &pctx, .tname = template_name (r), .pool = r->template_pool };
  bool libvirt = r->template || r->clones || r->networks->len, domains = r->template || r->clones;
  bool old = false;
  unsigned n = 0;
  int ret = -1;

  t.files = g_array_new (FALSE, TRUE, sizeof (struct txn_file));
  t.networks = g_ptr_array_new ();
  t.extra_aside = g_ptr_array_new ();
  for (size_t i = 0; i < n_files; i++) {
    struct txn_file f = {
      .tmp = g_strdup (files[i].tmp), .final = g_strdup (files[i].final), .step = files[i].step,
    };

    g_array_append_val (t.files, f);
    if (image && files[i].tmp && strcmp (files[i].final, image) == 0)
      image_now = files[i].tmp;
  }

  /* Precondition and what can be made before the commit point. */
  if (libvirt && (t.conn = kiln_virt_open (&pctx, NULL, err)) == NULL)
    goto fail;
  if (domains && check (&pctx, t.conn, r, force, &old, err) == -1)
    goto fail;
  if (libvirt && ensure_networks (&t, r, err) == -1)
    goto fail;
  if (domains) {
    abs_image = g_canonicalize_filename (image, NULL);
    extra = g_new0 (struct kiln_register_disk, r->disks->len + 1);
    for (guint i = 0; i < r->disks->len; i++) {
      const struct kiln_recipe_disk *d = r->disks->pdata[i];

      extra[i].size = (gint64) d->bytes;
      extra[i].target = d->target;
    }
    spec.disk = abs_image;
    spec.disk_now = image_now;
    if (t.pool) {
      g_autofree char *fmt = NULL;

      if (flatten (image_now ? image_now : image, &t.flat, err) == -1 ||
          (fmt = kiln_image_file_format (t.flat ? t.flat : image_now ? image_now : image, err)) == NULL ||
          choose_volume (&t, fmt, old, err) == -1)
        goto fail;
      spec.pool = t.pool;
      spec.volume = t.vol_name;
      if (t.flat)
        spec.disk_now = t.flat;
    }
    spec.replaces = old ? t.tname : NULL;
    spec.print_xml = true;
    spec.name = t.tname;
    spec.os_variant = r->os_variant;
    if (built && built->launched && built->distro) {
      spec.inspected_distro = built->distro;
      spec.inspected_osinfo = built->osinfo;
      spec.inspected_type = built->type;
      spec.inspected_major = built->major;
      spec.inspected_minor = built->minor;
    }
    spec.network = g_strcmp0 (r->template_network, "none") == 0 ? NULL
                 : r->template_network ? r->template_network : "default";
    spec.recipe = r->path;
    spec.memory_mib = r->memory > 0 ? (guint64) r->memory : 0;
    spec.vcpus = r->vcpus > 0 ? (unsigned) r->vcpus : 0;
    spec.extra = extra;
    spec.n_extra = r->disks->len;
    if (kiln_register_template (&pctx, &spec, &res, err) == -1)
      goto fail;
    if (t.pool && upload (&t, image_now ? image_now : image, false, err) == -1)
      goto fail;
  }

  /* The commit: the image, the template, its clones, then the other
   * files (a manifest under its final name says the build is whole). */
  for (guint i = 1; i < t.files->len; i++)
    if (withdraw_file (&g_array_index (t.files, struct txn_file, i), err) == -1)
      goto fail;
  if (t.files->len && publish_file (&g_array_index (t.files, struct txn_file, 0), err) == -1)
    goto fail;
  if (domains) {
    if ((old && undefine_old (&t, err) == -1) || extra_aside (&t, res.extra_files, force, err) == -1)
      goto fail;
    if (kiln_register_define (&pctx, &spec, &res, err) == -1)
      goto fail;
    t.new_defined = true;
    t.extra_made = res.extra_files;
    kiln_event_info ("register", "registered template %s (%s, %s, %" G_GUINT64_FORMAT " MiB, %u vCPU)",
                     t.tname, res.osinfo, res.type, res.memory_mib, res.vcpus);
    if (res.osinfo_note)
      kiln_event_warning ("register", "%s", res.osinfo_note);
  }
  t.clones = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_clone_made_free);
  for (char **c = r->clones; c && *c; c++) {
    struct kiln_clone_spec cs = {
      .original = t.tname, .name = *c, .count = 1, .mode = KILN_CLONE_LINKED,
    };
    g_autoptr (GPtrArray) made = NULL;
    g_autofree char *step = g_strdup_printf ("clone-%u", ++n);

    if (kiln_fault_check (step, err) == -1)
      goto fail;
    if (kiln_clone_domains (&pctx, &cs, &made, err) == -1) {
      for (guint k = 0; made && k < made->len; k++)
        g_ptr_array_add (t.clones, g_ptr_array_steal_index (made, k--));
      goto fail;
    }
    while (made->len)
      g_ptr_array_add (t.clones, g_ptr_array_steal_index (made, 0));
    kiln_event_info ("clone", "cloned %s (linked)", *c);
  }
  if (r->test && domains &&
      (boot_test (&t, r, &rep, err) == -1 || (tested && tested (&rep, data, err) == -1)))
    goto fail;
  for (guint i = 1; i < t.files->len; i++)
    if (publish_file (&g_array_index (t.files, struct txn_file, i), err) == -1)
      goto fail;
  drop_asides (&t);
  ret = 0;
  goto out;

 fail:
  undo (&t);
 out:
  t.extra_made = NULL;
  kiln_build_test_report_clear (&rep);
  kiln_register_result_clear (&res);
  txn_clear (&t);
  return ret;
}
