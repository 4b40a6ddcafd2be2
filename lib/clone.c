/* clone.c: kiln_clone_domains and kiln_clone_dependents (see clone.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "clone.h"
#include "access.h"
#include "boot.h"
#include "diskfile.h"
#include "domain.h"
#include "domxml.h"
#include "event.h"
#include "fault.h"
#include "fileio.h"
#include "mac.h"
#include "qcow2.h"
#include "storage.h"
#include "value.h"
#include "virt.h"

/* A disk of the original that each clone copies or overlays. */
struct src_disk {
  struct kiln_domxml_disk *d;   /* in the original's parsed XML */
  char *file;                    /* canonical path */
  const char *format;            /* qcow2, raw (interned) */
  mode_t mode;
  virStorageVolPtr vol;          /* remote: its volume */
  char *pool;                    /* remote: that volume's pool */
  GPtrArray *chain;              /* local: FILE's backing chain, read at the
                                    first clone that needs it, for all */
};

/* A file a clone makes: staged under a temporary name, put at FINAL at
 * the commit.  The replaced domain's file at FINAL stays under a second
 * name (a hard link, ASIDE) until the commit succeeds, so that the undo
 * can put it back. */
struct stage {
  char *final;
  char *tmp;           /* the new content; NULL: FINAL only goes away (the
                          replaced domain's NVRAM when nothing is copied) */
  char *aside;
  bool replaces;       /* FINAL is a file of the replaced domain */
  bool published;      /* FINAL changed: the undo restores it */
  bool is_new;         /* FINAL is the clone's new file */
  bool is_nvram;
  guint src;           /* disks: index into job.src */
  virStorageVolPtr vol;  /* remote: the new volume, made at FINAL by the
                            staging (the undo deletes it) */
};

/* One clone of the transaction. */
struct one {
  char *name, *uuid, *xml;
  unsigned number;             /* 1..count */
  char *console_log;
  virDomainPtr existing;       /* the domain it replaces, or NULL */
  char *old_xml;               /* EXISTING's inactive XML, for the undo */
  int old_autostart;
  char *old_nvram;             /* EXISTING's NVRAM file, or NULL */
  GArray *stages;              /* struct stage */
  GPtrArray *disks, *macs;     /* char *: what kiln_clone_made reports */
  bool undefined;              /* EXISTING is undefined */
  virDomainPtr dom;            /* the clone, once defined */
  gint64 usec;
};

/* The clones of one original: the spec and what all of them share. */
struct job {
  const struct kiln_clone_spec *s;
  virConnectPtr conn;
  char *orig_xml;
  GArray *src;                   /* struct src_disk */
  char *nvram;                   /* the original's NVRAM path, or NULL */
  bool nvram_exists;             /* false: never started, nothing to copy */
  bool linked;
  bool remote;                   /* !kiln_virt_is_local: storage API only */
  bool meta_identity;            /* the original's metadata: it has the unit */
  GHashTable *used_macs;
  struct kiln_hypervisor hv;     /* how CONN confines domains, read once */
  bool hv_read;
  struct kiln_domain_index *index;   /* the domains, listed once per call */
  GHashTable *finals;            /* every path the clones will own */
  GPtrArray *pools;              /* char *: pools to refresh */
  GPtrArray *ones;               /* struct one */
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
  g_free (m->console_log);
  if (m->disks)
    g_ptr_array_unref (m->disks);
  if (m->macs)
    g_ptr_array_unref (m->macs);
  g_free (m);
}

static void
one_free (gpointer p)
{
  struct one *o = p;

  for (guint i = 0; o->stages && i < o->stages->len; i++) {
    struct stage *st = &g_array_index (o->stages, struct stage, i);
    g_free (st->final);
    g_free (st->tmp);
    g_free (st->aside);
    if (st->vol)
      virStorageVolFree (st->vol);
  }
  if (o->stages)
    g_array_unref (o->stages);
  if (o->disks)
    g_ptr_array_unref (o->disks);
  if (o->macs)
    g_ptr_array_unref (o->macs);
  if (o->existing)
    virDomainFree (o->existing);
  if (o->dom)
    virDomainFree (o->dom);
  g_free (o->name);
  g_free (o->console_log);
  g_free (o->uuid);
  g_free (o->xml);
  free (o->old_xml);
  g_free (o->old_nvram);
  g_free (o);
}

static bool
path_exists (const char *p)
{
  struct stat st;

  return lstat (p, &st) == 0;
}

/* Is PATH taken on the hypervisor's host?  Remote: a volume of that
 * path, or an answer other than "no such volume" (taken: fail closed). */
static bool
file_exists (struct job *j, const char *p)
{
  virStorageVolPtr v;

  if (!j->remote)
    return path_exists (p);
  v = virStorageVolLookupByPath (j->conn, p);
  if (v) {
    virStorageVolFree (v);
    return true;
  }
  return virGetLastErrorCode () != VIR_ERR_NO_STORAGE_VOL;
}

/* A staged file or volume that will not be published goes away. */
static void
discard_stage (struct stage *st)
{
  kiln_temp_discard (st->tmp);
  g_clear_pointer (&st->tmp, g_free);
  if (st->vol) {
    virStorageVolDelete (st->vol, 0);
    g_clear_pointer (&st->vol, virStorageVolFree);
  }
}

/* Fail at STEP when KILN_FAULT names it (see fault.h). */
static bool
fault (const char *step, const char *name, GError **err)
{
  if (!kiln_fault (step))
    return false;
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "clone '%s': injected fault at step %s (KILN_FAULT)",
               name, step);
  return true;
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

/* NAME_VARS.fd beside the original's NVRAM, as libvirt names its own. */
static char *
nvram_path (struct job *j, const char *name)
{
  g_autofree char *dir = g_path_get_dirname (j->nvram);
  g_autofree char *base = g_strdup_printf ("%s_VARS.fd", name);

  return g_build_filename (dir, base, NULL);
}

/* ORIGINAL-clone, then ORIGINAL-clone-1, -2...: the first name free as a
 * domain and as disk and NVRAM files. */
static char *
auto_name (struct job *j)
{
  for (int n = 0; n < 10000; n++) {
    g_autofree char *name = n == 0 ? g_strdup_printf ("%s-clone", j->s->original)
                                   : g_strdup_printf ("%s-clone-%d", j->s->original, n);
    bool taken = kiln_domain_exists (j->conn, name);

    for (guint k = 0; !taken && k < j->src->len; k++) {
      g_autofree char *p = disk_path (j, k, name);
      taken = file_exists (j, p);
    }
    if (!taken && j->nvram && !j->remote) {
      g_autofree char *p = nvram_path (j, name);
      taken = path_exists (p);
    }
    if (!taken)
      return g_steal_pointer (&name);
  }
  return NULL;
}

/* Undefine DOM but keep its NVRAM file: the transaction owns the files. */
static int
undefine_keep_nvram (virDomainPtr dom, GError **err)
{
  virErrorPtr e;

  if (virDomainUndefineFlags (dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM) == 0)
    return 0;
  /* A driver without NVRAM may refuse the flag. */
  e = virGetLastError ();
  if (e && (e->code == VIR_ERR_INVALID_ARG || e->code == VIR_ERR_NO_SUPPORT) &&
      virDomainUndefine (dom) == 0)
    return 0;
  kiln_virt_set_domain_error (err, dom, "cannot undefine");
  return -1;
}

/* How many of something a domain has; VIR_ERR_NO_SUPPORT counts as none
 * (the driver cannot have any), any other error is -1 with ERR: the
 * replace precondition fails closed. */
static int
count_or_fail (int n, const char *what, const char *name, GError **err)
{
  virErrorPtr e;

  if (n >= 0)
    return n;
  e = virGetLastError ();
  if (e && e->code == VIR_ERR_NO_SUPPORT)
    return 0;
  kiln_virt_set_error (err, "cannot replace '%s': cannot tell whether it has %s", name, what);
  return -1;
}

/* The precondition of --replace: EXISTING is shut off, has nothing that
 * an undefine would lose for good (snapshots, checkpoints, a managed
 * save image), and no linked clone depends on its disks.  Fills O's
 * old_xml, old_autostart, old_nvram; REPLACED gets its cloned files. */
static int
check_replace (struct job *j, struct one *o, GPtrArray **replaced, GError **err)
{
  g_autoptr (kiln_domxml) ex = kiln_domain_xml (o->existing, err);
  g_autoptr (GPtrArray) deps = NULL;
  virDomainCheckpointPtr *cps = NULL;
  int n;

  if (ex == NULL || kiln_domain_require_shutoff (o->existing, "replace", err) == -1)
    return -1;
  if ((n = count_or_fail (virDomainSnapshotNum (o->existing, 0), "snapshots", o->name, err)) < 0)
    return -1;
  if (n > 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "cannot replace '%s': it has %d snapshot%s (delete them first: an undo could "
                 "not bring them back)", o->name, n, n == 1 ? "" : "s");
    return -1;
  }
  n = virDomainListAllCheckpoints (o->existing, &cps, 0);
  for (int i = 0; cps && i < n; i++)
    virDomainCheckpointFree (cps[i]);
  free (cps);
  if ((n = count_or_fail (n, "checkpoints", o->name, err)) < 0)
    return -1;
  if (n > 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "cannot replace '%s': it has %d checkpoint%s (delete them first)", o->name, n,
                 n == 1 ? "" : "s");
    return -1;
  }
  if ((n = count_or_fail (virDomainHasManagedSaveImage (o->existing, 0), "a managed save image",
                          o->name, err)) < 0)
    return -1;
  if (n > 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "cannot replace '%s': it has a managed save image (virsh managedsave-remove)",
                 o->name);
    return -1;
  }
  *replaced = kiln_domain_cloned_files (j->conn, ex, err);
  if (*replaced == NULL)
    return -1;
  deps = kiln_domain_index_dependents (j->index, *replaced, o->name, o->name, err);
  if (deps == NULL)
    return -1;
  if (deps->len > 0) {
    g_autofree char *list = kiln_domain_name_list (deps);
    g_set_error (err, KILN_ERROR, KILN_ERROR_BUSY,
                 "cannot replace '%s': linked clones depend on its disks (%s)", o->name, list);
    return -1;
  }
  o->old_xml = virDomainGetXMLDesc (o->existing, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (o->old_xml == NULL) {
    kiln_virt_set_error (err, "cannot read the XML of '%s'", o->name);
    return -1;
  }
  if (virDomainGetAutostart (o->existing, &o->old_autostart) == -1)
    o->old_autostart = 0;
  {
    g_autofree char *nv = kiln_domxml_nvram (ex);
    if (nv)
      o->old_nvram = kiln_path_canonical (nv);
  }
  /* Its MACs are free for the clone that takes its place. */
  {
    g_autoptr (GPtrArray) macs = kiln_domxml_strings (ex, "/domain/devices/interface/mac/@address");
    for (guint i = 0; i < macs->len; i++) {
      g_autofree char *low = g_ascii_strdown (macs->pdata[i], -1);
      g_hash_table_remove (j->used_macs, low);
    }
  }
  return 0;
}

/* Claim FINAL for clone O: a file that exists must be one the replaced
 * domain owns (REPLACED, or its NVRAM), and no two files of the
 * transaction may be one. */
static struct stage *
add_stage (struct job *j, struct one *o, const char *final, GPtrArray *replaced, bool nvram,
           GError **err)
{
  struct stage st = { 0 };
  bool ours = false;

  if (g_hash_table_contains (j->finals, final)) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE, "%s would be the file of two disks", final);
    return NULL;
  }
  if (file_exists (j, final)) {
    for (guint r = 0; replaced && r < replaced->len; r++)
      ours = ours || strcmp (replaced->pdata[r], final) == 0;
    ours = ours || g_strcmp0 (o->old_nvram, final) == 0;
    if (ours && j->remote) {
      /* A volume cannot be renamed: the old one could not be kept aside
       * for the undo. */
      g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                   "cannot replace '%s' on a remote connection: its volume %s would be "
                   "overwritten, which kiln cannot undo there yet (undefine it and delete "
                   "its volume first: virsh undefine %s; virsh vol-delete %s)",
                   o->name, final, o->name, final);
      return NULL;
    }
    if (!ours) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                   "%s exists already and is not a file of a domain being replaced "
                   "(remove it, or choose another %s)", final, nvram ? "name" : "--file");
      return NULL;
    }
  }
  g_hash_table_add (j->finals, g_strdup (final));
  st.final = g_strdup (final);
  st.replaces = ours;
  st.is_nvram = nvram;
  g_array_append_val (o->stages, st);
  return &g_array_index (o->stages, struct stage, o->stages->len - 1);
}

/* Clone NAME: check its precondition and build its XML; nothing made. */
static int
prepare_one (struct job *j, struct one *o, GError **err)
{
  g_autoptr (kiln_domxml) dx = kiln_domxml_parse (j->orig_xml, err);
  g_autoptr (GPtrArray) disks = NULL, ifaces = NULL, replaced = NULL;
  struct kiln_meta meta = { 0 };
  guint k = 0;

  if (dx == NULL)
    return -1;
  o->uuid = g_uuid_string_random ();
  o->stages = g_array_new (FALSE, TRUE, sizeof (struct stage));
  o->disks = g_ptr_array_new_with_free_func (g_free);
  o->macs = g_ptr_array_new_with_free_func (g_free);

  o->existing = virDomainLookupByName (j->conn, o->name);
  if (o->existing && !j->s->replace) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "a domain named '%s' exists already (another --name, or --replace)", o->name);
    return -1;
  }
  if (o->existing && check_replace (j, o, &replaced, err) == -1)
    return -1;

  kiln_domxml_set_name (dx, o->name);
  kiln_domxml_set_uuid (dx, o->uuid);

  ifaces = kiln_domxml_interfaces (dx);
  for (guint i = 0; i < ifaces->len; i++) {
    char mac[KILN_MAC_LEN];
    const char *want = j->s->macs && i < j->s->n_macs ? j->s->macs[i] : "RANDOM";

    if (g_ascii_strcasecmp (want, "RANDOM") == 0) {
      if (kiln_mac_random (j->used_macs, mac, err) == -1)
        return -1;
    } else {
      g_autofree char *low = g_ascii_strdown (want, -1);
      if (g_hash_table_contains (j->used_macs, low)) {
        g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                     "MAC %s is in use by another domain on this connection", want);
        return -1;
      }
      g_strlcpy (mac, low, sizeof mac);
      g_hash_table_add (j->used_macs, g_strdup (low));
    }
    kiln_domxml_interface_set_mac (ifaces->pdata[i], mac);
    g_ptr_array_add (o->macs, g_strdup (mac));
  }

  disks = kiln_domxml_disks (dx);
  for (guint i = 0; i < disks->len; i++) {
    struct kiln_domxml_disk *d = disks->pdata[i];
    struct src_disk *s;
    g_autofree char *path = NULL;
    struct stage *st;

    if (!kiln_domxml_disk_is_cloned (d))
      continue;
    s = &g_array_index (j->src, struct src_disk, k);
    path = disk_path (j, k, o->name);
    if ((st = add_stage (j, o, path, replaced, false, err)) == NULL)
      return -1;
    st->src = k;
    /* The clone runs as the hypervisor's user: its disk and (linked) the
     * template's chain below it must be reachable, or it fails only at
     * virsh start. */
    {
      g_autoptr (GPtrArray) reach = g_ptr_array_new_with_free_func (g_free);

      g_ptr_array_add (reach, g_strdup (path));
      if (j->linked && !j->remote) {
        /* The same chain for every clone of a --count. */
        if (s->chain == NULL && (s->chain = kiln_image_chain (s->file, err)) == NULL)
          return -1;
        for (guint c = 0; c < s->chain->len; c++)
          g_ptr_array_add (reach, g_strdup (s->chain->pdata[c]));
      }
      if (!j->s->print_xml && !j->remote) {
        if (!j->hv_read && kiln_hypervisor_get (j->conn, &j->hv, err) == -1)
          return -1;
        j->hv_read = true;
        if (kiln_hypervisor_check_reach_as (&j->hv, reach, err) == -1) {
          g_prefix_error (err, "clone '%s': ", o->name);
          return -1;
        }
      }
    }
    /* A volume's clone goes into the same pool, as a volume, unless
     * --file put it elsewhere. */
    if (j->remote) {
      /* Remote: always a volume of the original's pool. */
      g_autofree char *vol = g_path_get_basename (path);
      kiln_domxml_disk_set_volume (d, s->pool, vol, j->linked ? "qcow2" : s->format);
    } else if (s->d->pool && !(j->s->files && k < j->s->n_files)) {
      g_autofree char *vol = g_path_get_basename (path);
      kiln_domxml_disk_set_volume (d, s->d->pool, vol, j->linked ? "qcow2" : s->format);
      if (!g_ptr_array_find_with_equal_func (j->pools, s->d->pool, g_str_equal, NULL))
        g_ptr_array_add (j->pools, g_strdup (s->d->pool));
    } else {
      kiln_domxml_disk_set_file (d, path, j->linked ? "qcow2" : s->format);
    }
    g_ptr_array_add (o->disks, g_steal_pointer (&path));
    k++;
  }
  if (j->nvram) {
    g_autofree char *nv = nvram_path (j, o->name);
    struct stage *st = add_stage (j, o, nv, replaced, true, err);

    if (st == NULL)
      return -1;
    /* A domain never started has no NVRAM file yet: libvirt makes the
     * clone's from the template at its first start; nothing to copy. */
    if (!j->nvram_exists && !st->replaces) {
      g_free (st->final);
      g_array_set_size (o->stages, o->stages->len - 1);
    }
    kiln_domxml_set_nvram (dx, nv);
  }
  kiln_domxml_make_own (dx, j->s->original, o->name);
  if (!kiln_identity_is_empty (j->s->identity)) {
    g_autoptr (GPtrArray) oem = kiln_identity_oem_strings (j->s->identity, o->number,
                                                           j->s->count, err);

    if (oem == NULL)
      return -1;
    kiln_domxml_set_oem_strings (dx, "kiln.", (const char *const *) oem->pdata, oem->len);
  }
  /* Remote: the log would be on the other host, where kiln cannot read it. */
  if (j->s->console_log && !j->remote && o->disks->len > 0) {
    g_autofree char *dir = g_path_get_dirname (o->disks->pdata[0]);
    g_autofree char *log = g_strdup_printf ("%s/%s-console.log", dir, o->name);

    if (kiln_domxml_set_serial_log (dx, log))
      o->console_log = g_steal_pointer (&log);
  }

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
  kiln_domain_index_add (j->index, o->name, dx);
  o->xml = kiln_domxml_format (dx);
  return 0;
}

/* Make the new content of every file of O under temporary names. */
static int
stage_one (struct job *j, struct one *o, GError **err)
{
  for (guint i = 0; i < o->stages->len; i++) {
    struct stage *st = &g_array_index (o->stages, struct stage, i);
    const struct src_disk *s = st->is_nvram ? NULL : &g_array_index (j->src, struct src_disk, st->src);
    int r;

    if (st->is_nvram && !j->nvram_exists)
      continue;                 /* the replaced NVRAM only goes away */
    if (j->remote) {
      /* Made at its final name by the host (add_stage saw it free). */
      virStoragePoolPtr pool = virStoragePoolLookupByVolume (s->vol);
      g_autofree char *name = g_path_get_basename (st->final);

      if (pool == NULL) {
        kiln_virt_set_error (err, "disk of clone '%s': the pool of %s", o->name, s->file);
        return -1;
      }
      st->vol = j->linked ? kiln_storage_create_overlay (pool, name, s->vol, s->format, err)
                          : kiln_storage_copy (pool, name, s->format, s->vol, err);
      virStoragePoolFree (pool);
      if (st->vol == NULL) {
        g_prefix_error (err, "disk of clone '%s': ", o->name);
        return -1;
      }
      if (fault ("clone-disk", o->name, err))
        return -1;
      continue;
    }
    /* A linked clone's overlay takes every write of its guest (keys,
     * secrets): 0600 whatever the template's mode, as kiln create's. */
    st->tmp = kiln_temp_beside (st->final, s && !j->linked ? s->mode : 0600, err);
    if (st->tmp == NULL)
      return -1;
    if (st->is_nvram)
      r = kiln_file_copy_sparse (j->nvram, st->tmp, 0600, true, err);
    else if (j->linked)
      r = kiln_disk_write_overlay (st->tmp, st->final, s->file, s->format, err);
    else
      r = kiln_file_copy_sparse (s->file, st->tmp, s->mode, true, err);
    if (r == -1) {
      g_prefix_error (err, "%s of clone '%s': ", st->is_nvram ? "NVRAM" : "disk", o->name);
      return -1;
    }
    if (fault (st->is_nvram ? "clone-nvram" : "clone-disk", o->name, err))
      return -1;
  }
  return 0;
}

/* FINAL's file kept under a second name in its directory until the
 * commit (a hard link: FINAL is never missing meanwhile). */
static char *
link_aside (const char *final, GError **err)
{
  g_autofree char *dir = g_path_get_dirname (final), *base = g_path_get_basename (final);

  for (int tries = 0; tries < 100; tries++) {
    g_autofree char *aside = g_strdup_printf ("%s/.%s.kiln-old-%08x", dir, base, g_random_int ());

    if (link (final, aside) == 0)
      return g_steal_pointer (&aside);
    if (errno != EEXIST) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                   "cannot keep %s aside while it is replaced: %s", final, g_strerror (errno));
      return NULL;
    }
  }
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot keep %s aside: no free name", final);
  return NULL;
}

/* Put ST's new content (or nothing) at its final name. */
static int
publish (struct stage *st, GError **err)
{
  bool there = st->replaces && path_exists (st->final);
  struct stat before = { 0 }, after;
  int r;

  if (st->vol) {
    st->published = st->is_new = true;     /* a new volume, at FINAL already */
    return 0;
  }
  if (there && (st->aside = link_aside (st->final, err)) == NULL)
    return -1;
  if (st->tmp == NULL) {
    if (there && unlink (st->final) == -1) {
      g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot remove %s: %s", st->final,
                   g_strerror (errno));
      unlink (st->aside);
      g_clear_pointer (&st->aside, g_free);
      return -1;
    }
    st->published = there;
    return 0;
  }
  stat (st->tmp, &before);
  r = kiln_temp_publish (st->tmp, st->final, there, err);
  g_clear_pointer (&st->tmp, g_free);     /* renamed, or removed on failure */
  /* A failed sync after the rename leaves the new file in place: the
   * undo takes it back like a published one. */
  st->published = r == 0 || (stat (st->final, &after) == 0 && before.st_ino != 0 &&
                             after.st_ino == before.st_ino && after.st_dev == before.st_dev);
  st->is_new = st->published;
  if (!st->published && st->aside) {
    unlink (st->aside);                     /* FINAL is still the old file */
    g_clear_pointer (&st->aside, g_free);
  }
  return r;
}

/* The commit of clone O: its replaced domain undefined, its files put in
 * place, the clone defined. */
static int
commit_one (struct job *j, struct one *o, GError **err)
{
  if (o->existing) {
    if (fault ("clone-replace-undefine", o->name, err) ||
        undefine_keep_nvram (o->existing, err) == -1)
      return -1;
    o->undefined = true;
  }
  for (guint i = 0; i < o->stages->len; i++)
    if (publish (&g_array_index (o->stages, struct stage, i), err) == -1)
      return -1;
  if (fault ("clone-define", o->name, err))
    return -1;
  o->dom = virDomainDefineXML (j->conn, o->xml);
  if (o->dom == NULL) {
    kiln_virt_set_error (err, "cannot define clone '%s'", o->name);
    return -1;
  }
  return 0;
}

/* Back to the state before O: the clone undefined, its files removed,
 * the replaced domain's files and definition back.  What could not be
 * restored is added to PROBLEMS. */
static void
undo_one (struct one *o, GString *problems)
{
  g_autoptr (GError) e = NULL;

  if (o->dom) {
    if (undefine_keep_nvram (o->dom, &e) == -1)
      g_string_append_printf (problems, "; %s", e->message);
    g_clear_error (&e);
    virDomainFree (o->dom);
    o->dom = NULL;
  }
  for (guint i = o->stages->len; i-- > 0;) {
    struct stage *st = &g_array_index (o->stages, struct stage, i);

    if (!st->published || st->vol) {
      discard_stage (st);
      st->published = st->is_new = false;
      continue;
    }
    if (st->aside) {
      if (rename (st->aside, st->final) == -1)
        g_string_append_printf (problems, "; the previous %s is at %s (%s)", st->final, st->aside,
                                g_strerror (errno));
      else
        g_clear_pointer (&st->aside, g_free);
    } else if (st->is_new && unlink (st->final) == -1 && errno != ENOENT) {
      g_string_append_printf (problems, "; cannot remove %s: %s", st->final, g_strerror (errno));
    }
    st->published = st->is_new = false;
  }
  if (o->undefined) {
    virDomainPtr back = virDomainDefineXML (virDomainGetConnect (o->existing), o->old_xml);

    if (back == NULL) {
      kiln_virt_set_error (&e, "cannot define '%s' again", o->name);
      g_string_append_printf (problems, "; %s", e->message);
    } else {
      if (o->old_autostart)
        virDomainSetAutostart (back, 1);
      virDomainFree (back);
      o->undefined = false;
    }
  }
}

/* After the commit: the replaced domains' files kept aside go, and a
 * replaced NVRAM that no clone took over (libvirt would have removed it
 * with the domain). */
static void
finish_one (struct job *j, struct one *o)
{
  for (guint i = 0; i < o->stages->len; i++) {
    struct stage *st = &g_array_index (o->stages, struct stage, i);

    if (st->aside)
      unlink (st->aside);
  }
  /* Never a file a clone of this run took, nor the original's (a domain
   * made by another tool may have shared it). */
  if (o->old_nvram && !j->remote && !g_hash_table_contains (j->finals, o->old_nvram) &&
      g_strcmp0 (o->old_nvram, j->nvram) != 0)
    unlink (o->old_nvram);
  /* The replaced domain's console log (kiln's NAME-console.log) goes with it. */
  {
    g_autofree char *log = kiln_boot_console_log_of (o->old_xml, o->name);

    if (log)
      unlink (log);
  }
}

/* The new or removed files become (or stop being) volumes of their pools. */
static int
refresh_pools (struct job *j, GError **err)
{
  for (guint i = 0; i < j->pools->len; i++) {
    virStoragePoolPtr pool = virStoragePoolLookupByName (j->conn, j->pools->pdata[i]);

    if (pool == NULL || virStoragePoolRefresh (pool, 0) == -1) {
      kiln_virt_set_error (err, "cannot refresh storage pool '%s'", (const char *) j->pools->pdata[i]);
      if (pool)
        virStoragePoolFree (pool);
      return -1;
    }
    virStoragePoolFree (pool);
  }
  return 0;
}

static void
add_made (struct job *j, struct one *o)
{
  struct kiln_clone_made *m = g_new0 (struct kiln_clone_made, 1);

  m->name = g_strdup (o->name);
  m->uuid = g_strdup (o->uuid);
  m->xml = g_steal_pointer (&o->xml);
  m->linked = j->linked;
  m->disks = g_steal_pointer (&o->disks);
  m->macs = g_steal_pointer (&o->macs);
  m->console_log = g_steal_pointer (&o->console_log);
  m->usec = o->usec;
  g_ptr_array_add (j->made, m);
}

/* The whole transaction over the clones in J->ones: every precondition
 * was checked by prepare_one; stage all, commit each, and on any failure
 * undo all of them, last first. */
static int
run (struct job *j, GError **err)
{
  g_autoptr (GString) problems = g_string_new (NULL);
  gint64 t0 = g_get_monotonic_time ();
  guint done = 0;
  int rc = -1;

  for (guint k = 0; k < j->ones->len; k++)
    if (stage_one (j, j->ones->pdata[k], err) == -1)
      goto undo;
  for (; done < j->ones->len; done++) {
    struct one *o = j->ones->pdata[done];

    if (commit_one (j, o, err) == -1) {
      done++;                   /* its partial commit is undone too */
      goto undo;
    }
    o->usec = g_get_monotonic_time () - t0;
    t0 = g_get_monotonic_time ();
  }
  if (refresh_pools (j, err) == -1)
    goto undo;
  /* Committed. */
  for (guint k = 0; k < j->ones->len; k++) {
    struct one *o = j->ones->pdata[k];

    finish_one (j, o);
    kiln_event_debug ("clone", "%s: %s clone of %s in %.1f ms", o->name, j->linked ? "linked" : "full",
                      j->s->original, (double) o->usec / 1000.0);
    add_made (j, o);
  }
  return 0;

undo:
  for (guint k = j->ones->len; k-- > 0;) {
    struct one *o = j->ones->pdata[k];

    if (k >= done) {
      /* Staged only. */
      for (guint i = 0; i < o->stages->len; i++)
        discard_stage (&g_array_index (o->stages, struct stage, i));
    } else {
      undo_one (o, problems);
    }
  }
  if (j->pools->len > 0)
    refresh_pools (j, NULL);
  if (problems->len > 0 && err && *err) {
    GError *e = *err;
    *err = g_error_new (e->domain, e->code, "%s; and the undo was incomplete%s", e->message,
                        problems->str);
    g_error_free (e);
  }
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

/* Remote: the original's disk D at path F (on the other host) is a
 * volume; its format from the XML's <driver type=>, else the volume's. */
static int
collect_volume (struct job *j, struct kiln_domxml_disk *d, const char *f, GError **err)
{
  struct kiln_vol_info vi = { 0 };
  struct src_disk s = { 0 };

  s.vol = kiln_storage_vol_of_path (j->conn, f, err);
  if (s.vol == NULL || kiln_storage_vol_info (s.vol, &vi, err) == -1) {
    g_prefix_error (err, "disk %s of '%s': ", d->target ? d->target : "?", j->s->original);
    if (s.vol)
      virStorageVolFree (s.vol);
    return -1;
  }
  if (d->format == NULL && vi.format == NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
                 "disk %s of '%s' (%s): neither its XML nor its volume says its format; "
                 "add <driver type=> to the XML", d->target ? d->target : "?",
                 j->s->original, f);
    kiln_vol_info_clear (&vi);
    virStorageVolFree (s.vol);
    return -1;
  }
  if (d->format == NULL)
    kiln_event_warning ("clone", "disk %s of '%s' (%s) has no <driver type=> in its XML: "
                        "assumed %s, as its volume says (add the type to the XML to be sure)",
                        d->target ? d->target : "?", j->s->original, f, vi.format);
  s.d = d;
  s.file = g_strdup (vi.path);
  s.pool = g_steal_pointer (&vi.pool);
  s.format = g_intern_string (d->format ? d->format : vi.format);
  kiln_vol_info_clear (&vi);
  g_array_append_val (j->src, s);
  return 0;
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
    if (j->remote) {
      if (collect_volume (j, d, f, err) == -1)
        return -1;
      continue;
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

/* The original's image (a disk's file or anything in its backing chain)
 * has kiln's first-boot identity unit: checked on the host, through the
 * mark kiln's sysprep leaves on the image file, without opening it. */
static int
require_identity_unit (struct job *j, GError **err)
{
  if (j->s->assume_identity_unit || j->meta_identity)
    return 0;
  /* Remote: the mark is an xattr of a file on the other host. */
  for (guint k = 0; !j->remote && k < j->src->len; k++) {
    const char *file = g_array_index (j->src, struct src_disk, k).file;
    g_autoptr (GPtrArray) chain = file ? kiln_image_chain (file, NULL) : NULL;

    if (kiln_identity_chain_marked (chain))
      return 0;
  }
  g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED,
               "'%s' has no kiln first-boot identity unit (its image was made before kiln "
               "had one, or by another tool), so --hostname, --ssh-inject and --ip would do "
               "nothing in its clones; add the unit once with 'kiln sysprep -d %s "
               "--operations firstboot-identity' (or rebuild it with kiln build, kiln create "
               "--sysprep or kiln sysprep), then clone again; if you know its guest has the "
               "unit (its image lost kiln's mark in a copy), give --assume-identity-unit",
               j->s->original, j->s->original);
  return -1;
}

int
kiln_clone_domains (const struct kiln_ctx *ctx, const struct kiln_clone_spec *spec,
                    GPtrArray **made, GError **err)
{
  g_autoptr (kiln_domxml) odx = NULL;
  g_autoptr (GPtrArray) odisks = NULL, names = NULL, oifaces = NULL;
  g_autofree char *why = NULL;
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
  j.finals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  j.pools = g_ptr_array_new_with_free_func (g_free);
  j.ones = g_ptr_array_new_with_free_func (one_free);
  j.conn = kiln_virt_open (ctx, NULL, err);
  if (j.conn == NULL)
    goto out;
  j.remote = !kiln_virt_is_local (j.conn);
  if (j.remote && spec->n_files > 0) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "--file on a remote connection: a clone's disks there are new volumes of "
                 "the original's pool, named after the clone (NAME.qcow2); --file is for "
                 "local connections");
    goto out;
  }
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
  if ((why = kiln_domxml_unclonable (odx)) != NULL) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot clone '%s': %s", spec->original, why);
    goto out;
  }
  kiln_domxml_get_meta (odx, &meta);
  /* virt-clone copies; a kiln template is made to be overlaid. */
  j.linked = spec->mode == KILN_CLONE_LINKED ||
             (meta.is_template && spec->mode != KILN_CLONE_FULL);
  j.meta_identity = meta.firstboot_identity != NULL;
  kiln_meta_clear (&meta);
  odisks = kiln_domxml_disks (odx);
  if (collect_sources (&j, odx, odisks, err) == -1)
    goto out;
  /* Like virt-clone: a value that would be dropped is a mistake. */
  if (spec->n_files > j.src->len) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%zu --file given, but '%s' has %u disk%s to clone",
                 spec->n_files, spec->original, j.src->len, j.src->len == 1 ? "" : "s");
    goto out;
  }
  if (!kiln_identity_is_empty (spec->identity) && require_identity_unit (&j, err) == -1)
    goto out;
  oifaces = kiln_domxml_interfaces (odx);
  if (spec->n_macs > oifaces->len) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%zu --mac given, but '%s' has %u network interface%s",
                 spec->n_macs, spec->original, oifaces->len, oifaces->len == 1 ? "" : "s");
    goto out;
  }
  j.nvram = kiln_domxml_nvram (odx);
  if (j.nvram) {
    char *c = j.remote ? g_strdup (j.nvram) : kiln_path_canonical (j.nvram);
    g_free (j.nvram);
    j.nvram = c;
    /* Remote: the NVRAM file is on the other host and no volume; each
     * clone gets its own, made by libvirt from the firmware's template
     * at its first start. */
    j.nvram_exists = !j.remote && access (j.nvram, F_OK) == 0;
    if (j.remote)
      kiln_event_info ("clone", "'%s' boots with UEFI: on a remote connection its clones "
                       "start with fresh UEFI variables (its NVRAM file is not a volume, and "
                       "kiln copies no file there)", spec->original);
  }
  j.index = kiln_domain_index_new (j.conn, err);
  if (j.index == NULL)
    goto out;
  j.used_macs = g_hash_table_ref (kiln_domain_index_macs (j.index));

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

  /* Every clone's precondition before anything is made. */
  for (guint k = 0; k < names->len; k++) {
    struct one *o = g_new0 (struct one, 1);

    o->name = g_strdup (names->pdata[k]);
    o->number = k + 1;
    g_ptr_array_add (j.ones, o);
    if (prepare_one (&j, o, err) == -1)
      goto out;
  }
  if (spec->print_xml) {
    for (guint k = 0; k < j.ones->len; k++)
      add_made (&j, j.ones->pdata[k]);
    rc = 0;
    goto out;
  }
  rc = run (&j, err);

out:
  if (j.ones)
    g_ptr_array_unref (j.ones);
  if (orig)
    virDomainFree (orig);
  if (j.conn)
    virConnectClose (j.conn);
  if (j.used_macs)
    g_hash_table_unref (j.used_macs);
  kiln_domain_index_free (j.index);
  if (j.finals)
    g_hash_table_unref (j.finals);
  if (j.pools)
    g_ptr_array_unref (j.pools);
  for (guint k = 0; j.src && k < j.src->len; k++) {
    struct src_disk *sd = &g_array_index (j.src, struct src_disk, k);

    g_free (sd->file);
    g_free (sd->pool);
    if (sd->chain)
      g_ptr_array_unref (sd->chain);
    if (sd->vol)
      virStorageVolFree (sd->vol);
  }
  if (j.src)
    g_array_unref (j.src);
  free (j.orig_xml);
  g_free (j.nvram);
  return rc;
}
