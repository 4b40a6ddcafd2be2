/* clone.c: kiln_clone_domains and kiln_clone_dependents (see clone.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "clone.h"
#include "diskfile.h"
#include "domain.h"
#include "domxml.h"
#include "event.h"
#include "mac.h"
#include "qcow2.h"
#include "value.h"
#include "virt.h"

/* A disk of the original that each clone copies or overlays. */
struct src_disk {
  struct kiln_domxml_disk *d;   /* in the original's parsed XML */
  char *file;                    /* canonical path */
  const char *format;            /* qcow2, raw (interned) */
  mode_t mode;
};

/* The clones of one original: the spec and what all of them share. */
struct job {
  const struct kiln_clone_spec *s;
  virConnectPtr conn;
  char *orig_xml;
  GArray *src;                   /* struct src_disk */
  char *nvram;
  bool linked;
  GHashTable *used_macs;
  GPtrArray *made;               /* struct kiln_clone_made */
};

void
kiln_clone_made_free (struct kiln_clone_made *m)
{
  if (m == NULL)
    return;
  g_free (m->name);
  g_free (m->uuid);
  g_free (m->xml);
  if (m->disks)
    g_ptr_array_unref (m->disks);
  if (m->macs)
    g_ptr_array_unref (m->macs);
  g_free (m);
}

static bool
path_exists (const char *p)
{
  struct stat st;

  return lstat (p, &st) == 0;
}

/* The file for cloned disk K of clone NAME. */
static char *
disk_path (struct job *j, guint k, const char *name)
{
  const struct src_disk *s = &g_array_index (j->src, struct src_disk, k);
  g_autofree char *dir = g_path_get_dirname (s->file), *base = NULL;
  const char *ext = j->linked ? "qcow2" : (strcmp (s->format, "qcow2") == 0 ? "qcow2" : "img");

  if (j->s->files && k < j->s->n_files)
    return g_canonicalize_filename (j->s->files[k], NULL);
  base = k == 0 ? g_strdup_printf ("%s.%s", name, ext) : g_strdup_printf ("%s-%u.%s", name, k, ext);
  return g_build_filename (dir, base, NULL);
}

static char *
nvram_path (struct job *j, const char *name)
{
  g_autofree char *dir = g_path_get_dirname (j->nvram);
  g_autofree char *base = g_strdup_printf ("%s_VARS.fd", name);

  return g_build_filename (dir, base, NULL);
}

/* ORIGINAL-clone, then ORIGINAL-clone-1, -2...: the first name free as a
 * domain and as disk files. */
static char *
auto_name (struct job *j)
{
  for (int n = 0; n < 10000; n++) {
    g_autofree char *name = n == 0 ? g_strdup_printf ("%s-clone", j->s->original)
                                   : g_strdup_printf ("%s-clone-%d", j->s->original, n);
    bool taken = kiln_domain_exists (j->conn, name);

    for (guint k = 0; !taken && k < j->src->len; k++) {
      g_autofree char *p = disk_path (j, k, name);
      taken = path_exists (p);
    }
    if (!taken)
      return g_steal_pointer (&name);
  }
  return NULL;
}

/* One clone NAME; on failure nothing of it is left (domain, disks, NVRAM). */
static int
clone_one (struct job *j, const char *name, GError **err)
{
  g_autoptr (kiln_domxml) dx = kiln_domxml_parse (j->orig_xml, err);
  g_autoptr (GPtrArray) disks = NULL, ifaces = NULL, created = NULL;
  g_autoptr (GPtrArray) replaced_files = NULL, new_files = NULL, new_macs = NULL;
  g_autoptr (GPtrArray) pools = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *uuid = g_uuid_string_random (), *xml = NULL, *nv = NULL;
  char *old_xml = NULL;
  struct kiln_meta meta = { 0 };
  virDomainPtr existing = NULL, dom = NULL;
  gint64 t0 = g_get_monotonic_time ();
  guint k = 0;
  int rc = -1;

  if (dx == NULL)
    return -1;
  created = g_ptr_array_new_with_free_func (g_free);
  new_files = g_ptr_array_new_with_free_func (g_free);
  new_macs = g_ptr_array_new_with_free_func (g_free);

  existing = virDomainLookupByName (j->conn, name);
  if (existing && !j->s->replace) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "a domain named '%s' exists already (another --name, or --replace)", name);
    goto out;
  }
  if (existing) {
    g_autoptr (kiln_domxml) ex = kiln_domain_xml (existing, err);
    g_autoptr (GPtrArray) deps = NULL;

    if (ex == NULL || kiln_domain_require_shutoff (existing, "replace", err) == -1)
      goto out;
    replaced_files = kiln_domain_cloned_files (j->conn, ex, err);
    if (replaced_files == NULL)
      goto out;
    deps = kiln_domain_dependents (j->conn, replaced_files, name, name, err);
    if (deps == NULL)
      goto out;
    if (deps->len > 0) {
      g_autofree char *list = kiln_domain_name_list (deps);
      g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                   "cannot replace '%s': linked clones depend on its disks (%s)", name, list);
      goto out;
    }
  }

  kiln_domxml_set_name (dx, name);
  kiln_domxml_set_uuid (dx, uuid);

  ifaces = kiln_domxml_interfaces (dx);
  for (guint i = 0; i < ifaces->len; i++) {
    char mac[KILN_MAC_LEN];
    const char *want = j->s->macs && i < j->s->n_macs ? j->s->macs[i] : "RANDOM";

    if (g_ascii_strcasecmp (want, "RANDOM") == 0) {
      if (kiln_mac_random (j->used_macs, mac, err) == -1)
        goto out;
    } else {
      g_autofree char *low = g_ascii_strdown (want, -1);
      if (g_hash_table_contains (j->used_macs, low)) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                     "MAC %s is in use by another domain on this connection", want);
        goto out;
      }
      g_strlcpy (mac, low, sizeof mac);
      g_hash_table_add (j->used_macs, g_strdup (low));
    }
    kiln_domxml_interface_set_mac (ifaces->pdata[i], mac);
    g_ptr_array_add (new_macs, g_strdup (mac));
  }

  disks = kiln_domxml_disks (dx);
  for (guint i = 0; i < disks->len; i++) {
    struct kiln_domxml_disk *d = disks->pdata[i];
    const struct src_disk *s;
    g_autofree char *path = NULL;

    if (!kiln_domxml_disk_is_cloned (d))
      continue;
    s = &g_array_index (j->src, struct src_disk, k);
    path = disk_path (j, k, name);
    k++;
    if (path_exists (path)) {
      bool ours = false;

      for (guint r = 0; replaced_files && r < replaced_files->len; r++)
        ours = ours || strcmp (replaced_files->pdata[r], path) == 0;
      if (!ours) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                     "%s exists already and is not a disk of a domain being replaced "
                     "(remove it, or choose another --file)", path);
        goto out;
      }
    }
    /* A volume's clone goes into the same pool, as a volume, unless
     * --file put it elsewhere. */
    if (s->d->pool && !(j->s->files && k - 1 < j->s->n_files)) {
      g_autofree char *vol = g_path_get_basename (path);
      kiln_domxml_disk_set_volume (d, s->d->pool, vol, j->linked ? "qcow2" : s->format);
      if (pools && !g_ptr_array_find_with_equal_func (pools, s->d->pool, g_str_equal, NULL))
        g_ptr_array_add (pools, g_strdup (s->d->pool));
    } else {
      kiln_domxml_disk_set_file (d, path, j->linked ? "qcow2" : s->format);
    }
    g_ptr_array_add (new_files, g_steal_pointer (&path));
  }
  if (j->nvram) {
    nv = nvram_path (j, name);
    kiln_domxml_set_nvram (dx, nv);
  }
  kiln_domxml_reset_graphics (dx);

  kiln_domxml_get_meta (dx, &meta);
  meta.is_template = false;
  g_free (meta.original);
  meta.original = g_strdup (j->s->original);
  meta.linked = j->linked;
  g_free (meta.created);
  {
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
    meta.created = g_date_time_format_iso8601 (now);
  }
  kiln_domxml_set_meta (dx, &meta);
  kiln_meta_clear (&meta);
  xml = kiln_domxml_format (dx);

  if (j->s->print_xml) {
    rc = 0;
    goto made;
  }

  for (guint i = 0; i < new_files->len; i++) {
    const struct src_disk *s = &g_array_index (j->src, struct src_disk, i);
    const char *path = new_files->pdata[i];
    int r;

    if (j->linked)
      r = kiln_disk_create_overlay (path, s->file, s->format, existing != NULL, err);
    else
      r = kiln_file_copy_sparse (s->file, path, s->mode, existing != NULL, err);
    if (r == -1)
      goto out;
    g_ptr_array_add (created, g_strdup (path));
  }
  if (nv) {
    if (kiln_file_copy_sparse (j->nvram, nv, 0600, existing != NULL, err) == -1)
      goto out;
    g_ptr_array_add (created, g_strdup (nv));
  }
  /* The new files become volumes of their pools. */
  for (guint i = 0; i < pools->len; i++) {
    virStoragePoolPtr pool = virStoragePoolLookupByName (j->conn, pools->pdata[i]);

    if (pool == NULL || virStoragePoolRefresh (pool, 0) == -1) {
      kiln_virt_set_error (err, "cannot refresh storage pool '%s'", (const char *) pools->pdata[i]);
      if (pool)
        virStoragePoolFree (pool);
      goto out;
    }
    virStoragePoolFree (pool);
  }
  if (existing) {
    /* libvirt refuses a second domain of the same name: the old one goes
     * first, and comes back if the new one cannot be defined. */
    old_xml = virDomainGetXMLDesc (existing, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    if (old_xml == NULL) {
      kiln_virt_set_error (err, "cannot read the XML of '%s'", name);
      goto out;
    }
    if (kiln_virt_undefine (existing, err) == -1)
      goto out;
  }
  dom = virDomainDefineXML (j->conn, xml);
  if (dom == NULL) {
    kiln_virt_set_error (err, "cannot define clone '%s'", name);
    if (old_xml) {
      virDomainPtr back = virDomainDefineXML (j->conn, old_xml);
      if (back)
        virDomainFree (back);
    }
    goto out;
  }
  rc = 0;

made:
  {
    struct kiln_clone_made *m = g_new0 (struct kiln_clone_made, 1);

    m->name = g_strdup (name);
    m->uuid = g_strdup (uuid);
    m->xml = g_steal_pointer (&xml);
    m->linked = j->linked;
    m->disks = g_steal_pointer (&new_files);
    m->macs = g_steal_pointer (&new_macs);
    m->usec = g_get_monotonic_time () - t0;
    kiln_event_debug ("clone", "%s: %s clone of %s in %.1f ms", name, m->linked ? "linked" : "full",
                      j->s->original, (double) m->usec / 1000.0);
    g_ptr_array_add (j->made, m);
  }

out:
  if (rc == -1) {
    for (guint i = 0; i < created->len; i++)
      unlink (created->pdata[i]);
    /* Forget the volumes of the files just removed. */
    for (guint i = 0; created->len > 0 && i < pools->len; i++) {
      virStoragePoolPtr pool = virStoragePoolLookupByName (j->conn, pools->pdata[i]);
      if (pool) {
        virStoragePoolRefresh (pool, 0);
        virStoragePoolFree (pool);
      }
    }
  }
  free (old_xml);
  if (dom)
    virDomainFree (dom);
  if (existing)
    virDomainFree (existing);
  return rc;
}

GPtrArray *
kiln_clone_dependents (const struct kiln_ctx *ctx, const char *name, GError **err)
{
  g_autoptr (kiln_domxml) dx = NULL;
  g_autoptr (GPtrArray) files = NULL;
  GPtrArray *deps = NULL;
  virConnectPtr conn = kiln_virt_open (ctx, NULL, err);
  virDomainPtr dom = NULL;

  if (conn == NULL)
    return NULL;
  dom = kiln_virt_lookup (conn, name, err);
  if (dom && (dx = kiln_domain_xml (dom, err)) != NULL &&
      (files = kiln_domain_cloned_files (conn, dx, err)) != NULL)
    deps = kiln_domain_dependents (conn, files, name, name, err);
  if (dom)
    virDomainFree (dom);
  virConnectClose (conn);
  return deps;
}

/* The original's cloned disks, their files and formats. */
static int
collect_sources (struct job *j, struct kiln_domxml *odx, GPtrArray *odisks, GError **err)
{
  for (guint i = 0; i < odisks->len; i++) {
    struct kiln_domxml_disk *d = odisks->pdata[i];
    g_autofree char *f = NULL, *detected = NULL;
    struct src_disk s = { 0 };
    struct stat st;

    if (!kiln_domxml_disk_is_cloned (d))
      continue;
    f = kiln_domain_disk_file (j->conn, d, err);
    if (f == NULL) {
      if (err && *err == NULL)
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "disk %s of '%s' is not a file or volume: kiln cannot clone it",
                     d->target ? d->target : "?", j->s->original);
      return -1;
    }
    if (stat (f, &st) == -1) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND, "disk %s of '%s': %s: %s",
                   d->target ? d->target : "?", j->s->original, f, g_strerror (errno));
      return -1;
    }
    if (!S_ISREG (st.st_mode)) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "disk %s of '%s' (%s) is not a regular file: kiln clones file disks only",
                   d->target ? d->target : "?", j->s->original, f);
      return -1;
    }
    s.d = d;
    s.file = kiln_path_canonical (f);
    s.mode = st.st_mode & 0777;
    /* The driver type libvirt was told; without one, the file's header. */
    if (d->format == NULL && (detected = kiln_image_file_format (s.file, err)) == NULL) {
      g_free (s.file);
      return -1;
    }
    s.format = g_intern_string (d->format ? d->format : detected);
    if (d->format == NULL)
      kiln_event_warning ("clone", "disk %s of '%s' (%s) has no <driver type=> in its XML: "
                          "assumed %s from the file's header (which a guest writing to a "
                          "raw disk could forge; add the type to the XML to be sure)",
                          d->target ? d->target : "?", j->s->original, s.file, s.format);
    g_array_append_val (j->src, s);
  }
  return 0;
}

int
kiln_clone_domains (const struct kiln_ctx *ctx, const struct kiln_clone_spec *spec,
                    GPtrArray **made, GError **err)
{
  g_autoptr (kiln_domxml) odx = NULL;
  g_autoptr (GPtrArray) odisks = NULL, names = NULL;
  struct job j = { .s = spec };
  struct kiln_meta meta = { 0 };
  virDomainPtr orig = NULL;
  int rc = -1;

  j.made = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_clone_made_free);
  *made = j.made;
  /* A clone's name becomes file names (NAME.qcow2, NAME_VARS.fd). */
  if (spec->name && !kiln_name_valid (spec->name, "clone name", err))
    return -1;
  j.src = g_array_new (FALSE, TRUE, sizeof (struct src_disk));
  j.conn = kiln_virt_open (ctx, NULL, err);
  if (j.conn == NULL)
    goto out;
  orig = kiln_virt_lookup (j.conn, spec->original, err);
  if (orig == NULL || kiln_domain_require_shutoff (orig, "clone", err) == -1)
    goto out;
  j.orig_xml = virDomainGetXMLDesc (orig, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (j.orig_xml == NULL) {
    kiln_virt_set_error (err, "cannot read the XML of '%s'", spec->original);
    goto out;
  }
  odx = kiln_domxml_parse (j.orig_xml, err);
  if (odx == NULL)
    goto out;
  kiln_domxml_get_meta (odx, &meta);
  /* virt-clone copies; a kiln template is made to be overlaid. */
  j.linked = spec->mode == KILN_CLONE_LINKED ||
             (meta.is_template && spec->mode != KILN_CLONE_FULL);
  kiln_meta_clear (&meta);
  odisks = kiln_domxml_disks (odx);
  if (collect_sources (&j, odx, odisks, err) == -1)
    goto out;
  if (spec->n_files > j.src->len) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%zu --file given, but '%s' has %u disk%s to clone",
                 spec->n_files, spec->original, j.src->len, j.src->len == 1 ? "" : "s");
    goto out;
  }
  j.nvram = kiln_domxml_nvram (odx);
  j.used_macs = kiln_mac_used (j.conn, err);
  if (j.used_macs == NULL)
    goto out;

  names = g_ptr_array_new_with_free_func (g_free);
  if (spec->count <= 1) {
    char *n = spec->name ? g_strdup (spec->name) : auto_name (&j);
    if (n == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS, "no free name %s-clone-N", spec->original);
      goto out;
    }
    g_ptr_array_add (names, n);
  } else {
    g_autofree char *base = spec->name ? g_strdup (spec->name)
                                       : g_strdup_printf ("%s-clone", spec->original);
    for (unsigned k = 1; k <= spec->count; k++)
      g_ptr_array_add (names, g_strdup_printf ("%s-%u", base, k));
  }
  for (guint k = 0; k < names->len; k++) {
    if (!kiln_name_valid (names->pdata[k], "clone name", err))
      goto out;
    if (strcmp (names->pdata[k], spec->original) == 0) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "a clone cannot replace its original '%s'", spec->original);
      goto out;
    }
  }

  for (guint k = 0; k < names->len; k++) {
    if (clone_one (&j, names->pdata[k], err) == -1) {
      if (j.made->len > 0)
        g_prefix_error (err, "after %u clone%s made: ", j.made->len, j.made->len == 1 ? "" : "s");
      goto out;
    }
  }
  rc = 0;

out:
  if (orig)
    virDomainFree (orig);
  if (j.conn)
    virConnectClose (j.conn);
  if (j.used_macs)
    g_hash_table_unref (j.used_macs);
  for (guint k = 0; j.src && k < j.src->len; k++)
    g_free (g_array_index (j.src, struct src_disk, k).file);
  if (j.src)
    g_array_unref (j.src);
  free (j.orig_xml);
  g_free (j.nvram);
  return rc;
}

