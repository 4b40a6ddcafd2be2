/* domain.c: domains, their disks and the clones that depend on them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"
#include "qcow2.h"
#include "storage.h"
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
  /* A remote host's paths mean nothing to kiln's filesystem. */
  for (guint i = 0; kiln_virt_is_local (conn) && i < files->len; i++) {
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

/* The domain index: what the safety checks need of every domain, read
 * once.  A disk keeps its XML source; its file and backing chain are
 * looked up the first time a query needs them, and the chain is kept. */
struct ix_disk {
  char *target, *path, *pool, *volume;
  char *file;                   /* resolved (NULL: not yet) */
  GPtrArray *chain;             /* kiln_image_chain of file (NULL: not yet) */
};

struct ix_domain {
  char *name;
  char *linked_original;        /* kiln metadata of a linked clone, else NULL */
  GPtrArray *disks;             /* struct ix_disk */
};

struct kiln_domain_index {
  virConnectPtr conn;
  bool remote;                  /* chains through the storage API */
  GHashTable *domains;          /* name -> struct ix_domain */
  GHashTable *macs;             /* lower-case MACs, owned strings */
};

static void
ix_disk_free (struct ix_disk *d)
{
  g_free (d->target);
  g_free (d->path);
  g_free (d->pool);
  g_free (d->volume);
  g_free (d->file);
  if (d->chain)
    g_ptr_array_unref (d->chain);
  g_free (d);
}

static void
ix_domain_free (struct ix_domain *e)
{
  g_free (e->name);
  g_free (e->linked_original);
  g_ptr_array_unref (e->disks);
  g_free (e);
}

void
kiln_domain_index_add (struct kiln_domain_index *ix, const char *name, struct kiln_domxml *dx)
{
  struct ix_domain *e = g_new0 (struct ix_domain, 1);
  g_autoptr (GPtrArray) disks = kiln_domxml_disks (dx);
  g_autoptr (GPtrArray) macs = kiln_domxml_strings (dx, "/domain/devices/interface/mac/@address");
  struct kiln_meta m;

  e->name = g_strdup (name);
  if (kiln_domxml_get_meta (dx, &m) == 1) {
    if (m.linked && m.original)
      e->linked_original = g_strdup (m.original);
    kiln_meta_clear (&m);
  }
  e->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) ix_disk_free);
  for (guint i = 0; i < disks->len; i++) {
    const struct kiln_domxml_disk *d = disks->pdata[i];
    struct ix_disk *c = g_new0 (struct ix_disk, 1);

    c->target = g_strdup (d->target);
    c->path = g_strdup (d->path);
    c->pool = g_strdup (d->pool);
    c->volume = g_strdup (d->volume);
    g_ptr_array_add (e->disks, c);
  }
  for (guint i = 0; i < macs->len; i++)
    g_hash_table_add (ix->macs, g_ascii_strdown (macs->pdata[i], -1));
  g_hash_table_replace (ix->domains, e->name, e);
}

static int
index_one (const char *name, struct kiln_domxml *dx, void *opaque, GError **err)
{
  kiln_domain_index_add (opaque, name, dx);
  return 0;
}

struct kiln_domain_index *
kiln_domain_index_new (virConnectPtr conn, GError **err)
{
  struct kiln_domain_index *ix = g_new0 (struct kiln_domain_index, 1);

  ix->conn = conn;
  ix->remote = !kiln_virt_is_local (conn);
  ix->domains = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) ix_domain_free);
  ix->macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (kiln_domain_foreach (conn, index_one, ix, err) == -1) {
    kiln_domain_index_free (ix);
    return NULL;
  }
  return ix;
}

void
kiln_domain_index_free (struct kiln_domain_index *ix)
{
  if (ix == NULL)
    return;
  g_hash_table_unref (ix->domains);
  g_hash_table_unref (ix->macs);
  g_free (ix);
}

GHashTable *
kiln_domain_index_macs (struct kiln_domain_index *ix)
{
  return ix->macs;
}

/* Does any disk of domain E sit on one of FILES through its backing chain
 * (from position FROM: 0 the disk itself, 1 below it)?  1 yes, 0 no, -1
 * (ERR) when it cannot be told: a disk whose volume cannot be found or
 * whose chain cannot be read may be a clone of FILES, and a safety check
 * that cannot decide refuses. */
static int
depends_on (struct kiln_domain_index *ix, struct ix_domain *e, GPtrArray *files, guint from,
            GError **err)
{
  const char *name = e->name;

  for (guint i = 0; i < e->disks->len; i++) {
    struct ix_disk *c = e->disks->pdata[i];
    const char *target = c->target ? c->target : "?";
    g_autoptr (GError) ee = NULL;
    struct stat st;

    if (c->file == NULL) {
      struct kiln_domxml_disk d = { .path = c->path, .pool = c->pool, .volume = c->volume,
                                    .target = c->target };

      c->file = kiln_domain_disk_file (ix->conn, &d, &ee);
      if (c->file == NULL && ee == NULL)
        continue;               /* a network disk or an empty drive */
      if (c->file == NULL) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                     "cannot tell whether domain '%s' is a linked clone: %s; kiln refuses "
                     "rather than risk corrupting it (start or define that pool, or remove "
                     "the disk from '%s' with virsh edit, then try again)",
                     name, ee->message, name);
        return -1;
      }
    }
    /* A disk file that does not exist has no backing chain: nothing of
     * this domain sits on FILES through it.  On a remote connection the
     * chain is read from the volumes' XML, and a disk that is no volume
     * cannot be followed (kiln_storage_chain fails closed). */
    if (ix->remote && c->chain == NULL)
      c->chain = kiln_storage_chain (ix->conn, c->file, &ee);
    else if (!ix->remote && c->chain == NULL && stat (c->file, &st) == -1 && errno == ENOENT)
      continue;
    else if (c->chain == NULL)
      c->chain = kiln_image_chain (c->file, &ee);
    if (c->chain == NULL) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cannot tell whether domain '%s' is a linked clone: the backing chain "
                   "of its disk %s (%s) cannot be read: %s; kiln refuses rather than risk "
                   "corrupting it (repair the chain, e.g. qemu-img info --backing-chain %s, "
                   "or undefine '%s', then try again)",
                   name, target, c->file, ee->message, c->file, name);
      return -1;
    }
    for (guint j = from; j < c->chain->len; j++) {
      for (guint k = 0; k < files->len; k++)
        if (strcmp (c->chain->pdata[j], files->pdata[k]) == 0)
          return 1;
    }
  }
  return 0;
}

static GPtrArray *
index_scan (struct kiln_domain_index *ix, GPtrArray *files, guint from, const char *original,
            const char *except, GError **err)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree gpointer *keys = (gpointer *) g_hash_table_get_keys_as_array (ix->domains, NULL);

  for (gpointer *k = keys; *k; k++) {
    struct ix_domain *e = g_hash_table_lookup (ix->domains, *k);
    int dep = 0;

    if (except && strcmp (e->name, except) == 0)
      continue;
    dep = original && g_strcmp0 (e->linked_original, original) == 0;
    if (!dep && files && files->len > 0)
      dep = depends_on (ix, e, files, from, err);
    if (dep == -1)
      return NULL;
    if (dep == 1)
      g_ptr_array_add (names, g_strdup (e->name));
  }
  g_ptr_array_sort (names, cmp_str);
  return g_steal_pointer (&names);
}

GPtrArray *
kiln_domain_index_dependents (struct kiln_domain_index *ix, GPtrArray *files,
                              const char *original, const char *except, GError **err)
{
  return index_scan (ix, files, 1, original, except, err);
}

GPtrArray *
kiln_domain_index_users (struct kiln_domain_index *ix, GPtrArray *files, const char *except,
                         GError **err)
{
  return index_scan (ix, files, 0, NULL, except, err);
}

/* kiln_domain_foreach reads the domains' XML BATCH at a time, with up to
 * FETCHERS calls to libvirt in flight: each call is a round trip to
 * libvirtd, which answers several at once. */
#define BATCH 256
#define FETCHERS 4

struct fetch {
  virDomainPtr *doms;
  int n;
  char **xml;                   /* malloc'd by libvirt */
  GError **errs;
  gint next;
};

static gpointer
fetch_worker (gpointer p)
{
  struct fetch *f = p;
  int i;

  while ((i = g_atomic_int_add (&f->next, 1)) < f->n) {
    f->xml[i] = virDomainGetXMLDesc (f->doms[i], VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    if (f->xml[i] == NULL)
      kiln_virt_set_domain_error (&f->errs[i], f->doms[i], "cannot read the XML of");
  }
  return NULL;
}

static void
fetch_batch (struct fetch *f)
{
  GThread *t[FETCHERS - 1];
  int extra = f->n >= 16 ? FETCHERS - 1 : 0;

  for (int i = 0; i < extra; i++)
    t[i] = g_thread_new ("kiln-domxml", fetch_worker, f);
  fetch_worker (f);
  for (int i = 0; i < extra; i++)
    g_thread_join (t[i]);
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
  for (int b = 0; b < n && rc == 0; b += BATCH) {
    struct fetch f = { doms + b, MIN (BATCH, n - b), NULL, NULL, 0 };

    f.xml = g_new0 (char *, f.n);
    f.errs = g_new0 (GError *, f.n);
    fetch_batch (&f);
    for (int i = 0; i < f.n && rc == 0; i++) {
      const char *name = virDomainGetName (f.doms[i]);
      g_autoptr (GError) e = NULL;
      g_autoptr (kiln_domxml) dx = f.xml[i] ? kiln_domxml_parse (f.xml[i], &e) : NULL;

      if (e == NULL && f.errs[i])
        e = g_steal_pointer (&f.errs[i]);
      if (dx)
        rc = fn (name, dx, opaque, err);
      else if (!g_error_matches (e, KILN_ERROR, KILN_ERROR_NOT_FOUND)) {
        /* Undefined meanwhile (NOT_FOUND) is no domain; any other failure
         * leaves a domain that nobody looked at. */
        g_propagate_prefixed_error (err, g_steal_pointer (&e),
                                    "cannot check domain '%s' (kiln refuses rather than "
                                    "skip it; fix what follows, then try again): ", name);
        rc = -1;
      }
    }
    for (int i = 0; i < f.n; i++) {
      free (f.xml[i]);
      g_clear_error (&f.errs[i]);
    }
    g_free (f.xml);
    g_free (f.errs);
  }
  for (int i = 0; i < n; i++)
    virDomainFree (doms[i]);
  free (doms);
  return rc;
}

/* One-off queries: an index built for the one question. */
GPtrArray *
kiln_domain_dependents (virConnectPtr conn, GPtrArray *files, const char *original,
                        const char *except, GError **err)
{
  struct kiln_domain_index *ix = kiln_domain_index_new (conn, err);
  GPtrArray *r = ix ? kiln_domain_index_dependents (ix, files, original, except, err) : NULL;

  kiln_domain_index_free (ix);
  return r;
}

GPtrArray *
kiln_domain_users (virConnectPtr conn, GPtrArray *files, const char *except, GError **err)
{
  struct kiln_domain_index *ix = kiln_domain_index_new (conn, err);
  GPtrArray *r = ix ? kiln_domain_index_users (ix, files, except, err) : NULL;

  kiln_domain_index_free (ix);
  return r;
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
  /* libguestfs would open the paths on this host, not on the domain's. */
  if (!kiln_virt_is_local (conn)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "-d %s on a remote connection (%s): kiln edits a domain's disks with "
                 "libguestfs on this host, which cannot open the other host's files; "
                 "run kiln on that host, or download the volume (virsh vol-download), "
                 "edit it with -a and register it again", name, kiln_default_uri (ctx));
    goto out;
  }
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
