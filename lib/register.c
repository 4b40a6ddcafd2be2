/* register.c: kiln_register_template, the template domain for a disk
 * image (see register.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "register.h"
#include "access.h"
#include "accel.h"
#include "cache.h"
#include "digest.h"
#include "diskfile.h"
#include "domain.h"
#include "domxml.h"
#include "event.h"
#include "fault.h"
#include "firmware.h"
#include "guest.h"
#include "identity.h"
#include "mac.h"
#include "osinfo.h"
#include "qcow2.h"
#include "storage.h"
#include "value.h"
#include "virt.h"

struct extra_disk {
  gint64 size;
  char *target;
  char *path;
  bool created;
};

/* One registration in progress: SPEC and what it has made so far. */
struct reg {
  const struct kiln_register_spec *s;
  GArray *extra;                  /* struct extra_disk */
  char *disk_abs, *format;
  char *disk_read;                /* where DISK's bytes are now (SPEC->disk_now) */
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
  g_free (r->disk_read);
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

/* Find the OS: by its libosinfo id, by the caller's inspection of DISK
 * (in the spec), or by inspecting DISK (one read-only appliance launch). */
static int
resolve_os (struct reg *r, struct kiln_osinfo_match *m, GError **err)
{
  const struct kiln_register_spec *s = r->s;
  OsinfoDb *db = kiln_osinfo_db (err);

  if (db == NULL)
    return -1;
  if (s->os_variant && strcmp (s->os_variant, "auto") != 0) {
    g_autofree char *distro = NULL;
    int major, minor;

    split_short_id (s->os_variant, &distro, &major, &minor);
    return kiln_osinfo_resolve (db, s->os_variant, distro, major, minor, "linux", m, err);
  } else if (s->inspected_distro) {
    kiln_event_debug ("register", "%s: OS from the build's inspection: %s %d.%d (%s)", s->disk,
                      s->inspected_distro, s->inspected_major, s->inspected_minor,
                      s->inspected_osinfo ? s->inspected_osinfo : "no osinfo id");
    return kiln_osinfo_resolve (db, s->inspected_osinfo, s->inspected_distro,
                                s->inspected_major, s->inspected_minor,
                                s->inspected_type ? s->inspected_type : "linux", m, err);
  } else {
    g_autoptr (kiln_guest) gu = kiln_guest_new (true);
    int rc;

    kiln_event_info ("register", "Inspecting %s", s->disk);
    if (kiln_guest_add_disk (gu, r->disk_read, r->format, err) == -1 ||
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

/* Upload DISK into POOL as volume NAME.FORMAT (or SPEC->volume), then
 * verify it: its size on the host always, its bytes downloaded back with
 * SPEC->verify_upload. */
static int
upload_to_pool (const struct kiln_ctx *ctx, virConnectPtr conn, struct reg *r, GError **err)
{
  r->vol = kiln_storage_upload_image (ctx, conn, r->s->pool, r->vol_name, r->disk_read,
                                      r->s->verify_upload, err);
  if (r->vol == NULL)
    return -1;
  kiln_event_info ("register", "%s uploaded into pool '%s' as '%s': size checked%s",
                   r->s->disk, r->s->pool, r->vol_name,
                   r->s->verify_upload ? ", SHA-256 of the volume read back matches" : "");
  return 0;
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
  g_clear_pointer (&res->extra_files, g_ptr_array_unref);
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
  struct kiln_domain_index *ix = NULL;
  const char *type;
  guint64 rec_mib;
  unsigned rec_cpus;
  int rc = -1;
  bool virtio_blk, remote, efi;

  memset (res, 0, sizeof *res);
  /* The name becomes file names (NAME.raw, NAME-disk1.qcow2). */
  if (!kiln_name_valid (rs->name, "template name", errp))
    return -1;
  r.s = rs;
  r.extra = g_array_new (FALSE, TRUE, sizeof (struct extra_disk));
  for (size_t k = 0; k < rs->n_extra; k++) {
    struct extra_disk e = { .size = rs->extra[k].size, .target = g_strdup (rs->extra[k].target) };
    g_array_append_val (r.extra, e);
  }
  r.disk_abs = kiln_path_canonical (rs->disk);
  r.disk_read = kiln_path_canonical (rs->disk_now ? rs->disk_now : rs->disk);
  r.format = kiln_image_file_format (r.disk_read, &err);
  if (r.format == NULL)
    goto fail;
  /* Said, because a header is what a guest could have written: register
   * a disk kiln or qemu-img made, not one a guest has run on raw. */
  kiln_event_info ("register", "%s: format %s, read from the file's header (register "
                   "takes no format; the domain's XML will say %s)", rs->disk, r.format,
                   r.format);
  {
    struct stat st;

    /* kiln's cache publishes bases read-only; a template's disk is
     * written by its first boot, so it must be an overlay or a copy. */
    if (stat (r.disk_read, &st) == 0 && (st.st_mode & 0222) == 0 && !rs->pool) {
      g_set_error (&err, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s is read-only (a cached base image?): register an overlay of it "
                   "(kiln create, or qemu-img create -b) or a copy", rs->disk);
      goto fail;
    }
  }

  conn = kiln_virt_open (ctx, NULL, &err);
  if (conn == NULL)
    goto fail;
  if (g_strcmp0 (rs->replaces, rs->name) != 0 && kiln_domain_exists (conn, rs->name)) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_EXISTS,
                 "a domain named '%s' exists already (choose another --name, or "
                 "virsh undefine %s)", rs->name, rs->name);
    goto fail;
  }
  remote = !kiln_virt_is_local (conn);
  if (remote && rs->pool == NULL) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_USAGE,
                 "%s is a connection to another host (%s), "
                 "which cannot use %s where it is: give --pool POOL (kiln register) to "
                 "upload it into one of that host's storage pools",
                 kiln_default_uri (ctx), kiln_virt_remote_why (), rs->disk);
    goto fail;
  }
  if (remote && r.extra->len > 0) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_USAGE,
                 "--disk on a remote connection: not supported yet (kiln makes extra disks "
                 "as local files); add them to the template on its host (virsh vol-create-as, "
                 "virsh attach-disk --config)");
    goto fail;
  }
  /* The domains, listed and read once for the questions below (dependents,
   * users, MACs in use). */
  if ((ix = kiln_domain_index_new (conn, &err)) == NULL)
    goto fail;
  /* A disk that linked clones sit on must not become a new template's
   * writable disk: booting it would corrupt every clone.  On a remote
   * connection the local image is only what the upload reads: no domain
   * there can use it. */
  if (remote)
    goto checked;
  files = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (files, g_strdup (r.disk_abs));
  names = kiln_domain_index_dependents (ix, files, NULL, NULL, &err);
  if (names == NULL)
    goto fail;
  if (names->len > 0) {
    g_autofree char *list = kiln_domain_name_list (names);
    g_set_error (&err, KILN_ERROR, KILN_ERROR_BUSY,
                 "%s is the backing file of linked clone%s %s: it cannot be registered "
                 "as a writable disk (register a copy, or an overlay: kiln create)",
                 rs->disk, names->len == 1 ? "" : "s", list);
    goto fail;
  }
  g_clear_pointer (&names, g_ptr_array_unref);
  names = kiln_domain_index_users (ix, files, rs->replaces, &err);
  if (names == NULL)
    goto fail;
  if (names->len > 0) {
    g_autofree char *list = kiln_domain_name_list (names);
    g_set_error (&err, KILN_ERROR, KILN_ERROR_BUSY,
                 "%s is already a disk of domain%s %s (kiln clone makes a new domain "
                 "from a registered one)", rs->disk, names->len == 1 ? "" : "s", list);
    goto fail;
  }
checked:

  if (rs->network && strcmp (rs->network, "user") != 0) {
    virNetworkPtr net = virNetworkLookupByName (conn, rs->network);

    if (net == NULL) {
      g_set_error (&err, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "no libvirt network named '%s' (virsh net-list --all shows them; "
                   "--network user needs none)", rs->network);
      goto fail;
    }
    virNetworkFree (net);
  }

  if (resolve_os (&r, &m, &err) == -1)
    goto fail;
  os_recommended (m.os, &rec_mib, &rec_cpus);
  virtio_blk = os_has_virtio (m.os, "block");
  if (kiln_accel_resolve (&accel, &err) == -1)
    goto fail;
  type = accel == KILN_ACCEL_KVM ? "kvm" : "qemu";

  chain = kiln_image_chain (r.disk_read, &err);
  if (chain == NULL)
    goto fail;
  /* Only the image's own bytes go up: a backing file would be missing
   * on the other host. */
  if (remote && chain->len > 1) {
    g_set_error (&err, KILN_ERROR, KILN_ERROR_FAILED,
                 "%s is an overlay on %s: only its own bytes would be uploaded, and the "
                 "remote host has no such backing file; upload a flat copy (qemu-img "
                 "convert -O qcow2 %s FLAT.qcow2)", rs->disk,
                 (const char *) chain->pdata[1], rs->disk);
    goto fail;
  }
  {
    /* A guest only UEFI can boot gets OVMF (SeaBIOS would find no boot code). */
    struct kiln_disk_boot boot;

    if (kiln_disk_boot_of_image (r.disk_read, r.format, &boot, &err) == -1)
      goto fail;
    efi = kiln_disk_boot_uefi_only (&boot);
    if (efi)
      kiln_event_info ("register", "%s: GPT with an EFI system partition and no BIOS boot "
                       "partition: the domain boots with UEFI (OVMF, Secure Boot off)", rs->disk);
  }
  /* The template runs as the hypervisor's user: its whole chain must be
   * reachable, or it (and every clone) fails only at virsh start. */
  if (rs->pool == NULL && !rs->print_xml && kiln_hypervisor_check_reach (conn, chain, &err) == -1)
    goto fail;
  meta.is_template = true;
  if (chain->len > 1) {
    meta.base = chain->pdata[chain->len - 1];
    /* What the template's disk sits on: a cached image is named by its
     * digest; any other base is read once. */
    base_digest = kiln_cache_digest_of (meta.base);
    if (base_digest == NULL) {
      kiln_event_info ("register", "Computing the digest of %s", (const char *) meta.base);
      base_digest = kiln_digest_file (meta.base, "sha512", &err);
    }
    if (base_digest == NULL)
      goto fail;
    meta.base_digest = base_digest;
  }
  meta.recipe = (char *) rs->recipe;
  meta.created = created;
  /* The image's mark does not survive a copy, an upload into a pool or a
   * filesystem without user xattrs; the domain's metadata does. */
  if (kiln_identity_chain_marked (chain))
    meta.firstboot_identity = (char *) KILN_IDENTITY_VERSION;

  macs = g_hash_table_ref (kiln_domain_index_macs (ix));
  if (kiln_mac_random (macs, mac, &err) == -1)
    goto fail;

  /* The disks: DISK itself (or its volume), then the empty extra ones. */
  specs = g_new0 (struct kiln_domxml_disk_spec, 1 + r.extra->len);
  res->extra_files = g_ptr_array_new_with_free_func (g_free);
  if (rs->pool)
    r.vol_name = rs->volume ? g_strdup (rs->volume) : g_strdup_printf ("%s.%s", rs->name, r.format);
  if (rs->pool && !rs->print_xml) {
    if (upload_to_pool (ctx, conn, &r, &err) == -1 ||
        kiln_fault_check ("template-upload", &err) == -1)
      goto fail;
    specs[0].pool = rs->pool;
    specs[0].volume = r.vol_name;
  } else if (rs->pool) {
    specs[0].pool = rs->pool;
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
    g_autofree char *base = g_strdup_printf ("%s-disk%u.qcow2", rs->name, k + 1);

    e->path = g_build_filename (dir, base, NULL);
    g_ptr_array_add (res->extra_files, g_strdup (e->path));
    if (e->target == NULL)
      e->target = g_strdup_printf ("%s%c", virtio_blk ? "vd" : "sd", 'b' + k);
    if (!rs->print_xml) {
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
  spec.name = rs->name;
  spec.uuid = uuid;
  spec.arch = "x86_64";
  spec.osinfo_id = m.os ? osinfo_entity_get_id (OSINFO_ENTITY (m.os)) : NULL;
  spec.memory_mib = rs->memory_mib ? rs->memory_mib : rec_mib;
  spec.vcpus = rs->vcpus ? rs->vcpus : rec_cpus;
  spec.disks = specs;
  spec.n_disks = 1 + r.extra->len;
  spec.network = rs->network;
  spec.nic_model = os_has_virtio (m.os, "net") ? "virtio" : "e1000";
  spec.mac = mac;
  spec.virtio_rng = true;
  dx = kiln_domxml_new_domain (&spec);
  if (efi)
    kiln_domxml_set_efi (dx);
  kiln_domxml_set_meta (dx, &meta);
  xml = kiln_domxml_format (dx);

  if (!rs->print_xml) {
    dom = virDomainDefineXML (conn, xml);
    if (dom == NULL) {
      kiln_virt_set_error (&err, "cannot define domain '%s'", rs->name);
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
  kiln_register_result_clear (res);
  g_propagate_error (errp, g_steal_pointer (&err));
out:
  kiln_osinfo_match_clear (&m);
  kiln_domain_index_free (ix);
  if (dom)
    virDomainFree (dom);
  if (conn)
    virConnectClose (conn);
  reg_clear (&r);
  return rc;
}


int
kiln_register_define (const struct kiln_ctx *ctx, const struct kiln_register_spec *rs,
                      const struct kiln_register_result *res, GError **err)
{
  virConnectPtr conn = kiln_virt_open (ctx, NULL, err);
  virDomainPtr dom = NULL;
  guint made = 0;
  int rc = -1;

  if (conn == NULL)
    return -1;
  for (; res->extra_files && made < res->extra_files->len; made++)
    if (kiln_disk_create_empty (res->extra_files->pdata[made], "qcow2", rs->extra[made].size,
                                err) == -1)
      goto out;
  if (kiln_fault_check ("template-define", err) == -1)
    goto out;
  dom = virDomainDefineXML (conn, res->xml);
  if (dom == NULL) {
    kiln_virt_set_error (err, "cannot define domain '%s'", rs->name);
    goto out;
  }
  rc = 0;
out:
  /* Only the files this call made: kiln_disk_create_empty never replaces. */
  while (rc == -1 && made > 0)
    unlink (res->extra_files->pdata[--made]);
  if (dom)
    virDomainFree (dom);
  virConnectClose (conn);
  return rc;
}
