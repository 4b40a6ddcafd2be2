/* test-domxml.c: the domain XML work of register and clone (name, UUID,
 * MAC and disk rewriting, kiln metadata, what virt-clone shares), checked
 * against libvirt's test:///default driver, which parses and validates it
 * as libvirtd would; and the pieces around it: MACs, qcow2 backing chains
 * and dependents, sparse copies, sizes. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tap.h"
#include "kiln.h"
#include "diskfile.h"
#include "domain.h"
#include "domxml.h"
#include "mac.h"
#include "qcow2.h"
#include "virt.h"

/* The string at XPATH of DX is WANT (NULL: absent). */
static void
is_at (struct kiln_domxml *dx, const char *xpath, const char *want, const char *desc)
{
  g_autofree char *s = kiln_domxml_get (dx, xpath);

  is_str (s, want, "%s", desc);
}

static const char *orig_xml =
  "<domain type='test'>"
  "<name>tmpl</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e1111</uuid>"
  "<metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
  "<libosinfo:os id='http://debian.org/debian/11'/></libosinfo:libosinfo>"
  "<kiln:template xmlns:kiln='https://kiln.example/xmlns/template/1' template='yes'>"
  "<kiln:base digest='sha256:00ff'>/cache/base</kiln:base><kiln:recipe>r.yaml</kiln:recipe>"
  "</kiln:template></metadata>"
  "<memory unit='MiB'>512</memory><vcpu>1</vcpu>"
  "<os><type arch='x86_64'>hvm</type><nvram>/var/lib/nv/tmpl_VARS.fd</nvram></os>"
  "<devices>"
  "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
  "<source file='/img/tmpl.qcow2'/><target dev='vda' bus='virtio'/></disk>"
  "<disk type='volume' device='disk'><driver name='qemu' type='raw'/>"
  "<source pool='p' volume='data.img'/><target dev='vdb' bus='virtio'/></disk>"
  "<disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda' bus='sata'/><readonly/></disk>"
  "<disk type='file' device='disk'><source file='/img/ro.img'/><target dev='vdc' bus='virtio'/><readonly/></disk>"
  "<disk type='file' device='disk'><source file='/img/shared.img'/><target dev='vdd' bus='virtio'/><shareable/></disk>"
  "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>"
  "<interface type='network'><source network='default'/></interface>"
  "<graphics type='vnc' port='5901' autoport='no'/>"
  "</devices></domain>";

static void
test_build_and_define (virConnectPtr conn)
{
  struct kiln_domxml_disk_spec disks[] = {
    { .path = "/var/tmp/a b&c.qcow2", .format = "qcow2", .target = "vda", .bus = "virtio" },
    { .path = "/var/tmp/extra.qcow2", .format = "qcow2", .target = "vdb", .bus = "virtio" },
  };
  struct kiln_domxml_spec spec = {
    .type = "test", .name = "kiln-unit-<tmpl>&", .uuid = "0b0c57c8-51a7-4c3a-9d6d-1c39a8e2a001",
    .arch = "x86_64", .osinfo_id = "http://debian.org/debian/11", .memory_mib = 768, .vcpus = 2,
    .disks = disks, .n_disks = 2, .network = "user", .nic_model = "virtio",
    .mac = "52:54:00:12:34:56", .virtio_rng = true,
  };
  struct kiln_meta meta = { .is_template = true, .base = "/cache/sha256-x",
                            .base_digest = "sha256:ab", .recipe = "r&d.yaml" };
  g_autoptr (kiln_domxml) dx = kiln_domxml_new_domain (&spec), back = NULL;
  g_autofree char *xml = NULL, *got = NULL, *mdxml = NULL, *s = NULL;
  virDomainPtr dom;

  kiln_domxml_set_meta (dx, &meta);
  xml = kiln_domxml_format (dx);
  ok (strstr (xml, "a b&amp;c.qcow2") != NULL, "special characters in paths are escaped, not pasted");
  dom = virDomainDefineXML (conn, xml);
  ok (dom != NULL, "the test driver accepts register's XML");
  if (dom == NULL) {
    diag (virGetLastErrorMessage ());
    return;
  }
  is_str (virDomainGetName (dom), "kiln-unit-<tmpl>&", "name survives the round trip");
  got = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  back = kiln_domxml_parse (got, NULL);
  ok (back != NULL, "libvirt's XML parses back");
  s = kiln_domxml_get (back, "/domain/uuid");
  is_str (s, "0b0c57c8-51a7-4c3a-9d6d-1c39a8e2a001", "uuid kept");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/memory");
  is_str (s, "786432", "memory 768 MiB (libvirt says KiB)");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/vcpu");
  is_str (s, "2", "2 vCPUs");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/devices/disk[1]/source/@file");
  is_str (s, "/var/tmp/a b&c.qcow2", "first disk's path");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/devices/disk[2]/target/@dev");
  is_str (s, "vdb", "extra disk on vdb");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/devices/interface/@type");
  is_str (s, "user", "user-mode NIC");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/devices/interface/mac/@address");
  is_str (s, "52:54:00:12:34:56", "its MAC");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/devices/interface/model/@type");
  is_str (s, "virtio", "virtio NIC model");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_get (back, "/domain/devices/console/target/@type");
  is_str (s, "serial", "serial console");
  g_clear_pointer (&s, g_free);
  mdxml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, KILN_XMLNS_TEMPLATE, 0);
  ok (mdxml && strstr (mdxml, "template=\"yes\"") && strstr (mdxml, "r&amp;d.yaml"),
      "libvirt finds kiln's metadata by its namespace");
  {
    struct kiln_meta m2;
    is_int (kiln_domxml_get_meta (back, &m2), 1, "metadata read back");
    ok (m2.is_template, "template=yes");
    is_str (m2.base_digest, "sha256:ab", "base digest");
    is_str (m2.recipe, "r&d.yaml", "recipe");
    kiln_meta_clear (&m2);
  }
  virDomainUndefine (dom);
  virDomainFree (dom);
}

static void
test_clone_rewrite (virConnectPtr conn)
{
  g_autoptr (kiln_domxml) dx = kiln_domxml_parse (orig_xml, NULL);
  g_autoptr (GPtrArray) disks = NULL, ifaces = NULL;
  g_autofree char *xml = NULL, *s = NULL;
  struct kiln_meta m = { 0 };
  int cloned = 0;
  virDomainPtr dom;

  ok (dx != NULL, "original parses");
  kiln_domxml_set_name (dx, "clone-1");
  kiln_domxml_set_uuid (dx, "11111111-2222-3333-4444-555555555555");
  disks = kiln_domxml_disks (dx);
  is_int (disks->len, 5, "five disks found");
  for (guint i = 0; i < disks->len; i++) {
    struct kiln_domxml_disk *d = disks->pdata[i];
    if (kiln_domxml_disk_is_cloned (d)) {
      g_autofree char *p = g_strdup_printf ("/img/clone-1-%d.qcow2", cloned++);
      kiln_domxml_disk_set_file (d, p, "qcow2");
    }
  }
  is_int (cloned, 2, "the writable disk and the volume are cloned; CD-ROM, read-only, shareable are not");
  ifaces = kiln_domxml_interfaces (dx);
  is_int (ifaces->len, 2, "two NICs");
  kiln_domxml_interface_set_mac (ifaces->pdata[0], "52:54:00:aa:00:01");
  kiln_domxml_interface_set_mac (ifaces->pdata[1], "52:54:00:aa:00:02");
  kiln_domxml_reset_graphics (dx);
  kiln_domxml_set_nvram (dx, "/var/lib/nv/clone-1_VARS.fd");
  kiln_domxml_get_meta (dx, &m);
  m.is_template = false;
  m.original = g_strdup ("tmpl");
  m.linked = true;
  kiln_domxml_set_meta (dx, &m);
  kiln_meta_clear (&m);

  is_at (dx, "/domain/name", "clone-1", "new name");
  is_at (dx, "/domain/uuid", "11111111-2222-3333-4444-555555555555", "new uuid");
  is_at (dx, "/domain/devices/disk[1]/source/@file", "/img/clone-1-0.qcow2", "disk rewritten");
  is_at (dx, "/domain/devices/disk[2]/@type", "file", "volume disk becomes a file disk");
  is_at (dx, "/domain/devices/disk[2]/source/@pool", NULL, "the volume's pool= is gone");
  is_at (dx, "/domain/devices/disk[2]/driver/@type", "qcow2", "driver type follows the new file");
  is_at (dx, "/domain/devices/disk[3]/source/@file", "/iso/x.iso", "CD-ROM shared");
  is_at (dx, "/domain/devices/disk[4]/source/@file", "/img/ro.img", "read-only disk shared");
  is_at (dx, "/domain/devices/disk[5]/source/@file", "/img/shared.img", "shareable disk shared");
  is_at (dx, "/domain/devices/interface[2]/mac/@address", "52:54:00:aa:00:02", "a NIC without <mac> gets one");
  is_at (dx, "/domain/devices/graphics/@port", NULL, "graphics port dropped");
  is_at (dx, "/domain/devices/graphics/@autoport", "yes", "graphics autoport");
  s = kiln_domxml_nvram (dx);
  is_str (s, "/var/lib/nv/clone-1_VARS.fd", "nvram path rewritten");
  g_clear_pointer (&s, g_free);
  is_at (dx, "/domain/metadata/libosinfo:libosinfo/libosinfo:os/@id", "http://debian.org/debian/11", "other metadata kept");
  {
    g_autoptr (GPtrArray) els = kiln_domxml_nodes (dx, "/domain/metadata/kiln:template");
    is_int (els->len, 1, "one kiln element after the rewrite");
  }
  kiln_domxml_get_meta (dx, &m);
  ok (!m.is_template && m.linked, "clone metadata: not a template, linked");
  is_str (m.original, "tmpl", "records its original");
  is_str (m.base_digest, "sha256:00ff", "keeps the template's base digest");
  is_str (m.recipe, "r.yaml", "keeps the recipe");
  kiln_meta_clear (&m);

  /* The test driver has no NVRAM or volumes: drop those before defining. */
  {
    g_autoptr (GPtrArray) nv = kiln_domxml_nodes (dx, "/domain/os/nvram");
    for (guint i = 0; i < nv->len; i++) {
      xmlUnlinkNode (nv->pdata[i]);
      xmlFreeNode (nv->pdata[i]);
    }
  }
  xml = kiln_domxml_format (dx);
  dom = virDomainDefineXML (conn, xml);
  ok (dom != NULL, "the test driver accepts the clone's XML");
  if (dom == NULL)
    diag (virGetLastErrorMessage ());
  if (dom) {
    virDomainUndefine (dom);
    virDomainFree (dom);
  }
}

static void
test_macs (virConnectPtr conn)
{
  struct kiln_domain_index *ix = kiln_domain_index_new (conn, NULL);
  g_autoptr (GHashTable) used = ix ? g_hash_table_ref (kiln_domain_index_macs (ix)) : NULL;
  char mac[KILN_MAC_LEN], mac2[KILN_MAC_LEN];

  kiln_domain_index_free (ix);

  ok (used && g_hash_table_contains (used, "aa:bb:cc:dd:ee:ff"),
      "MACs in use on the connection are found (test driver's own domain)");
  ok (kiln_mac_random (used, mac, NULL) == 0 && g_str_has_prefix (mac, "52:54:00:") && kiln_mac_valid (mac),
      "random MAC %s in 52:54:00", mac);
  ok (g_hash_table_contains (used, mac), "a new MAC is added to the used set");
  kiln_mac_random (used, mac2, NULL);
  ok (strcmp (mac, mac2) != 0, "two random MACs differ");
  ok (!kiln_mac_valid ("53:54:00:00:00:01"), "multicast refused");
  ok (!kiln_mac_valid ("52:54:00:00:00"), "short MAC refused");
  ok (!kiln_mac_valid ("52:54:00:00:00:0g"), "non-hex refused");
}

static void
test_chain_and_dependents (virConnectPtr conn)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-unit-XXXXXX", NULL);
  g_autofree char *base = g_build_filename (dir, "base.qcow2", NULL);
  g_autofree char *ov = g_build_filename (dir, "ov.qcow2", NULL);
  g_autofree char *cp = g_build_filename (dir, "copy.qcow2", NULL);
  g_autofree char *b = NULL, *f = NULL;
  g_autoptr (GPtrArray) chain = NULL, files = NULL, deps = NULL;
  g_autoptr (GError) err = NULL;
  virDomainPtr d1 = NULL, d2 = NULL;

  ok (kiln_disk_create_empty (base, "qcow2", 64 * 1024 * 1024, &err) == 0, "empty qcow2 made");
  ok (kiln_disk_create_overlay (ov, base, "qcow2", false, &err) == 0, "overlay made");
  ok (kiln_disk_create_overlay (ov, base, "qcow2", false, NULL) == -1, "overlay refuses an existing file");
  ok (kiln_qcow2_backing (ov, &b, &f, NULL) == 0, "overlay header read");
  is_str (b, base, "its backing file");
  is_str (f, "qcow2", "its backing format");
  chain = kiln_image_chain (ov, NULL);
  is_int (chain ? chain->len : 0, 2, "chain of two");
  {
    g_autofree char *fmt = kiln_image_file_format (base, NULL);
    is_str (fmt, "qcow2", "format probed");
  }
  {
    g_autofree char *xml1 = NULL, *xml2 = NULL;
    struct kiln_domxml_disk_spec ds = { .path = base, .format = "qcow2", .target = "vda" };
    struct kiln_domxml_disk_spec dc = { .path = ov, .format = "qcow2", .target = "vda" };
    struct kiln_domxml_spec s1 = { .type = "test", .name = "kiln-unit-base", .memory_mib = 64, .vcpus = 1,
                                   .disks = &ds, .n_disks = 1 };
    struct kiln_domxml_spec s2 = s1;
    g_autoptr (kiln_domxml) x1 = NULL, x2 = NULL;

    s2.name = "kiln-unit-ov";
    s2.disks = &dc;
    x1 = kiln_domxml_new_domain (&s1);
    x2 = kiln_domxml_new_domain (&s2);
    xml1 = kiln_domxml_format (x1);
    xml2 = kiln_domxml_format (x2);
    d1 = virDomainDefineXML (conn, xml1);
    d2 = virDomainDefineXML (conn, xml2);
    ok (d1 && d2, "template and clone defined on the test driver");
    files = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (files, g_strdup (base));
    deps = kiln_domain_dependents (conn, files, NULL, "kiln-unit-base", NULL);
    ok (deps && deps->len == 1 && strcmp (deps->pdata[0], "kiln-unit-ov") == 0,
        "the overlay's domain depends on the template's disk");
    g_clear_pointer (&deps, g_ptr_array_unref);
    deps = kiln_domain_users (conn, files, "kiln-unit-ov", NULL);
    ok (deps && deps->len == 1 && strcmp (deps->pdata[0], "kiln-unit-base") == 0,
        "the template uses its own disk");
  }
  ok (kiln_file_copy_sparse (base, cp, 0644, false, NULL) == 0, "sparse copy");
  {
    struct stat a, c;
    g_autofree char *x = NULL, *y = NULL;
    gsize xl = 0, yl = 0;

    stat (base, &a);
    stat (cp, &c);
    is_int (c.st_size, a.st_size, "same size");
    ok (c.st_blocks <= a.st_blocks + 8, "no more blocks than the source (%lld vs %lld)",
        (long long) c.st_blocks, (long long) a.st_blocks);
    g_file_get_contents (base, &x, &xl, NULL);
    g_file_get_contents (cp, &y, &yl, NULL);
    ok (xl == yl && memcmp (x, y, xl) == 0, "same bytes");
    is_int (c.st_mode & 0777, 0644, "mode as asked");
  }
  ok (kiln_file_copy_sparse (base, cp, 0644, false, NULL) == -1, "copy refuses an existing file");
  if (d1) { virDomainUndefine (d1); virDomainFree (d1); }
  if (d2) { virDomainUndefine (d2); virDomainFree (d2); }
  unlink (ov);
  unlink (cp);
  unlink (base);
  rmdir (dir);
}

/* What a clone gets of its own (issue 15): paths derived from its name,
 * the SMBIOS uuid, the NVRAM in either form, disks of any source type. */
static void
test_own (void)
{
  static const struct { const char *path, *want; } paths[] = {
    { "/var/log/src-serial.log", "/var/log/c1-serial.log" },
    { "/var/log/src.log", "/var/log/c1.log" },
    { "/nv/src_VARS.fd", "/nv/c1_VARS.fd" },
    { "/var/log/serial.log", "/var/log/serial-c1.log" },
    { "/var/log/srcfoo.log", "/var/log/srcfoo-c1.log" },
    { "/run/agent", "/run/agent-c1" },
    { "/run/x.longextension", "/run/x.longextension-c1" },
  };
  g_autoptr (kiln_domxml) dx = kiln_domxml_parse (
    "<domain><uuid>6695eb01-f6a4-8304-79aa-97f2502e1111</uuid>"
    "<sysinfo type='smbios'><system><entry name='uuid'>6695eb01-f6a4-8304-79aa-97f2502e1111</entry>"
    "</system></sysinfo>"
    "<os><nvram type='file'><source file='/nv/src_VARS.fd'/></nvram></os>"
    "<devices><disk type='vhostuser' device='disk'><source type='unix' path='/run/vu.sock'/>"
    "<target dev='vda'/></disk>"
    "<disk type='file' device='disk'><target dev='vdb'/></disk>"
    "<serial type='file'><source path='/l/src-s.log'/></serial>"
    "<console type='file'><source path='/l/src-s.log'/></console>"
    "<rng model='virtio'><backend model='egd' type='unix'><source mode='bind' path='/r/src.egd'/>"
    "</backend></rng>"
    "<interface type='vhostuser'><source type='unix' path='/r/src-vu' mode='server'/></interface>"
    "<interface type='vhostuser'><source type='unix' path='/r/ovs-vu' mode='client'/></interface>"
    "<memory model='nvdimm'><source><path>/dev/pmem0</path></source></memory>"
    "</devices></domain>", NULL);
  g_autoptr (GPtrArray) disks = NULL;
  g_autofree char *s = NULL;

  for (size_t i = 0; i < G_N_ELEMENTS (paths); i++) {
    g_autofree char *got = kiln_domxml_own_path (paths[i].path, "src", "c1");
    is_str (got, paths[i].want, "own path of %s", paths[i].path);
  }
  kiln_domxml_set_uuid (dx, "11111111-2222-3333-4444-555555555555");
  is_at (dx, "/domain/sysinfo/system/entry[@name='uuid']", "11111111-2222-3333-4444-555555555555",
         "the SMBIOS uuid follows <uuid>");
  s = kiln_domxml_nvram (dx);
  is_str (s, "/nv/src_VARS.fd", "NVRAM in the <source file=> form read");
  kiln_domxml_set_nvram (dx, "/nv/c1_VARS.fd");
  is_at (dx, "/domain/os/nvram/source/@file", "/nv/c1_VARS.fd", "and set in that form");
  disks = kiln_domxml_disks (dx);
  ok (kiln_domxml_disk_is_cloned (disks->pdata[0]),
      "a writable vhost-user disk is not shared (clone refuses it)");
  ok (!kiln_domxml_disk_is_cloned (disks->pdata[1]), "an empty drive has nothing to clone");
  is_int (kiln_domxml_make_own (dx, "src", "c1"), 4, "four per-domain paths rewritten");
  is_at (dx, "/domain/devices/console/source/@path", "/l/c1-s.log", "the console's file");
  is_at (dx, "/domain/devices/rng/backend/source/@path", "/r/c1.egd", "an EGD socket QEMU listens on");
  is_at (dx, "/domain/devices/interface[1]/source/@path", "/r/c1-vu", "a vhost-user server socket");
  is_at (dx, "/domain/devices/interface[2]/source/@path", "/r/ovs-vu",
         "a vhost-user socket QEMU connects to is shared");
  g_clear_pointer (&s, g_free);
  s = kiln_domxml_unclonable (dx);
  ok (s && strstr (s, "/dev/pmem0"), "an NVDIMM backed by a file cannot be cloned (%s)", s ? s : "");
}

int
main (void)
{
  virConnectPtr conn;
  g_autoptr (kiln_domxml) bad = NULL;

  plan (88);
  kiln_virt_quiet ();
  conn = virConnectOpen ("test:///default");
  ok (conn != NULL, "test:///default opens");
  if (conn == NULL)
    return 1;
  bad = kiln_domxml_parse ("<domain><name>x</nam></domain>", NULL);
  ok (bad == NULL, "malformed XML refused");
  test_build_and_define (conn);
  test_clone_rewrite (conn);
  test_macs (conn);
  test_chain_and_dependents (conn);
  test_own ();
  {
    g_autoptr (kiln_domxml) nd = kiln_domxml_parse (
      "<domain><devices><disk type='network' device='disk'><source protocol='rbd' name='p/img'/>"
      "<target dev='vda'/></disk></devices></domain>", NULL);
    g_autoptr (GPtrArray) dd = kiln_domxml_disks (nd);
    ok (dd->len == 1 && kiln_domxml_disk_is_cloned (dd->pdata[0]),
        "a writable network disk is not shared with a clone (clone refuses it)");
  }
  {
    /* A setter given the disk's own fields (the fuzzer found
     * set_volume (d, d->pool, ...) reading d->pool after freeing it). */
    g_autoptr (kiln_domxml) vd = kiln_domxml_parse (
      "<domain><devices><disk type='volume' device='disk'><source pool='p1' volume='v.img'/>"
      "<target dev='vda'/></disk></devices></domain>", NULL);
    g_autoptr (GPtrArray) dd = kiln_domxml_disks (vd);
    struct kiln_domxml_disk *d = dd->pdata[0];
    g_autofree char *xml = NULL;

    kiln_domxml_disk_set_volume (d, d->pool, d->volume, "qcow2");
    kiln_domxml_disk_set_file (d, "/img/a.qcow2", d->format);
    kiln_domxml_disk_set_file (d, d->path, d->format);
    xml = kiln_domxml_format (vd);
    ok (g_strcmp0 (d->path, "/img/a.qcow2") == 0 && g_strcmp0 (d->format, "qcow2") == 0 &&
        xml && strstr (xml, "file=\"/img/a.qcow2\""),
        "the disk setters accept the disk's own fields as arguments");
  }
  virConnectClose (conn);
  return done_testing ();
}
