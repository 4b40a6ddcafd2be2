/* domain.c: domains, their disks and the clones that depend on them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"
#include "qcow2.h"
#include "virt.h"

bool
kiln_domain_exists (virConnectPtr conn, const char *name)
{
  virDomainPtr d = virDomainLookupByName (conn, name);

  if (d)
    virDomainFree (d);
  return d != NULL;
}

struct kiln_domxml *
kiln_domain_xml (virDomainPtr dom, GError **err)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE |
                                                   VIR_DOMAIN_XML_SECURE);

  if (xml == NULL) {
    kiln_virt_set_domain_error (err, dom, "cannot read the XML of");
    return NULL;
  }
  return kiln_domxml_parse (xml, err);
}

int
kiln_domain_require_shutoff (virDomainPtr dom, const char *what, GError **err)
{
  int state = 0, reason = 0;

  if (virDomainGetState (dom, &state, &reason, 0) == -1) {
    kiln_virt_set_domain_error (err, dom, "cannot get the state of");
    return -1;
  }
  if (state != VIR_DOMAIN_SHUTOFF) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "domain '%s' is %s: kiln can %s it only when it is shut off "
                 "(virsh shutdown %s, then try again)", virDomainGetName (dom),
                 state == VIR_DOMAIN_PAUSED ? "paused" : "running", what,
                 virDomainGetName (dom));
    return -1;
  }
  return 0;
}

char *
kiln_domain_disk_file (virConnectPtr conn, const struct kiln_domxml_disk *d, GError **err)
{
  virStoragePoolPtr pool;
  virStorageVolPtr vol;
  char *path;

  if (d->volume == NULL)
    return g_strdup (d->path);
  pool = virStoragePoolLookupByName (conn, d->pool ? d->pool : "");
  if (pool == NULL) {
    kiln_virt_set_error (err, "disk %s: storage pool '%s'", d->target ? d->target : "?", d->pool);
    return NULL;
  }
  vol = virStorageVolLookupByName (pool, d->volume);
  virStoragePoolFree (pool);
  if (vol == NULL) {
    kiln_virt_set_error (err, "disk %s: volume '%s' of pool '%s'",
                         d->target ? d->target : "?", d->volume, d->pool);
    return NULL;
  }
  path = virStorageVolGetPath (vol);
  virStorageVolFree (vol);
  if (path == NULL) {
    kiln_virt_set_error (err, "disk %s: path of volume '%s'", d->target ? d->target : "?", d->volume);
    return NULL;
  }
  {
    char *g = g_strdup (path);
    free (path);
    return g;
  }
}

/* The files of DX's disks that a clone copies or an edit writes, appended
 * to PATHS; with FORMATS, their <driver type=>s too, and a disk without
 * one refused (NAME is the domain, for the message): never probed. */
static int
cloned_disks (virConnectPtr conn, const char *name, struct kiln_domxml *dx,
              GPtrArray *paths, GPtrArray *formats, GError **err)
{
  g_autoptr (GPtrArray) disks = kiln_domxml_disks (dx);

  for (guint i = 0; i < disks->len; i++) {
    const struct kiln_domxml_disk *d = disks->pdata[i];
    g_autofree char *f = NULL;

    if (!kiln_domxml_disk_is_cloned (d))
      continue;
    f = kiln_domain_disk_file (conn, d, err);
    if (f == NULL && d->volume)
      return -1;
    if (f == NULL)
      continue;
    if (formats && (d->format == NULL || *d->format == '\0')) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "domain '%s': disk %s (%s) has no <driver type=...> in its XML, and kiln "
                   "does not guess a guest's disk format from its bytes (a guest can write "
                   "any header into a raw disk); add the format (virsh edit %s: "
                   "<driver name='qemu' type='raw'/> or type='qcow2'), then try again",
                   name, d->target ? d->target : "?", f, name);
      return -1;
    }
    g_ptr_array_add (paths, g_steal_pointer (&f));
    if (formats)
      g_ptr_array_add (formats, g_strdup (d->format));
  }
  return 0;
}

GPtrArray *
kiln_domain_cloned_files (virConnectPtr conn, struct kiln_domxml *dx, GError **err)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  if (cloned_disks (conn, NULL, dx, files, NULL, err) == -1)
    return NULL;
  for (guint i = 0; i < files->len; i++) {
    char *c = kiln_path_canonical (files->pdata[i]);

    g_free (files->pdata[i]);
    files->pdata[i] = c;
  }
  return g_steal_pointer (&files);
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* Does any disk of domain NAME (parsed in DX) sit on one of FILES through
 * its backing chain?  1 yes, 0 no, -1 (ERR) when it cannot be told: a
 * disk whose volume cannot be found or whose chain cannot be read may be
 * a clone of FILES, and a safety check that cannot decide refuses. */
static int
depends_on (virConnectPtr conn, const char *name, struct kiln_domxml *dx, GPtrArray *files,
            guint from, GError **err)
{
  g_autoptr (GPtrArray) disks = kiln_domxml_disks (dx);

  for (guint i = 0; i < disks->len; i++) {
    const struct kiln_domxml_disk *d = disks->pdata[i];
    const char *target = d->target ? d->target : "?";
    g_autofree char *f = NULL;
    g_autoptr (GPtrArray) chain = NULL;
    g_autoptr (GError) e = NULL;
    struct stat st;

    f = kiln_domain_disk_file (conn, d, &e);
    if (f == NULL && e == NULL)
      continue;                 /* a network disk or an empty drive */
    if (f == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cannot tell whether domain '%s' is a linked clone: %s; kiln refuses "
                   "rather than risk corrupting it (start or define that pool, or remove "
                   "the disk from '%s' with virsh edit, then try again)",
                   name, e->message, name);
      return -1;
    }
    /* A disk file that does not exist has no backing chain: nothing of
     * this domain sits on FILES through it. */
    if (stat (f, &st) == -1 && errno == ENOENT)
      continue;
    chain = kiln_image_chain (f, &e);
    if (chain == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cannot tell whether domain '%s' is a linked clone: the backing chain "
                   "of its disk %s (%s) cannot be read: %s; kiln refuses rather than risk "
                   "corrupting it (repair the chain, e.g. qemu-img info --backing-chain %s, "
                   "or undefine '%s', then try again)",
                   name, target, f, e->message, f, name);
      return -1;
    }
    for (guint j = from; j < chain->len; j++) {
      for (guint k = 0; k < files->len; k++)
        if (strcmp (chain->pdata[j], files->pdata[k]) == 0)
          return 1;
    }
  }
  return 0;
}

int
kiln_domain_foreach (virConnectPtr conn, kiln_domain_fn fn, void *opaque, GError **err)
{
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);
  int rc = 0;

  if (n < 0) {
    kiln_virt_set_error (err, "cannot list domains");
    return -1;
  }
  for (int i = 0; i < n && rc == 0; i++) {
    g_autoptr (GError) e = NULL;
    g_autoptr (kiln_domxml) dx = kiln_domain_xml (doms[i], &e);

    if (dx)
      rc = fn (virDomainGetName (doms[i]), dx, opaque, err);
    else if (!g_error_matches (e, KILN_ERROR, KILN_ERROR_NOT_FOUND)) {
      /* Undefined meanwhile (NOT_FOUND) is no domain; any other failure
       * leaves a domain that nobody looked at. */
      g_propagate_prefixed_error (err, g_steal_pointer (&e),
                                  "cannot check domain '%s' (kiln refuses rather than "
                                  "skip it; fix what follows, then try again): ",
                                  virDomainGetName (doms[i]));
      rc = -1;
    }
  }
  for (int i = 0; i < n; i++)
    virDomainFree (doms[i]);
  free (doms);
  return rc;
}

struct scan {
  virConnectPtr conn;
  GPtrArray *files;
  guint from;
  const char *original, *except;
  GPtrArray *names;
};

static int
scan_one (const char *name, struct kiln_domxml *dx, void *opaque, GError **err)
{
  struct scan *sc = opaque;
  struct kiln_meta m;
  int dep = 0;

  if (sc->except && g_strcmp0 (name, sc->except) == 0)
    return 0;
  if (sc->original && kiln_domxml_get_meta (dx, &m) == 1) {
    dep = m.linked && g_strcmp0 (m.original, sc->original) == 0;
    kiln_meta_clear (&m);
  }
  if (!dep && sc->files && sc->files->len > 0)
    dep = depends_on (sc->conn, name, dx, sc->files, sc->from, err);
  if (dep == 1)
    g_ptr_array_add (sc->names, g_strdup (name));
  return dep == -1 ? -1 : 0;
}

static GPtrArray *
scan (virConnectPtr conn, GPtrArray *files, guint from, const char *original,
      const char *except, GError **err)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct scan sc = { conn, files, from, original, except, names };

  if (kiln_domain_foreach (conn, scan_one, &sc, err) == -1)
    return NULL;
  g_ptr_array_sort (names, cmp_str);
  return g_steal_pointer (&names);
}

GPtrArray *
kiln_domain_dependents (virConnectPtr conn, GPtrArray *files, const char *original,
                        const char *except, GError **err)
{
  return scan (conn, files, 1, original, except, err);
}

GPtrArray *
kiln_domain_users (virConnectPtr conn, GPtrArray *files, const char *except, GError **err)
{
  return scan (conn, files, 0, NULL, except, err);
}

char *
kiln_domain_name_list (GPtrArray *names)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < names->len && i < 10; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", (const char *) names->pdata[i]);
  if (names->len > 10)
    g_string_append_printf (s, " and %u more", names->len - 10);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

int
kiln_domain_disks_for_edit (const struct kiln_ctx *ctx, const char *name,
                            GPtrArray *paths, GPtrArray *formats, GError **err)
{
  virConnectPtr conn = kiln_virt_open (ctx, NULL, err);
  virDomainPtr dom = NULL;
  g_autoptr (kiln_domxml) dx = NULL;
  g_autoptr (GPtrArray) files = NULL, deps = NULL;
  g_autoptr (GPtrArray) p = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) f = g_ptr_array_new_with_free_func (g_free);
  int r = -1;

  if (conn == NULL)
    return -1;
  dom = kiln_virt_lookup (conn, name, err);
  if (dom == NULL || kiln_domain_require_shutoff (dom, "edit", err) == -1)
    goto out;
  dx = kiln_domain_xml (dom, err);
  if (dx == NULL)
    goto out;
  files = kiln_domain_cloned_files (conn, dx, err);
  if (files == NULL)
    goto out;
  if (files->len == 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "domain '%s' has no writable disk to edit", name);
    goto out;
  }
  if (cloned_disks (conn, name, dx, p, f, err) == -1)
    goto out;
  deps = kiln_domain_dependents (conn, files, name, name, err);
  if (deps == NULL)
    goto out;
  if (deps->len > 0) {
    g_autofree char *list = kiln_domain_name_list (deps);
    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "domain '%s' is a template with %u linked clone%s (%s) whose disks "
                 "are overlays on its disk: editing it would corrupt them; remove the "
                 "clones first (virsh undefine, then delete their disks) or edit a "
                 "full clone (kiln clone --full)", name, deps->len,
                 deps->len == 1 ? "" : "s", list);
    goto out;
  }
  for (guint i = 0; i < p->len; i++) {
    g_ptr_array_add (paths, g_strdup (p->pdata[i]));
    g_ptr_array_add (formats, g_strdup (f->pdata[i]));
  }
  r = 0;
out:
  if (dom)
    virDomainFree (dom);
  virConnectClose (conn);
  return r;
}
