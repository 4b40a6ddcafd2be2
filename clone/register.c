/* register.c: kiln register DISK --name NAME: define a libvirt domain for
 * a template image, what virt-install --import does, with memory, vCPUs,
 * disk bus and NIC model from libosinfo's recommendations for the OS that
 * libguestfs finds in the image, and kiln's template mark in <metadata>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "kiln.h"
#include "accel.h"
#include "diskfile.h"
#include "value.h"
#include "domain.h"
#include "domxml.h"
#include "guest.h"
#include "json.h"
#include "mac.h"
#include "msg.h"
#include "opts.h"
#include "osinfo.h"
#include "qcow2.h"
#include "template.h"
#include "virt.h"

enum {
  OPT_NAME = 1, OPT_OS_VARIANT, OPT_MEMORY, OPT_VCPUS, OPT_NETWORK, OPT_DISK,
  OPT_POOL, OPT_PRINT_XML, OPT_RECIPE,
};

const struct kiln_option kiln_register_options[] = {
  { "name", 'n', KILN_ARG_REQUIRED, "NAME", "the new domain's name (required)", OPT_NAME },
  { "os-variant", 0, KILN_ARG_REQUIRED, "ID|auto", "libosinfo id of the guest OS (default: auto, by inspecting the image)", OPT_OS_VARIANT },
  { "memory", 0, KILN_ARG_REQUIRED, "MiB", "memory (default: libosinfo's recommendation)", OPT_MEMORY },
  { "vcpus", 0, KILN_ARG_REQUIRED, "N", "virtual CPUs (default: libosinfo's recommendation)", OPT_VCPUS },
  { "network", 0, KILN_ARG_REQUIRED, "NET|user|none", "a libvirt network, a user-mode NIC, or no NIC (default: user)", OPT_NETWORK },
  { "disk", 0, KILN_ARG_REQUIRED, "SIZE[,target=vdX]", "add an empty qcow2 disk beside DISK (repeatable)", OPT_DISK },
  { "pool", 0, KILN_ARG_REQUIRED, "POOL", "upload DISK into this libvirt storage pool and use the volume", OPT_POOL },
  { "print-xml", 0, KILN_ARG_NONE, NULL, "print the domain XML instead of defining it", OPT_PRINT_XML },
  { "recipe", 0, KILN_ARG_REQUIRED, "FILE", "record the recipe that built the image in the metadata", OPT_RECIPE },
  KILN_OPTION_END
};

struct extra_disk {
  gint64 size;
  char *target;
  char *path;
  bool created;
};

struct reg {
  const char *disk, *name, *os_variant, *network, *pool, *recipe;
  guint64 memory_mib;
  unsigned vcpus;
  bool print_xml;
  GArray *extra;                  /* struct extra_disk */
  char *disk_abs, *format;
  char *vol_name;                 /* the uploaded volume, when --pool */
  virStorageVolPtr vol;
};

static void
reg_clear (struct reg *r)
{
  for (guint i = 0; r->extra && i < r->extra->len; i++) {
    struct extra_disk *e = &g_array_index (r->extra, struct extra_disk, i);
    g_free (e->target);
    g_free (e->path);
  }
  if (r->extra)
    g_array_free (r->extra, TRUE);
  g_free (r->disk_abs);
  g_free (r->format);
  g_free (r->vol_name);
  if (r->vol)
    virStorageVolFree (r->vol);
}

/* Undo what register made before a failure: nothing is left behind. */
static void
rollback (struct reg *r)
{
  for (guint i = 0; r->extra && i < r->extra->len; i++) {
    struct extra_disk *e = &g_array_index (r->extra, struct extra_disk, i);
    if (e->created)
      unlink (e->path);
  }
  if (r->vol) {
    virStorageVolDelete (r->vol, 0);
    g_clear_pointer (&r->vol, virStorageVolFree);
  }
}

static bool
parse_uint (const char *s, guint64 max, guint64 *out)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (s, 10, 1, max, &v, NULL))
    return false;
  *out = v;
  return true;
}

static int
parse_extra_disk (struct kiln_ctx *ctx, GArray *extra, GPtrArray *owned, const char *arg)
{
  g_auto (GStrv) parts = g_strsplit (arg, ",", -1);
  struct kiln_register_disk e = { 0 };
  g_autoptr (GError) err = NULL;
  uint64_t bytes;

  if (kiln_parse_disk_size (parts[0], "--disk", &bytes, &err) == -1)
    return kiln_usage_error (ctx, "%s", err->message);
  e.size = (gint64) bytes;
  for (int i = 1; parts[i]; i++) {
    if (g_str_has_prefix (parts[i], "target=") && parts[i][7]) {
      char *t = g_strdup (parts[i] + 7);
      g_ptr_array_add (owned, t);
      e.target = t;
    } else {
      return kiln_usage_error (ctx, "--disk %s: unknown setting '%s' (only target=vdX)", arg, parts[i]);
    }
  }
  g_array_append_val (extra, e);
  return 0;
}

/* "debian12" -> "debian", 12 (for the nearest-release fallback). */
static void
split_short_id (const char *id, char **distro, int *major, int *minor)
{
  size_t n = 0;

  while (id[n] && !g_ascii_isdigit (id[n]))
    n++;
  *distro = g_strndup (id, n);
  *major = atoi (id + n);
  *minor = 0;
  if (strchr (id + n, '.'))
    *minor = atoi (strchr (id + n, '.') + 1);
}

/* Find the OS: by --os-variant, by the caller's inspection of DISK (in
 * SPEC), or by inspecting DISK (one read-only appliance launch). */
static int
resolve_os (struct reg *r, const struct kiln_register_spec *spec,
            struct kiln_osinfo_match *m, GError **err)
{
  OsinfoDb *db = kiln_osinfo_db (err);

  if (db == NULL)
    return -1;
  if (r->os_variant && strcmp (r->os_variant, "auto") != 0) {
    g_autofree char *distro = NULL;
    int major, minor;

    split_short_id (r->os_variant, &distro, &major, &minor);
    return kiln_osinfo_resolve (db, r->os_variant, distro, major, minor, "linux", m, err);
  } else if (spec->inspected_distro) {
    const struct kiln_register_spec *s = spec;

    kiln_debug ("%s: OS from the build's inspection: %s %d.%d (%s)", r->disk,
                s->inspected_distro, s->inspected_major, s->inspected_minor,
                s->inspected_osinfo ? s->inspected_osinfo : "no osinfo id");
    return kiln_osinfo_resolve (db, s->inspected_osinfo, s->inspected_distro,
                                s->inspected_major, s->inspected_minor,
                                s->inspected_type ? s->inspected_type : "linux", m, err);
  } else {
    g_autoptr (kiln_guest) gu = kiln_guest_new (true);
    int rc;

    kiln_info ("Inspecting %s", r->disk);
    if (kiln_guest_add_disk (gu, r->disk_abs, r->format, err) == -1 ||
        kiln_guest_launch (gu, err) == -1 ||
        kiln_guest_inspect (gu, err) == -1)
      return -1;
    rc = kiln_osinfo_resolve (db, gu->osinfo, gu->distro, gu->major, gu->minor,
                              gu->type, m, err);
    kiln_guest_close (gu, NULL);
    return rc;
  }
}

/* Does OS support a virtio device of CLASS ("block", "net")? */
static bool
os_has_virtio (OsinfoOs *os, const char *klass)
{
  g_autoptr (OsinfoDeviceList) devs = NULL;
  bool found = false;

  if (os == NULL)
    return true;   /* an unknown OS is most likely a recent Linux */
  devs = osinfo_os_get_all_devices (os, NULL);
  for (int i = 0; !found && i < osinfo_list_get_length (OSINFO_LIST (devs)); i++) {
    OsinfoDevice *d = OSINFO_DEVICE (osinfo_list_get_nth (OSINFO_LIST (devs), i));
    const char *name = osinfo_device_get_name (d), *c = osinfo_device_get_class (d);

    found = name && strstr (name, "virtio") && g_strcmp0 (c, klass) == 0;
  }
  return found;
}

/* libosinfo's recommended RAM (MiB) and vCPUs for OS on x86_64. */
static void
os_recommended (OsinfoOs *os, guint64 *mib, unsigned *cpus)
{
  g_autoptr (OsinfoResourcesList) list = NULL;

  *mib = 1024;
  *cpus = 1;
  if (os == NULL)
    return;
  list = osinfo_os_get_recommended_resources (os);
  for (int i = 0; i < osinfo_list_get_length (OSINFO_LIST (list)); i++) {
    OsinfoResources *res = OSINFO_RESOURCES (osinfo_list_get_nth (OSINFO_LIST (list), i));
    const char *arch = osinfo_resources_get_architecture (res);
    gint64 ram = osinfo_resources_get_ram (res);
    gint n = osinfo_resources_get_n_cpus (res);

    if (g_strcmp0 (arch, "x86_64") != 0 && g_strcmp0 (arch, "all") != 0)
      continue;
    if (ram > 0)
      *mib = (guint64) ram / (1024 * 1024);
    if (n > 0)
      *cpus = (unsigned) n;
  }
}

/* A cache file is named by its digest: record it as the base's digest. */
static char *
digest_of (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  const char *p = base;
  const char *alg = NULL;
  size_t n;

  if (g_str_has_prefix (p, "sha256") || g_str_has_prefix (p, "sha512")) {
    alg = g_str_has_prefix (p, "sha256") ? "sha256" : "sha512";
    p += 6;
    if (*p == '-' || *p == ':' || *p == '_' || *p == '.')
      p++;
  }
  for (n = 0; g_ascii_isxdigit (p[n]); n++)
    ;
  if (n != 64 && n != 128)
    return NULL;
  if (alg == NULL)
    alg = n == 64 ? "sha256" : "sha512";
  return g_strdup_printf ("%s:%.*s", alg, (int) n, p);
}

static char *
vol_xml (const char *name, gint64 capacity)
{
  xmlDocPtr doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNodePtr v = xmlNewNode (NULL, (const xmlChar *) "volume"), n;
  g_autofree char *cap = g_strdup_printf ("%" G_GINT64_FORMAT, capacity);
  xmlChar *out = NULL;
  int len = 0;
  char *s;

  xmlDocSetRootElement (doc, v);
  xmlNewTextChild (v, NULL, (const xmlChar *) "name", (const xmlChar *) name);
  n = xmlNewTextChild (v, NULL, (const xmlChar *) "capacity", (const xmlChar *) cap);
  xmlSetProp (n, (const xmlChar *) "unit", (const xmlChar *) "bytes");
  xmlNewTextChild (v, NULL, (const xmlChar *) "allocation", (const xmlChar *) "0");
  /* Raw: libvirt only makes a sparse file of the right size, which the
   * upload then fills with DISK's bytes as they are (qcow2 included);
   * the pool's refresh probes the format. */
  n = xmlNewChild (v, NULL, (const xmlChar *) "target", NULL);
  n = xmlNewChild (n, NULL, (const xmlChar *) "format", NULL);
  xmlSetProp (n, (const xmlChar *) "type", (const xmlChar *) "raw");
  xmlDocDumpMemory (doc, &out, &len);
  s = g_strdup ((const char *) out);
  xmlFree (out);
  xmlFreeDoc (doc);
  return s;
}

/* virStreamSparseSendAll callbacks over a file descriptor. */
struct upload { int fd; off_t pos; off_t size; };

static int
up_data (virStreamPtr st, char *buf, size_t n, void *opaque)
{
  struct upload *u = opaque;
  ssize_t r = pread (u->fd, buf, n, u->pos);

  if (r > 0)
    u->pos += r;
  return (int) r;
}

static int
up_hole (virStreamPtr st, int *in_data, long long *length, void *opaque)
{
  struct upload *u = opaque;
  off_t data, hole;

  if (u->pos >= u->size) {
    *in_data = 0;
    *length = 0;
    return 0;
  }
  data = lseek (u->fd, u->pos, SEEK_DATA);
  if (data == -1 && errno == ENXIO)
    data = u->size;
  else if (data == -1)
    return -1;
  if (data > u->pos) {
    *in_data = 0;
    *length = data - u->pos;
    return 0;
  }
  hole = lseek (u->fd, u->pos, SEEK_HOLE);
  if (hole == -1)
    return -1;
  *in_data = 1;
  *length = hole - u->pos;
  return 0;
}

static int
up_skip (virStreamPtr st, long long length, void *opaque)
{
  struct upload *u = opaque;

  u->pos += length;
  return 0;
}

/* Upload DISK into POOL as volume NAME.FORMAT, holes kept. */
static int
upload_to_pool (virConnectPtr conn, struct reg *r, GError **err)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (conn, r->pool);
  g_autofree char *xml = NULL;
  struct upload u = { .fd = -1 };
  struct stat st;
  virStreamPtr stream = NULL;
  virStorageVolPtr existing;
  int rc = -1;

  if (pool == NULL) {
    kiln_virt_set_error (err, "storage pool '%s' (virsh pool-list --all shows the pools)", r->pool);
    return -1;
  }
  r->vol_name = g_strdup_printf ("%s.%s", r->name, r->format);
  existing = virStorageVolLookupByName (pool, r->vol_name);
  if (existing) {
    virStorageVolFree (existing);
    g_set_error (err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "pool '%s' already has a volume '%s' (virsh vol-delete %s --pool %s)",
                 r->pool, r->vol_name, r->vol_name, r->pool);
    goto out;
  }
  u.fd = open (r->disk_abs, O_RDONLY | O_CLOEXEC);
  if (u.fd == -1 || fstat (u.fd, &st) == -1) {
    g_set_error (err, KILN_ERROR, KILN_ERROR_FAILED, "cannot read %s: %s", r->disk, g_strerror (errno));
    goto out;
  }
  u.size = st.st_size;
  xml = vol_xml (r->vol_name, st.st_size);
  r->vol = virStorageVolCreateXML (pool, xml, 0);
  if (r->vol == NULL) {
    kiln_virt_set_error (err, "cannot create volume '%s' in pool '%s'", r->vol_name, r->pool);
    goto out;
  }
  stream = virStreamNew (conn, 0);
  if (stream == NULL ||
      virStorageVolUpload (r->vol, stream, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) == -1 ||
      virStreamSparseSendAll (stream, up_data, up_hole, up_skip, &u) == -1 ||
      virStreamFinish (stream) == -1) {
    kiln_virt_set_error (err, "cannot upload %s into volume '%s' of pool '%s'",
                         r->disk, r->vol_name, r->pool);
    if (stream)
      virStreamAbort (stream);
    goto out;
  }
  virStoragePoolRefresh (pool, 0);
  rc = 0;
out:
  if (stream)
    virStreamFree (stream);
  if (u.fd != -1)
    close (u.fd);
  virStoragePoolFree (pool);
  return rc;
}

void
kiln_register_result_clear (struct kiln_register_result *res)
{
  g_clear_pointer (&res->uuid, g_free);
  g_clear_pointer (&res->type, g_free);
  g_clear_pointer (&res->disk, g_free);
  g_clear_pointer (&res->osinfo, g_free);
  g_clear_pointer (&res->osinfo_note, g_free);
  g_clear_pointer (&res->xml, g_free);
}

int
kiln_register_template (const struct kiln_ctx *ctx, const struct kiln_register_spec *rs,
                        struct kiln_register_result *res, GError **errp)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (kiln_domxml) dx = NULL;
  g_autoptr (GPtrArray) chain = NULL, files = NULL, names = NULL;
  g_autoptr (GHashTable) macs = NULL;
  g_autofree char *uuid = g_uuid_string_random (), *xml = NULL, *base_digest = NULL;
  g_autofree struct kiln_domxml_disk_spec *specs = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format_iso8601 (now);
  struct reg r = { 0 };
  struct kiln_osinfo_match m = { 0 };
  struct kiln_domxml_spec spec = { 0 };
  struct kiln_meta meta = { 0 };
  char mac[KILN_MAC_LEN];
  enum kiln_accel accel;
  virConnectPtr conn = NULL;
  virDomainPtr dom = NULL;
  const char *type;
  guint64 rec_mib;
  unsigned rec_cpus;
  int rc = -1;
  bool virtio_blk;

  memset (res, 0, sizeof *res);
  r.disk = rs->disk;
  r.name = rs->name;
  r.os_variant = rs->os_variant;
  r.network = rs->network;
  r.pool = rs->pool;
  r.recipe = rs->recipe;
  r.memory_mib = rs->memory_mib;
  r.vcpus = rs->vcpus;
  r.print_xml = rs->print_xml;
  r.extra = g_array_new (FALSE, TRUE, sizeof (struct extra_disk));
  for (size_t k = 0; k < rs->n_extra; k++) {
    struct extra_disk e = { .size = rs->extra[k].size, .target = g_strdup (rs->extra[k].target) };
    g_array_append_val (r.extra, e);
  }
  r.disk_abs = kiln_path_canonical (r.disk);
  r.format = kiln_image_file_format (r.disk_abs, &err);
  if (r.format == NULL)
    goto fail;
  {
    struct stat st;

    /* kiln's cache publishes bases read-only; a template's disk is
     * written by its first boot, so it must be an overlay or a copy. */
    if (stat (r.disk_abs, &st) == 0 && (st.st_mode & 0222) == 0 && !r.pool) {
      g_set_error (&err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s is read-only (a cached base image?): register an overlay of it "
                   "(kiln create, or qemu-img create -b) or a copy", r.disk);
      goto fail;
    }
  }

  conn = kiln_virt_open (ctx, NULL, &err);
  if (conn == NULL)
    goto fail;
  dom = virDomainLookupByName (conn, r.name);
  if (dom) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "a domain named '%s' exists already (choose another --name, or "
                 "virsh undefine %s)", r.name, r.name);
    goto fail;
  }
  /* A disk that linked clones sit on must not become a new template's
   * writable disk: booting it would corrupt every clone. */
  files = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (files, g_strdup (r.disk_abs));
  names = kiln_domain_dependents (conn, files, NULL, NULL, &err);
  if (names == NULL)
    goto fail;
  if (names->len > 0) {
    g_autofree char *list = kiln_domain_name_list (names);
    g_set_error (&err, KILN_ERROR, KILN_ERROR_BUSY,
                 "%s is the backing file of linked clone%s %s: it cannot be registered "
                 "as a writable disk (register a copy, or an overlay: kiln create)",
                 r.disk, names->len == 1 ? "" : "s", list);
    goto fail;
  }
  g_clear_pointer (&names, g_ptr_array_unref);
  names = kiln_domain_users (conn, files, NULL, &err);
  if (names == NULL)
    goto fail;
  if (names->len > 0) {
    g_autofree char *list = kiln_domain_name_list (names);
    g_set_error (&err, KILN_ERROR, KILN_ERROR_BUSY,
                 "%s is already a disk of domain%s %s (kiln clone makes a new domain "
                 "from a registered one)", r.disk, names->len == 1 ? "" : "s", list);
    goto fail;
  }

  if (r.network && strcmp (r.network, "user") != 0) {
    virNetworkPtr net = virNetworkLookupByName (conn, r.network);

    if (net == NULL) {
      g_set_error (&err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "no libvirt network named '%s' (virsh net-list --all shows them; "
                   "--network user needs none)", r.network);
      goto fail;
    }
    virNetworkFree (net);
  }

  if (resolve_os (&r, rs, &m, &err) == -1)
    goto fail;
  os_recommended (m.os, &rec_mib, &rec_cpus);
  virtio_blk = os_has_virtio (m.os, "block");
  if (kiln_accel_resolve (&accel, &err) == -1)
    goto fail;
  type = accel == KILN_ACCEL_KVM ? "kvm" : "qemu";

  chain = kiln_image_chain (r.disk_abs, &err);
  if (chain == NULL)
    goto fail;
  meta.is_template = true;
  if (chain->len > 1) {
    meta.base = chain->pdata[chain->len - 1];
    base_digest = digest_of (meta.base);
    meta.base_digest = base_digest;
  }
  meta.recipe = (char *) r.recipe;
  meta.created = created;

  macs = kiln_mac_used (conn, &err);
  if (macs == NULL || kiln_mac_random (macs, mac, &err) == -1)
    goto fail;

  /* The disks: DISK itself (or its volume), then the empty extra ones. */
  specs = g_new0 (struct kiln_domxml_disk_spec, 1 + r.extra->len);
  if (r.pool && !r.print_xml) {
    if (upload_to_pool (conn, &r, &err) == -1)
      goto fail;
    specs[0].pool = r.pool;
    specs[0].volume = r.vol_name;
  } else if (r.pool) {
    r.vol_name = g_strdup_printf ("%s.%s", r.name, r.format);
    specs[0].pool = r.pool;
    specs[0].volume = r.vol_name;
  } else {
    specs[0].path = r.disk_abs;
  }
  specs[0].format = r.format;
  specs[0].target = virtio_blk ? "vda" : "sda";
  specs[0].bus = virtio_blk ? "virtio" : "sata";
  for (guint k = 0; k < r.extra->len; k++) {
    struct extra_disk *e = &g_array_index (r.extra, struct extra_disk, k);
    g_autofree char *dir = g_path_get_dirname (r.disk_abs);
    g_autofree char *base = g_strdup_printf ("%s-disk%u.qcow2", r.name, k + 1);

    e->path = g_build_filename (dir, base, NULL);
    if (e->target == NULL)
      e->target = g_strdup_printf ("%s%c", virtio_blk ? "vd" : "sd", 'b' + k);
    if (!r.print_xml) {
      if (kiln_disk_create_empty (e->path, "qcow2", e->size, &err) == -1)
        goto fail;
      e->created = true;
    }
    specs[1 + k].path = e->path;
    specs[1 + k].format = "qcow2";
    specs[1 + k].target = e->target;
    specs[1 + k].bus = g_str_has_prefix (e->target, "vd") ? "virtio" : "sata";
  }

  spec.type = type;
  spec.name = r.name;
  spec.uuid = uuid;
  spec.arch = "x86_64";
  spec.osinfo_id = m.os ? osinfo_entity_get_id (OSINFO_ENTITY (m.os)) : NULL;
  spec.memory_mib = r.memory_mib ? r.memory_mib : rec_mib;
  spec.vcpus = r.vcpus ? r.vcpus : rec_cpus;
  spec.disks = specs;
  spec.n_disks = 1 + r.extra->len;
  spec.network = r.network;
  spec.nic_model = os_has_virtio (m.os, "net") ? "virtio" : "e1000";
  spec.mac = mac;
  spec.virtio_rng = true;
  dx = kiln_domxml_new_domain (&spec);
  kiln_domxml_set_meta (dx, &meta);
  xml = kiln_domxml_format (dx);

  if (!r.print_xml) {
    dom = virDomainDefineXML (conn, xml);
    if (dom == NULL) {
      kiln_virt_set_error (&err, "cannot define domain '%s'", r.name);
      goto fail;
    }
  }
  res->uuid = g_strdup (uuid);
  res->type = g_strdup (type);
  res->disk = g_strdup (r.vol_name ? r.vol_name : r.disk_abs);
  res->osinfo = g_strdup (m.id);
  res->osinfo_note = g_strdup (m.note);
  res->xml = g_steal_pointer (&xml);
  res->memory_mib = spec.memory_mib;
  res->vcpus = spec.vcpus;
  rc = 0;
  goto out;

fail:
  rollback (&r);
  g_propagate_error (errp, g_steal_pointer (&err));
out:
  kiln_osinfo_match_clear (&m);
  if (dom)
    virDomainFree (dom);
  if (conn)
    virConnectClose (conn);
  reg_clear (&r);
  return rc;
}

static void
print_result (struct kiln_ctx *ctx, const char *name, const struct kiln_register_result *res)
{
  if (ctx->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();

    json_builder_begin_object (b);
    kiln_json_add_string (b, "name", name);
    kiln_json_add_string (b, "uuid", res->uuid);
    kiln_json_add_string (b, "type", res->type);
    kiln_json_add_string (b, "disk", res->disk);
    kiln_json_add_string (b, "osinfo", res->osinfo);
    kiln_json_add_string (b, "osinfo_note", res->osinfo_note);
    json_builder_set_member_name (b, "memory_mib");
    json_builder_add_int_value (b, (gint64) res->memory_mib);
    json_builder_set_member_name (b, "vcpus");
    json_builder_add_int_value (b, res->vcpus);
    json_builder_end_object (b);
    kiln_json_print_builder (b);
  } else if (ctx->verbosity > 0) {
    printf ("registered template %s: %s, %" G_GUINT64_FORMAT " MiB, %u vCPU%s, domain type %s, disk %s\n",
            name, res->osinfo, res->memory_mib, res->vcpus, res->vcpus == 1 ? "" : "s",
            res->type, res->disk);
  }
}

int
kiln_cmd_register (struct kiln_ctx *ctx, int argc, char **argv)
{
  g_autoptr (kiln_opts) p = kiln_opts_new (ctx, argc, argv);
  g_autoptr (GError) err = NULL;
  g_autoptr (GArray) extra = g_array_new (FALSE, TRUE, sizeof (struct kiln_register_disk));
  g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  struct kiln_register_spec rs = { .network = "user" };
  struct kiln_register_result res = { 0 };
  const char *arg = NULL;
  guint64 v;
  int c, i, rc;

  while ((c = kiln_opts_next (p, &arg)) != 0) {
    switch (c) {
    case OPT_NAME: rs.name = arg; break;
    case OPT_OS_VARIANT: rs.os_variant = arg; break;
    case OPT_MEMORY:
      if (!parse_uint (arg, 16 * 1024 * 1024, &v) || v < 16)
        return kiln_usage_error (ctx, "--memory takes MiB (at least 16), not '%s'", arg);
      rs.memory_mib = v;
      break;
    case OPT_VCPUS:
      if (!parse_uint (arg, 4096, &v))
        return kiln_usage_error (ctx, "--vcpus takes a number of CPUs, not '%s'", arg);
      rs.vcpus = (unsigned) v;
      break;
    case OPT_NETWORK: rs.network = strcmp (arg, "none") == 0 ? NULL : arg; break;
    case OPT_DISK:
      if ((rc = parse_extra_disk (ctx, extra, owned, arg)) != 0)
        return rc;
      break;
    case OPT_POOL: rs.pool = arg; break;
    case OPT_PRINT_XML: rs.print_xml = true; break;
    case OPT_RECIPE: rs.recipe = arg; break;
    }
  }
  i = kiln_opts_operand_index (p);
  if (argc - i != 1)
    return kiln_usage_error (ctx, argc - i == 0 ? "which disk? (kiln register DISK --name NAME)"
                                                : "one disk at a time (add more with --disk)");
  if (rs.name == NULL)
    return kiln_usage_error (ctx, "--name NAME is required");
  rs.disk = argv[i];
  rs.extra = (const struct kiln_register_disk *) extra->data;
  rs.n_extra = extra->len;

  if (kiln_register_template (ctx, &rs, &res, &err) == -1)
    return kiln_fail (err);
  if (res.osinfo_note)
    kiln_warn ("%s", res.osinfo_note);
  if (rs.print_xml)
    fputs (res.xml, stdout);
  else
    print_result (ctx, rs.name, &res);
  kiln_register_result_clear (&res);
  return KILN_EXIT_OK;
}
